/*
 * client.c - the host's side of a conversation with lxs-init (session.h):
 * connecting through lxs-vm's vsock socket, the control requests
 * (DISTRO_START, DISTRO_STOP, SHUTDOWN) and running one process with its
 * streams relayed under the protocol's flow control. Must not decide what
 * runs (src/store/plan.c does).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/wire.h"
#include "session.h"

#define CONNECT_TIMEOUT_MS 30000

/* Read the handshake's answer line byte by byte: no bytes of the stream are lost. */
static int read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, timeout_ms);

		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r < 0)
			continue;
		ssize_t k = read(fd, buf + n, 1);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			return k == 0 ? -ECONNRESET : -errno;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return 0;
		}
		n++;
	}
	return -EPROTO;
}

int session_hello(int fd, char *err, size_t errlen)
{
	struct wire w;
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int ret;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	if ((ret = wire_init(&w, fd)) < 0)
		return ret;
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	ret = wire_send(&w, LXS_MSG_HELLO, 0, &hello, sizeof(hello), NULL, 0);
	if (ret == 0)
		ret = wire_recv(&w, &h, &p, CONNECT_TIMEOUT_MS);
	if (ret >= 0 && h.type == LXS_MSG_ERROR)
		ret = wire_error_of(&h, p, err, errlen);
	else if (ret >= 0 && (h.type != LXS_MSG_HELLO || h.len != sizeof(hello)))
		ret = -EPROTO;
	if (ret == -EPROTO && !err[0])
		snprintf(err, errlen, "the other side answered HELLO with something else");
	/* Nothing may follow HELLO before we ask, so no buffered bytes are lost here. */
	wire_fini(&w);
	return ret < 0 ? ret : 0;
}

int session_vsock_connect(const char *path, uint32_t port, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char line[64];
	int ret, fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		goto fail;
	}
	if (port) {
		int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);

		if (write(fd, line, (size_t)n) != n) {
			ret = -EIO;
			snprintf(err, errlen, "cannot send CONNECT to %s", path);
			goto fail;
		}
		if ((ret = read_line(fd, line, sizeof(line), CONNECT_TIMEOUT_MS)) < 0 ||
		    strncmp(line, "OK ", 3)) {
			snprintf(
			    err, errlen,
			    "the VM did not accept a connection to port %u (is lxs-init running?)",
			    port);
			ret = ret < 0 ? ret : -ECONNREFUSED;
			goto fail;
		}
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return ret;
}

int session_connect(const char *path, uint32_t port, char *err, size_t errlen)
{
	int ret, fd = session_vsock_connect(path, port, err, errlen);

	if (fd < 0)
		return fd;
	if ((ret = session_hello(fd, err, errlen)) < 0) {
		close(fd);
		if (!err[0])
			snprintf(err, errlen, "cannot talk to lxs-init: %s", strerror(-ret));
		return ret;
	}
	return fd;
}

