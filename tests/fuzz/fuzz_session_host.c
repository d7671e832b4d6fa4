// fuzz-link: src/session/client.c src/common/wire.c
/*
 * fuzz_session_host.c - libFuzzer target for the host side of the session
 * protocol (src/session/client.c over src/common/wire.c, common/proto.h):
 * everything lxs-init (or anything posing as it in the guest) sends back is
 * hostile. The input is the guest's whole side of one connection, written
 * into one end of a Unix socket pair (or served on a listening socket) and
 * followed by end of stream; the host's functions run on the other end.
 *
 * Input: a mode byte, then the bytes the "guest" sends.
 *   (mode & 7) % 5
 *     0  session_run(): CREATED/ERROR, then DATA, ACK, EOF, EXIT (stdout
 *        and stderr go to /dev/null; mode bit 3 gives it a stdin of
 *        /dev/null too, which it sends as DATA/EOF)
 *     1  session_distro_start()   (OK or ERROR)
 *     2  session_distro_stop()
 *     3  session_shutdown()
 *     4  session_connect() to a listening Unix socket: with mode bit 3
 *        through the vsock "CONNECT <port>" handshake (the answer line
 *        "OK ..." comes first), else plain; then HELLO
 * With FUZZ_DEBUG set, each input's result is printed (for replays).
 * Checked with abort() (besides crashes, sanitizer reports, and timeouts
 * that would be a hang): every call returns (end of stream always ends
 * it) with 0 or a negative errno, session_run succeeds only after an
 * EXIT, session_connect returns an open descriptor or an error, and the
 * error text is a terminated string. With LXS_FUZZ_SEED_DIR set to an
 * empty directory, seeds (well-formed conversations) are written there.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/proto.h"
#define FUZZ_NAME "fuzz_session_host"
#include "fuzz_util.h"
#include "session/session.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], sock_path[96];
static int listen_fd = -1, null_fd = -1;

/* The guest's side: send everything, end the stream, read until the host closes. */
static void guest_side(int fd, const uint8_t *p, size_t n, int drain)
{
	char buf[4096];

	while (n) {
		ssize_t k = write(fd, p, n);

		if (k <= 0)
			break;
		p += k;
		n -= (size_t)k;
	}
	shutdown(fd, SHUT_WR);
	if (drain)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
}

struct serve {
	const uint8_t *p;
	size_t n;
};

static void *serve_one(void *arg)
{
	struct serve *s = arg;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd >= 0) {
		guest_side(fd, s->p, s->n, 1);
		close(fd);
	}
	return NULL;
}

/* Frame helpers for the seeds. */
static size_t frame(uint8_t *out, uint16_t type, uint16_t stream, const void *p, uint32_t len)
{
	struct lxs_msg_hdr h = {len, type, stream};

	memcpy(out, &h, sizeof(h));
	if (len)
		memcpy(out + sizeof(h), p, len);
	return sizeof(h) + len;
}