/* Write what is queued on w, then take the one answer (OK or ERROR) of a control request. */
static int flush_and_answer(struct wire *w, int timeout_ms, char *err, size_t errlen)
{
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int ret;

	while ((ret = wire_flush(w)) == 1) {
		struct pollfd pf = {.fd = w->fd, .events = POLLOUT};

		if (poll(&pf, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
	if (ret == 0)
		ret = wire_recv(w, &h, &p, timeout_ms);
	return ret < 0 ? ret : session_distro_answer(&h, p, err, errlen);
}

static int control(int fd, uint16_t type, const void *a, size_t alen, const void *b, size_t blen,
		   int timeout_ms, char *err, size_t errlen)
{
	struct wire w;
	int ret = wire_init(&w, fd);

	if (ret < 0)
		return ret;
	if ((ret = wire_queue(&w, type, 0, a, alen, b, blen)) == 0)
		ret = flush_and_answer(&w, timeout_ms, err, errlen);
	wire_fini(&w);
	return ret;
}

int session_distro_queue(struct wire *w, const struct session_distro *d)
{
	const char *s[7] = {d->name ? d->name : "",
			    d->serial ? d->serial : "",
			    d->hostname ? d->hostname : "",
			    d->resolv_conf ? d->resolv_conf : "",
			    d->host_tag ? d->host_tag : "",
			    d->host_opts ? d->host_opts : "",
			    d->automount_root ? d->automount_root : ""};
	char tab[LXS_RESOLV_MAX + 1024];
	long len = wire_strtab(tab, sizeof(tab), s, 7);
	struct lxs_distro m = {.flags = d->flags, .timeout_ms = d->timeout_ms};

	if (len < 0 || strlen(s[3]) > LXS_RESOLV_MAX)
		return -E2BIG;
	return wire_queue(w, LXS_MSG_DISTRO_START, 0, &m, sizeof(m), tab, (size_t)len);
}

int session_distro_answer(const struct lxs_msg_hdr *h, const uint8_t *p, char *err, size_t errlen)
{
	if (h->type == LXS_MSG_OK && h->len == 0)
		return 0;
	if (h->type == LXS_MSG_ERROR)
		return wire_error_of(h, p, err, errlen);
	snprintf(err, errlen, "lxs-init answered a control request with message type %u", h->type);
	return -EPROTO;
}

int session_distro_start(int fd, const struct session_distro *d, char *err, size_t errlen)
{
	struct wire w;
	int ret = wire_init(&w, fd);

	if (ret < 0)
		return ret;
	if ((ret = session_distro_queue(&w, d)) == 0)
		ret = flush_and_answer(&w, (int)d->timeout_ms + 30000, err, errlen);
	wire_fini(&w);
	return ret;
}

int session_distro_stop(int fd, const char *name, char *err, size_t errlen)
{
	return control(fd, LXS_MSG_DISTRO_STOP, name, strlen(name) + 1, NULL, 0, 30000, err,
		       errlen);
}

int session_shutdown(int fd, char *err, size_t errlen)
{
	return control(fd, LXS_MSG_SHUTDOWN, NULL, 0, NULL, 0, 30000, err, errlen);
}

int session_shutdown_send(int fd)
{
	struct wire w;
	int ret = wire_init(&w, fd);

	if (ret < 0)
		return ret;
	ret = wire_send(&w, LXS_MSG_SHUTDOWN, 0, NULL, 0, NULL, 0);
	wire_fini(&w);
	return ret;
}

/* ---- running a process -------------------------------------------------- */

struct relay {
	struct wire w;
	int in_fd, out_fd, err_fd;
	uint32_t in_unacked; /* stdin bytes sent, not yet ACKed */
	bool in_eof_sent;
	uint8_t *outbuf[3]; /* per stream: DATA not yet written out */
	size_t out_len[3], out_off[3];
	bool out_eof[3];
	bool done;
	bool tx_dead; /* writing failed: only reading goes on */
};

static int send_create(struct relay *r, const struct session_req *q)
{
	size_t argc = 0, envc = 0, cap = 0;

	while (q->argv[argc])
		argc++;
	while (q->envp && q->envp[envc])
		envc++;
	const char **all = calloc(3 + argc + envc, sizeof(char *));
	if (!all)
		return -ENOMEM;
	all[0] = q->distro ? q->distro : "";
	all[1] = q->user ? q->user : "";
	all[2] = q->cwd ? q->cwd : "";
	for (size_t i = 0; i < argc; i++)
		all[3 + i] = q->argv[i];
	for (size_t i = 0; i < envc; i++)
		all[3 + argc + i] = q->envp[i];
	for (size_t i = 0; i < 3 + argc + envc; i++)
		cap += strlen(all[i]) + 1;
	struct lxs_create c = {.flags = (q->pty ? LXS_CREATE_PTY : 0) |
					(q->host_cwd ? LXS_CREATE_HOST_CWD : 0) |
					(q->host_env ? LXS_CREATE_HOST_ENV : 0),
			       .rows = q->rows,
			       .cols = q->cols,
			       .argc = (uint32_t)argc,
			       .envc = (uint32_t)envc};
	int ret = -E2BIG;
	char *tab = malloc(cap ? cap : 1);
	if (tab && cap + sizeof(c) <= LXS_MSG_MAX) {
		long off = wire_strtab(tab, cap, all, 3 + argc + envc);

		ret = off < 0
			  ? (int)off
			  : wire_queue(&r->w, LXS_MSG_CREATE, 0, &c, sizeof(c), tab, (size_t)off);
	}
	free(tab);
	free(all);
	return ret;
}

static void send_winsize(struct relay *r)
{
	struct winsize ws;

	if (ioctl(r->in_fd, TIOCGWINSZ, &ws) == 0) {
		struct lxs_winsize w = {ws.ws_row, ws.ws_col};

		wire_queue(&r->w, LXS_MSG_RESIZE, 0, &w, sizeof(w), NULL, 0);
	}
}

/* Write buffered output of stream s to its fd; ACK what went out. */
static void drain_out(struct relay *r, int s)
{
	int fd = s == LXS_STREAM_STDERR ? r->err_fd : r->out_fd;

	while (r->out_off[s] < r->out_len[s]) {
		ssize_t k = write(fd, r->outbuf[s] + r->out_off[s], r->out_len[s] - r->out_off[s]);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		/* A closed reader (EPIPE): what it will never read is dropped, as with a pipe. */
		size_t done = k > 0 ? (size_t)k : r->out_len[s] - r->out_off[s];
		struct lxs_ack a = {(uint32_t)done};
		r->out_off[s] += done;
		wire_queue(&r->w, LXS_MSG_ACK, (uint16_t)s, &a, sizeof(a), NULL, 0);
	}
	r->out_off[s] = r->out_len[s] = 0;
}

/* Handle every whole message already received: 0, or -EPROTO. */
static int take_messages(struct relay *r, struct lxs_exit *ex)
{
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int k;

	while (!r->done && (k = wire_next(&r->w, &h, &p)) == 1) {
		int s = h.stream;

		if (h.type == LXS_MSG_DATA && s != LXS_STREAM_STDIN) {
			/* The window counts unwritten bytes: make room at the tail. */
			if (r->out_len[s] + h.len > LXS_WINDOW && r->out_off[s]) {
				memmove(r->outbuf[s], r->outbuf[s] + r->out_off[s],
					r->out_len[s] - r->out_off[s]);
				r->out_len[s] -= r->out_off[s];
				r->out_off[s] = 0;
			}
			if (r->out_len[s] + h.len > LXS_WINDOW)
				return -EPROTO; /* the guest overran its window */
			memcpy(r->outbuf[s] + r->out_len[s], p, h.len);
			r->out_len[s] += h.len;
			drain_out(r, s);
		} else if (h.type == LXS_MSG_ACK && s == LXS_STREAM_STDIN &&
			   h.len == sizeof(struct lxs_ack)) {
			struct lxs_ack a;

			memcpy(&a, p, sizeof(a));
			r->in_unacked -= a.bytes > r->in_unacked ? r->in_unacked : a.bytes;
		} else if (h.type == LXS_MSG_EOF) {
			r->out_eof[s] = true;
		} else if (h.type == LXS_MSG_EXIT && h.len == sizeof(*ex)) {
			memcpy(ex, p, sizeof(*ex));
			r->done = true;
		} else {
			return -EPROTO;
		}
		wire_consume(&r->w);
	}
	return k < 0 ? k : 0;
}

int session_run(int fd, const struct session_req *q, int in_fd, int out_fd, int err_fd, int sig_fd,
		struct lxs_exit *ex, char *err, size_t errlen)
{
	struct relay r = {.in_fd = in_fd, .out_fd = out_fd, .err_fd = err_fd};
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int ret = wire_init(&r.w, fd);
	int out_flags = -1, err_flags = -1;
	static uint8_t buf[LXS_DATA_MAX];

	if (ret < 0)
		return ret;
	for (int s = 1; s < 3; s++) {
		r.outbuf[s] = malloc(LXS_WINDOW);
		if (!r.outbuf[s]) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if ((ret = send_create(&r, q)) < 0 || (ret = wire_flush(&r.w)) < 0)
		goto out;
	ret = wire_recv(&r.w, &h, &p, CONNECT_TIMEOUT_MS);
	if (ret < 0)
		goto out;
	if (h.type == LXS_MSG_ERROR) {
		ret = wire_error_of(&h, p, err, errlen);
		goto out;
	}
	if (h.type != LXS_MSG_CREATED) {
		ret = -EPROTO;
		goto out;
	}
	wire_consume(&r.w);
	/*
	 * Non-blocking output, so a slow reader of stdout never stops stderr or
	 * the connection. The flags belong to a file description others may
	 * share (the user's terminal), so they are put back at the end.
	 */
	out_flags = out_fd >= 0 ? fcntl(out_fd, F_GETFL) : -1;
	err_flags = err_fd >= 0 ? fcntl(err_fd, F_GETFL) : -1;
	if (out_flags >= 0)
		fcntl(out_fd, F_SETFL, out_flags | O_NONBLOCK);
	if (err_flags >= 0)
		fcntl(err_fd, F_SETFL, err_flags | O_NONBLOCK);

	while (!r.done) {
		struct pollfd pf[5];

		/* Messages that came in with CREATED, or before a full window, first. */
		if (take_messages(&r, ex) < 0) {
			snprintf(err, errlen, "lxs-init sent a malformed message");
			ret = -EPROTO;
			goto out;
		}
		if (r.done)
			break;
		int n = 0, ii = -1, io = -1, ie = -1, is = -1;
		bool room = !wire_tx_pending(&r.w);

		pf[n++] = (struct pollfd){.fd = fd, .events = POLLIN | (room ? 0 : POLLOUT)};
		if (in_fd >= 0 && !r.in_eof_sent && r.in_unacked < LXS_WINDOW && room && !r.tx_dead)
			ii = n, pf[n++] = (struct pollfd){.fd = in_fd, .events = POLLIN};
		if (r.out_len[1] > r.out_off[1])
			io = n, pf[n++] = (struct pollfd){.fd = out_fd, .events = POLLOUT};
		if (r.out_len[2] > r.out_off[2])
			ie = n, pf[n++] = (struct pollfd){.fd = err_fd, .events = POLLOUT};
		if (sig_fd >= 0)
			is = n, pf[n++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (is >= 0 && (pf[is].revents & POLLIN)) {
			struct signalfd_siginfo si;

			while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH) {
					send_winsize(&r);
				} else {
					struct lxs_signal sg = {(int32_t)si.ssi_signo};

					wire_queue(&r.w, LXS_MSG_SIGNAL, 0, &sg, sizeof(sg), NULL,
						   0);
				}
			}
		}
		if (ii >= 0 && (pf[ii].revents & (POLLIN | POLLHUP | POLLERR))) {
			size_t want = LXS_WINDOW - r.in_unacked;
			ssize_t k = read(in_fd, buf, want < sizeof(buf) ? want : sizeof(buf));

			if (k > 0) {
				r.in_unacked += (uint32_t)k;
				wire_queue(&r.w, LXS_MSG_DATA, LXS_STREAM_STDIN, buf, (size_t)k,
					   NULL, 0);
			} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
				r.in_eof_sent = true;
				wire_queue(&r.w, LXS_MSG_EOF, LXS_STREAM_STDIN, NULL, 0, NULL, 0);
			}
		}
		if (io >= 0 && (pf[io].revents & (POLLOUT | POLLERR | POLLHUP)))
			drain_out(&r, 1);
		if (ie >= 0 && (pf[ie].revents & (POLLOUT | POLLERR | POLLHUP)))
			drain_out(&r, 2);
		int rk = 0;
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
			rk = wire_read(&r.w);
		/* Whatever arrived is handled even when the stream has ended. */
		if (take_messages(&r, ex) < 0) {
			snprintf(err, errlen, "lxs-init sent a malformed message");
			ret = -EPROTO;
			goto out;
		}
		if (rk < 0 && !r.done) {
			snprintf(err, errlen, "the connection to the VM was lost");
			ret = rk == -EPIPE ? -ECONNRESET : rk;
			goto out;
		}
		/*
		 * The guest closes right after EXIT, so a write may fail while EXIT
		 * still waits unread: stop writing, read on, and let the end of
		 * the stream decide whether the session was lost.
		 */
		if (!r.tx_dead && wire_flush(&r.w) < 0) {
			r.tx_dead = true;
			r.w.tx_off = r.w.tx_len = 0;
		}
	}
	/* Output that arrived with EXIT still goes out, blocking if it must. */
	for (int s = 1; s < 3; s++) {
		int ofd = s == 2 ? err_fd : out_fd;

		while (r.out_len[s] > r.out_off[s]) {
			struct pollfd pw = {.fd = ofd, .events = POLLOUT};

			poll(&pw, 1, -1);
			drain_out(&r, s);
		}
	}
	ret = 0;
out:
	if (out_flags >= 0)
		fcntl(out_fd, F_SETFL, out_flags);
	if (err_flags >= 0)
		fcntl(err_fd, F_SETFL, err_flags);
	free(r.outbuf[1]);
	free(r.outbuf[2]);
	wire_fini(&r.w);
	return ret;
}

int session_run_stdio(int fd, struct session_req *q, struct lxs_exit *ex, char *err, size_t errlen)
{
	static const int forwarded[] = {SIGINT,   SIGTERM, SIGHUP, SIGQUIT,
					SIGWINCH, SIGUSR1, SIGUSR2};
	struct termios saved;
	bool raw = false;
	sigset_t set;
	int sfd, ret;

	if (q->pty && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		struct winsize ws;

		if (ioctl(0, TIOCGWINSZ, &ws) == 0) {
			q->rows = ws.ws_row;
			q->cols = ws.ws_col;
		}
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
	}
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	ret = session_run(fd, q, 0, 1, 2, sfd, ex, err, errlen);
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	if (sfd >= 0)
		close(sfd);
	return ret;
}