static void write_seeds(const char *d)
{
	uint8_t b[1024];
	size_t n;
	struct lxs_created cr = {42};
	struct lxs_ack ack = {5};
	struct lxs_exit ex = {3, 0, 0};
	struct lxs_error er = {ENOENT};
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};

	/* a process: CREATED, output on both streams, an ACK, EOFs, EXIT */
	n = 0;
	b[n++] = 8;
	n += frame(b + n, LXS_MSG_CREATED, 0, &cr, sizeof(cr));
	n += frame(b + n, LXS_MSG_DATA, LXS_STREAM_STDOUT, "hello\n", 6);
	n += frame(b + n, LXS_MSG_DATA, LXS_STREAM_STDERR, "oops\n", 5);
	n += frame(b + n, LXS_MSG_ACK, LXS_STREAM_STDIN, &ack, sizeof(ack));
	n += frame(b + n, LXS_MSG_EOF, LXS_STREAM_STDOUT, NULL, 0);
	n += frame(b + n, LXS_MSG_EOF, LXS_STREAM_STDERR, NULL, 0);
	n += frame(b + n, LXS_MSG_EXIT, 0, &ex, sizeof(ex));
	fz_write_seed(d, "run", b, n);

	/* a process that cannot start */
	n = 0;
	b[n++] = 0;
	memcpy(b + n + sizeof(struct lxs_msg_hdr) + sizeof(er), "no such user", 12);
	memcpy(b + n + sizeof(struct lxs_msg_hdr), &er, sizeof(er));
	n += frame(b + n, LXS_MSG_ERROR, 0, b + n + sizeof(struct lxs_msg_hdr), sizeof(er) + 12);
	fz_write_seed(d, "run-error", b, n);

	/* control requests: OK, ERROR */
	n = 0;
	b[n++] = 1;
	n += frame(b + n, LXS_MSG_OK, 0, NULL, 0);
	fz_write_seed(d, "start-ok", b, n);
	n = 0;
	b[n++] = 2;
	memcpy(b + n + sizeof(struct lxs_msg_hdr), &er, sizeof(er));
	memcpy(b + n + sizeof(struct lxs_msg_hdr) + sizeof(er), "not running", 11);
	n += frame(b + n, LXS_MSG_ERROR, 0, b + n + sizeof(struct lxs_msg_hdr), sizeof(er) + 11);
	fz_write_seed(d, "stop-error", b, n);

	/* connecting: through CONNECT, and plain */
	n = 0;
	b[n++] = 4 | 8;
	memcpy(b + n, "OK 1073741824\n", 14);
	n += 14;
	n += frame(b + n, LXS_MSG_HELLO, 0, &hello, sizeof(hello));
	fz_write_seed(d, "connect-vsock", b, n);
	n = 0;
	b[n++] = 4;
	n += frame(b + n, LXS_MSG_HELLO, 0, &hello, sizeof(hello));
	fz_write_seed(d, "connect-plain", b, n);
}

static void cleanup(void)
{
	unlink(sock_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	const char *seeds = fz_seed_dir();

	(void)argc, (void)argv;
	if (seeds)
		write_seeds(seeds);
	snprintf(dir, sizeof(dir), "/tmp/lxs-fuzz-session.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/init.sock", dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(listen_fd, 4) < 0)
		abort();
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static int run_pair(unsigned mode, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	int sv[2], ret = 0;
	struct lxs_exit ex = {0, 0, 0};

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* The guest's bytes first: the socket takes far more than -max_len. */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	guest_side(sv[1], p, n, 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK); /* as session_connect leaves it */

	switch ((mode & 7) % 5) {
	case 0: {
		const char *argv[] = {"sh", "-c", "true", NULL};
		const char *envp[] = {"TERM=dumb", NULL};
		struct session_req q = {.distro = "d",
					.user = "",
					.cwd = "",
					.argv = argv,
					.envp = envp,
					.rows = 24,
					.cols = 80};

		ret = session_run(sv[0], &q, mode & 8 ? null_fd : -1, null_fd, null_fd, -1, &ex,
				  err, errlen);
		CHECK(ret <= 0);
		/* success needs CREATED and EXIT at least */
		CHECK(ret < 0 || n >= 2 * sizeof(struct lxs_msg_hdr) + sizeof(ex));
		break;
	}
	case 1: {
		struct session_distro d = {.name = "d",
					   .serial = "s",
					   .resolv_conf = "nameserver 1\n",
					   .flags = LXS_DISTRO_GEN_RESOLV,
					   .timeout_ms = 1000};

		ret = session_distro_start(sv[0], &d, err, errlen);
		break;
	}
	case 2:
		ret = session_distro_stop(sv[0], "d", err, errlen);
		break;
	default:
		ret = session_shutdown(sv[0], err, errlen);
		break;
	}
	close(sv[0]);
	close(sv[1]);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	unsigned mode;
	int ret;

	if (size < 1)
		return 0;
	mode = data[0];
	data++, size--;
	memset(err, 'x', sizeof(err));
	err[0] = 0;
	if ((mode & 7) % 5 == 4) {
		struct serve s = {data, size};
		pthread_t t;

		if (pthread_create(&t, NULL, serve_one, &s) != 0)
			abort();
		ret = session_connect(sock_path, mode & 8 ? 1024 : 0, err, sizeof(err));
		if (ret >= 0) {
			CHECK(fcntl(ret, F_GETFD) >= 0);
			close(ret);
		}
		pthread_join(t, NULL);
	} else {
		ret = run_pair(mode, data, size, err, sizeof(err));
		CHECK(ret <= 0);
	}
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "mode %u: %d %s\n", mode, ret, err);
	CHECK(ret >= 0 || ret > -4096);
	CHECK(memchr(err, 0, sizeof(err)) != NULL);
	return 0;
}
