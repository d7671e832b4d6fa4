/*
 * Localhost forwarding without a VM: what lxs-fwd accepts from the guest
 * (src/fwd/msg.c) with hostile inputs, its set of ports, the guest's
 * inet_diag reader (src/guest/diag.c), and lxs-fwd's whole event loop
 * (src/fwd/loop.c) against a fake guest: a thread that plays lxs-vm's
 * CONNECT socket and the relay, while the test reports ports and connects
 * to them on 127.0.0.1 like a host client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wire.h"
#include "fwd/fwd.h"
#include "guest/diag.h"
#include "unit.h"

static struct lxs_msg_hdr hdr(uint16_t type, uint32_t len)
{
	return (struct lxs_msg_hdr){.len = len, .type = type};
}

static void t_report_valid(struct unit *u)
{
	struct lxs_fwd m = {.port = 8080, .families = LXS_FWD_IPV4 | LXS_FWD_IPV6}, out;
	struct lxs_msg_hdr h = hdr(LXS_MSG_FWD_ADD, sizeof(m));

	CHECK(u, fwd_check_report(&h, (uint8_t *)&m, &out) == 0);
	CHECK(u, out.port == 8080 && out.families == 3);
	h.type = LXS_MSG_FWD_DEL;
	CHECK(u, fwd_check_report(&h, (uint8_t *)&m, &out) == 0);
}

static void t_report_hostile(struct unit *u)
{
	uint8_t big[16] = {0x50, 0x1f, 1, 0};
	struct lxs_fwd m = {.port = 80, .families = LXS_FWD_IPV4}, out, bad;
	struct lxs_msg_hdr h;

	/* Wrong types, even ones that are valid elsewhere. */
	uint16_t types[] = {LXS_MSG_HELLO, LXS_MSG_DATA, LXS_MSG_FWD_CONNECT, LXS_MSG_OK, 0, 999};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		h = hdr(types[i], sizeof(m));
		CHECK(u, fwd_check_report(&h, (uint8_t *)&m, &out) == -EPROTO);
	}
	/* Wrong sizes. */
	for (uint32_t len = 0; len < sizeof(big); len++) {
		h = hdr(LXS_MSG_FWD_ADD, len);
		if (len != sizeof(m))
			CHECK(u, fwd_check_report(&h, big, &out) == -EPROTO);
	}
	h = hdr(LXS_MSG_FWD_ADD, sizeof(m));
	h.stream = 1;
	CHECK(u, fwd_check_report(&h, (uint8_t *)&m, &out) == -EPROTO);
	h.stream = 0;
	bad = m, bad.port = 0;
	CHECK(u, fwd_check_report(&h, (uint8_t *)&bad, &out) == -EPROTO);
	bad = m, bad.families = 0;
	CHECK(u, fwd_check_report(&h, (uint8_t *)&bad, &out) == -EPROTO);
	bad = m, bad.families = 4;
	CHECK(u, fwd_check_report(&h, (uint8_t *)&bad, &out) == -EPROTO);
	bad = m, bad.families = 0xff;
	CHECK(u, fwd_check_report(&h, (uint8_t *)&bad, &out) == -EPROTO);
	bad = m, bad.pad = 1;
	CHECK(u, fwd_check_report(&h, (uint8_t *)&bad, &out) == -EPROTO);
	bad = m, bad.port = 65535;
	CHECK(u, fwd_check_report(&h, (uint8_t *)&bad, &out) == 0);
}

static void t_hello(struct unit *u)
{
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	struct lxs_msg_hdr h = hdr(LXS_MSG_HELLO, sizeof(hello));

	CHECK(u, fwd_check_hello(&h, (uint8_t *)&hello) == 0);
	hello.version++;
	CHECK(u, fwd_check_hello(&h, (uint8_t *)&hello) == -EPROTO);
	hello.version--;
	hello.magic = 0;
	CHECK(u, fwd_check_hello(&h, (uint8_t *)&hello) == -EPROTO);
	hello.magic = LXS_SESSION_MAGIC;
	h.len = 4;
	CHECK(u, fwd_check_hello(&h, (uint8_t *)&hello) == -EPROTO);
	h = hdr(LXS_MSG_FWD_ADD, sizeof(hello));
	CHECK(u, fwd_check_hello(&h, (uint8_t *)&hello) == -EPROTO);
}

static void t_port_set(struct unit *u)
{
	static struct fwd_ports s;
	struct fwd_port *e;
	struct lxs_fwd m = {.port = 22, .families = LXS_FWD_IPV4};

	memset(&s, 0, sizeof(s));
	s.max = 3;
	CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_DEL, &m, &e) == FWD_NONE && !e);
	CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_ADD, &m, &e) == FWD_OPEN && e && e->port == 22);
	CHECK(u, e->fd4 == -1 && e->fd6 == -1 && s.count == 1);
	m.families = LXS_FWD_IPV4 | LXS_FWD_IPV6;
	CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_ADD, &m, &e) == FWD_UPDATE && e->families == 3);
	CHECK(u, s.count == 1);
	for (uint16_t p = 100; p < 102; p++) {
		m.port = p;
		CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_ADD, &m, &e) == FWD_OPEN);
	}
	/* Full: a new port is refused, a known one still updates. */
	m.port = 200;
	CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_ADD, &m, &e) == -ENOSPC && !e);
	m.port = 100;
	CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_ADD, &m, &e) == FWD_UPDATE);
	CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_DEL, &m, &e) == FWD_CLOSE && e && e->port == 100);
	free(e);
	CHECK(u, s.count == 2 && !s.by_port[100]);
	m.port = 200;
	CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_ADD, &m, &e) == FWD_OPEN);
	CHECK(u, fwd_ports_apply(&s, LXS_MSG_FWD_CONNECT, &m, &e) == -EPROTO);
	for (unsigned p = 0; p < 65536; p++)
		free(s.by_port[p]);
}

/* A handshake as the relay answers it, into out: its length. */
static size_t relay_answer(uint8_t *out, const char *line, int32_t err, const char *text)
{
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	struct lxs_msg_hdr h = hdr(LXS_MSG_HELLO, sizeof(hello));
	size_t n = strlen(line);

	memcpy(out, line, n);
	memcpy(out + n, &h, sizeof(h));
	memcpy(out + n + 8, &hello, sizeof(hello));
	n += 16;
	if (!err) {
		h = hdr(LXS_MSG_OK, 0);
		memcpy(out + n, &h, sizeof(h));
		return n + 8;
	}
	h = hdr(LXS_MSG_ERROR, (uint32_t)(4 + strlen(text)));
	memcpy(out + n, &h, sizeof(h));
	memcpy(out + n + 8, &err, 4);
	memcpy(out + n + 12, text, strlen(text));
	return n + 12 + strlen(text);
}

static void t_handshake_ok(struct unit *u)
{
	uint8_t b[256];
	char err[64];
	size_t used = 0, n = relay_answer(b, "OK 1073741824\n", 0, NULL);

	memcpy(b + n, "stream", 6);
	CHECK(u, fwd_handshake_parse(b, n + 6, &used, err, sizeof(err)) == 1 && used == n);
	/* Every shorter prefix asks for more. */
	for (size_t k = 0; k < n; k++)
		CHECK(u, fwd_handshake_parse(b, k, &used, err, sizeof(err)) == 0);
}

static void t_handshake_error(struct unit *u)
{
	uint8_t b[2048];
	char err[16];
	size_t used = 0, n = relay_answer(b, "OK 7\n", ECONNREFUSED, "no\x01listener here");

	CHECK(u, fwd_handshake_parse(b, n, &used, err, sizeof(err)) == -ECONNREFUSED);
	/* Control bytes become '?', and the text is cut to the buffer. */
	CHECK(u, !strcmp(err, "no?listener her"));
	for (size_t k = 0; k < n; k++)
		CHECK(u, fwd_handshake_parse(b, k, &used, err, sizeof(err)) == 0);
	int32_t bad[] = {0, -1, 4096, 0x7fffffff};
	for (size_t i = 0; i < 4; i++) {
		n = relay_answer(b, "OK 7\n", EIO, "x");
		memcpy(b + 5 + 16 + 8, &bad[i], 4); /* the ERROR's number */
		CHECK(u, fwd_handshake_parse(b, n, &used, err, sizeof(err)) == -EPROTO);
	}
	char longtext[FWD_ERROR_TEXT_MAX + 2];
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = 0;
	n = relay_answer(b, "OK 7\n", EIO, longtext);
	CHECK(u, fwd_handshake_parse(b, n, &used, err, sizeof(err)) == -EPROTO);
}

static void t_handshake_hostile(struct unit *u)
{
	const char *lines[] = {"NO 1\n",
			       "OK \n",
			       "OK 12x\n",
			       "ok 1\n",
			       "OK\n",
			       "\n",
			       "OK 1234567890123456789012345678901234567890\n"};
	uint8_t b[256];
	char err[64];
	size_t used, n;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		n = relay_answer(b, lines[i], 0, NULL);
		CHECK(u, fwd_handshake_parse(b, n, &used, err, sizeof(err)) == -EPROTO);
	}
	/* A line that never ends. */
	memset(b, '1', 40);
	memcpy(b, "OK ", 3);
	CHECK(u, fwd_handshake_parse(b, 40, &used, err, sizeof(err)) == -EPROTO);
	/* A HELLO of the wrong version, OK with a payload, DATA instead of OK. */
	n = relay_answer(b, "OK 1\n", 0, NULL);
	b[5 + 12]++;
	CHECK(u, fwd_handshake_parse(b, n, &used, err, sizeof(err)) == -EPROTO);
	n = relay_answer(b, "OK 1\n", 0, NULL);
	b[n - 8] = 1;
	CHECK(u, fwd_handshake_parse(b, n + 1, &used, err, sizeof(err)) == -EPROTO);
	n = relay_answer(b, "OK 1\n", 0, NULL);
	b[n - 4] = LXS_MSG_DATA;
	CHECK(u, fwd_handshake_parse(b, n, &used, err, sizeof(err)) == -EPROTO);
}

static void t_handshake_request(struct unit *u)
{
	uint8_t b[128];
	struct lxs_msg_hdr h;
	struct lxs_fwd m;
	int n = fwd_handshake_request(b, sizeof(b), 8080, LXS_FWD_IPV6);

	CHECK(u, n == 14 + 16 + 12);
	CHECK(u, !memcmp(b, "CONNECT 50003\n", 14));
	memcpy(&h, b + 14, 8);
	CHECK(u, fwd_check_hello(&h, b + 22) == 0);
	memcpy(&h, b + 30, 8);
	memcpy(&m, b + 38, 4);
	CHECK(u, h.type == LXS_MSG_FWD_CONNECT && h.len == 4);
	CHECK(u, m.port == 8080 && m.families == LXS_FWD_IPV6 && m.pad == 0);
	CHECK(u, fwd_handshake_request(b, 20, 1, LXS_FWD_IPV4) == -ENOSPC);
}

/* --- the guest's inet_diag reader ------------------------------------------------ */

static size_t put_msg(uint8_t *b, uint16_t type, const void *p, size_t len)
{
	struct diag_nlmsg h = {.len = (uint32_t)(sizeof(h) + len), .type = type};

	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), p, len);
	return (sizeof(h) + len + 3) & ~(size_t)3;
}

static size_t put_sock(uint8_t *b, int family, int state, const char *addr, uint16_t port)
{
	struct diag_msg m = {.family = (uint8_t)family, .state = (uint8_t)state};

	m.id.sport = htons(port);
	inet_pton(family, addr, m.id.src);
	return put_msg(b, DIAG_SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
}

static void t_diag_parse(struct unit *u)
{
	static struct diag_set s;
	static uint8_t b[4096];
	size_t n = 0;

	memset(&s, 0, sizeof(s));
	n += put_sock(b + n, AF_INET, DIAG_TCP_LISTEN, "0.0.0.0", 80);
	n += put_sock(b + n, AF_INET, DIAG_TCP_LISTEN, "127.0.0.1", 8080);
	n += put_sock(b + n, AF_INET, DIAG_TCP_LISTEN, "10.0.2.15", 9000);
	n += put_sock(b + n, AF_INET, DIAG_TCP_LISTEN, "127.0.0.2", 9001);
	n += put_sock(b + n, AF_INET, 1 /* established */, "127.0.0.1", 9002);
	n += put_sock(b + n, AF_INET, DIAG_TCP_LISTEN, "0.0.0.0", 0);
	n += put_msg(b + n, 1 /* NOOP */, "", 0);
	CHECK(u, diag_parse(b, n, &s) == 0);
	n = 0;
	n += put_sock(b + n, AF_INET6, DIAG_TCP_LISTEN, "::", 80);
	n += put_sock(b + n, AF_INET6, DIAG_TCP_LISTEN, "::1", 5000);
	n += put_sock(b + n, AF_INET6, DIAG_TCP_LISTEN, "::ffff:127.0.0.1", 6000);
	n += put_sock(b + n, AF_INET6, DIAG_TCP_LISTEN, "fd00:6c78:73::15", 7000);
	n += put_msg(b + n, DIAG_NLMSG_DONE, "\0\0\0\0", 4);
	CHECK(u, diag_parse(b, n, &s) == 1);
	CHECK(u, s.fam[80] == (LXS_FWD_IPV4 | LXS_FWD_IPV6));
	CHECK(u, s.fam[8080] == LXS_FWD_IPV4);
	CHECK(u, s.fam[5000] == LXS_FWD_IPV6 && s.fam[6000] == LXS_FWD_IPV6);
	CHECK(u, !s.fam[9000] && !s.fam[9001] && !s.fam[9002] && !s.fam[7000] && !s.fam[0]);
}

static void t_diag_hostile(struct unit *u)
{
	static struct diag_set s;
	uint8_t b[512];
	size_t n = put_sock(b, AF_INET, DIAG_TCP_LISTEN, "0.0.0.0", 80);
	struct diag_nlmsg h;
	int32_t e = -EINVAL;

	/* Truncated anywhere: a length past the buffer or a header cut short. */
	for (size_t k = 1; k < n; k++)
		CHECK(u, diag_parse(b, k, &s) == -EPROTO);
	/* A length below the header's own size, and a diag message too short. */
	h = (struct diag_nlmsg){.len = 8, .type = DIAG_SOCK_DIAG_BY_FAMILY};
	memcpy(b, &h, sizeof(h));
	CHECK(u, diag_parse(b, sizeof(h), &s) == -EPROTO);
	n = put_msg(b, DIAG_SOCK_DIAG_BY_FAMILY, "abcd", 4);
	CHECK(u, diag_parse(b, n, &s) == -EPROTO);
	/* The kernel's error, and errors that are not errnos. */
	n = put_msg(b, DIAG_NLMSG_ERROR, &e, 4);
	CHECK(u, diag_parse(b, n, &s) == -EINVAL);
	e = 0;
	put_msg(b, DIAG_NLMSG_ERROR, &e, 4);
	CHECK(u, diag_parse(b, n, &s) == -EPROTO);
	e = -5000;
	put_msg(b, DIAG_NLMSG_ERROR, &e, 4);
	CHECK(u, diag_parse(b, n, &s) == -EPROTO);
	n = put_msg(b, DIAG_NLMSG_ERROR, "", 0);
	CHECK(u, diag_parse(b, n, &s) == -EPROTO);
	CHECK(u, diag_parse(b, 0, &s) == 0);
	for (unsigned p = 0; p < 65536; p++)
		CHECK(u, p == 80 || !s.fam[p]);
}

static void t_diag_request(struct unit *u)
{
	uint8_t b[DIAG_REQUEST_SIZE];
	struct diag_nlmsg h;
	struct diag_req r;

	diag_request(b, AF_INET6, 7);
	memcpy(&h, b, sizeof(h));
	memcpy(&r, b + sizeof(h), sizeof(r));
	CHECK(u, sizeof(b) == 72 && h.len == 72 && h.type == DIAG_SOCK_DIAG_BY_FAMILY);
	CHECK(u, h.flags == (DIAG_NLM_F_REQUEST | DIAG_NLM_F_DUMP) && h.seq == 7);
	CHECK(u, r.family == AF_INET6 && r.protocol == IPPROTO_TCP && r.states == 1u << 10);
}

/* The real kernel's answer: our layouts against its ABI (skipped without sock_diag). */
static void t_diag_live(struct unit *u)
{
	static struct diag_set s;
	static uint8_t buf[65536];
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t l4 = sizeof(a4), l6 = sizeof(a6);
	uint32_t seq = 0;
	int nl = socket(AF_NETLINK, SOCK_DGRAM, DIAG_NETLINK_SOCK_DIAG);
	int f4 = socket(AF_INET, SOCK_STREAM, 0), f6 = socket(AF_INET6, SOCK_STREAM, 0);
	int one = 1;

	setsockopt(f6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	CHECK(u, bind(f4, (struct sockaddr *)&a4, l4) == 0 && listen(f4, 1) == 0);
	CHECK(u, getsockname(f4, (struct sockaddr *)&a4, &l4) == 0);
	bool v6 = bind(f6, (struct sockaddr *)&a6, l6) == 0 && listen(f6, 1) == 0 &&
		  getsockname(f6, (struct sockaddr *)&a6, &l6) == 0;
	int ret = diag_scan(nl, buf, sizeof(buf), &seq, &s);
	if (ret == -ENOENT || nl < 0) {
		printf("# t_diag_live: this kernel has no inet_diag; skipped\n");
	} else {
		CHECK(u, ret == 0 && seq == 2);
		CHECK(u, s.fam[ntohs(a4.sin_port)] & LXS_FWD_IPV4);
		if (v6)
			CHECK(u, s.fam[ntohs(a6.sin6_port)] & LXS_FWD_IPV6);
	}
	close(f4);
	close(f6);
	if (nl >= 0)
		close(nl);
}

/* --- lxs-fwd's loop against a fake guest ---------------------------------------------- */

struct fake {
	char dir[40], vsock[64], report[64];
	int vfd;         /* the fake lxs-vm's CONNECT socket */
	int stop;        /* eventfd: ends fwd_run and the fake */
	uint16_t refuse; /* the relay answers ERROR for this port */
	struct fwd *f;
	int relayed; /* connections the fake relay served */
};

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, (uint8_t *)buf + got, n - got);

		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* The fake relay: one connection at a time; answers "pong:" + all it read. */
static void *fake_guest(void *arg)
{
	struct fake *fk = arg;

	for (;;) {
		struct pollfd pf[2] = {{.fd = fk->vfd, .events = POLLIN},
				       {.fd = fk->stop, .events = POLLIN}};

		if (poll(pf, 2, -1) < 0 || (pf[1].revents & POLLIN))
			return NULL;
		int fd = accept(fk->vfd, NULL, NULL);
		if (fd < 0)
			continue;
		char line[15];
		uint8_t req[28], ans[64], data[4096];
		struct lxs_fwd m;

		if (read_full(fd, line, 14) < 0 || memcmp(line, "CONNECT 50003\n", 14) ||
		    read_full(fd, req, sizeof(req)) < 0) {
			close(fd);
			continue;
		}
		memcpy(&m, req + 24, 4);
		size_t n = relay_answer(ans, "OK 1073741999\n",
					m.port == fk->refuse ? ECONNREFUSED : 0, "refused");
		if (send(fd, ans, n, MSG_NOSIGNAL) != (ssize_t)n || m.port == fk->refuse) {
			close(fd);
			continue;
		}
		memcpy(data, "pong:", 5);
		size_t have = 5;
		ssize_t k;
		while (have < sizeof(data) && (k = read(fd, data + have, sizeof(data) - have)) > 0)
			have += (size_t)k;
		if (send(fd, data, have, MSG_NOSIGNAL) != (ssize_t)have)
			have = 0;
		__atomic_add_fetch(&fk->relayed, 1, __ATOMIC_SEQ_CST);
		close(fd);
	}
}

static void *fwd_thread(void *arg)
{
	struct fake *fk = arg;

	fwd_run(fk->f, fk->stop, -1);
	return NULL;
}

static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Up to 5 s for a port to be forwarded (want 1) or gone (want 0). */
static int wait_port(uint16_t port, int want)
{
	for (int i = 0; i < 500; i++) {
		int fd = tcp_connect(port);

		if (fd >= 0)
			close(fd);
		if ((fd >= 0) == want)
			return 0;
		nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
	}
	return -1;
}

static int report_connect(struct fake *fk)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	struct lxs_msg_hdr h = hdr(LXS_MSG_HELLO, sizeof(hello));
	uint8_t b[16];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", fk->report);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || write(fd, &h, 8) != 8 ||
	    write(fd, &hello, 8) != 8 || read_full(fd, b, 16) < 0 ||
	    fwd_check_hello((struct lxs_msg_hdr *)b, b + 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int report_send(int fd, uint16_t type, uint16_t port, uint8_t families)
{
	struct lxs_fwd m = {.port = port, .families = families};
	struct lxs_msg_hdr h = hdr(type, sizeof(m));
	uint8_t b[12];

	memcpy(b, &h, 8);
	memcpy(b + 8, &m, 4);
	return write(fd, b, 12) == 12 ? 0 : -1;
}

/* Send text, half-close, read the answer to its end. */
static int exchange(uint16_t port, const char *text, char *out, size_t cap)
{
	int fd = tcp_connect(port);
	size_t got = 0;
	ssize_t k;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	shutdown(fd, SHUT_WR);
	while (got + 1 < cap && (k = read(fd, out + got, cap - 1 - got)) > 0)
		got += (size_t)k;
	out[got] = 0;
	close(fd);
	return (int)got;
}

static int fake_start(struct fake *fk, pthread_t th[2])
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	memset(fk, 0, sizeof(*fk));
	snprintf(fk->dir, sizeof(fk->dir), "/tmp/lxs-test-fwd.XXXXXX");
	if (!mkdtemp(fk->dir))
		return -1;
	snprintf(fk->vsock, sizeof(fk->vsock), "%s/vm.sock", fk->dir);
	snprintf(fk->report, sizeof(fk->report), "%s/vm.sock_%u", fk->dir, LXS_VSOCK_PORT_FWD);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", fk->vsock);
	fk->vfd = socket(AF_UNIX, SOCK_STREAM, 0);
	fk->stop = eventfd(0, EFD_CLOEXEC);
	if (bind(fk->vfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fk->vfd, 16) < 0 ||
	    fwd_create(&fk->f, fk->vsock, 4) < 0)
		return -1;
	pthread_create(&th[0], NULL, fake_guest, fk);
	pthread_create(&th[1], NULL, fwd_thread, fk);
	return 0;
}

static void fake_stop(struct fake *fk, pthread_t th[2])
{
	uint64_t one = 1;

	if (write(fk->stop, &one, sizeof(one)) != sizeof(one))
		return;
	/*
	 * lxs-fwd first: destroying it closes its relay connections, which
	 * ends a fake relay still waiting for the end of one.
	 */
	pthread_join(th[1], NULL);
	fwd_destroy(fk->f);
	pthread_join(th[0], NULL);
	close(fk->vfd);
	close(fk->stop);
	unlink(fk->vsock);
	rmdir(fk->dir);
}

static void t_loop_forwards(struct unit *u)
{
	struct fake fk;
	pthread_t th[2];
	char out[256];
	uint16_t port = free_port();

	CHECK(u, fake_start(&fk, th) == 0);
	if (u->case_failed)
		return;
	/* The report socket is the user's alone. */
	struct stat st;
	CHECK(u, stat(fk.report, &st) == 0 && (st.st_mode & 0777) == 0600);
	int r = report_connect(&fk);
	CHECK(u, r >= 0);
	CHECK(u, report_send(r, LXS_MSG_FWD_ADD, port, LXS_FWD_IPV4) == 0);
	CHECK(u, wait_port(port, 1) == 0);
	CHECK(u, exchange(port, "ping", out, sizeof(out)) == 9 && !strcmp(out, "pong:ping"));
	/* Bytes both ways, more than one buffer's worth is the VM test's job; here a second. */
	CHECK(u, exchange(port, "again", out, sizeof(out)) == 10 && !strcmp(out, "pong:again"));
	/* An update changes nothing that a client sees. */
	CHECK(u, report_send(r, LXS_MSG_FWD_ADD, port, LXS_FWD_IPV4 | LXS_FWD_IPV6) == 0);
	CHECK(u, exchange(port, "x", out, sizeof(out)) == 6);
	/* DEL: the host port closes. */
	CHECK(u, report_send(r, LXS_MSG_FWD_DEL, port, LXS_FWD_IPV4) == 0);
	CHECK(u, wait_port(port, 0) == 0);
	/* The report connection dropping takes every forward with it. */
	CHECK(u, report_send(r, LXS_MSG_FWD_ADD, port, LXS_FWD_IPV4) == 0);
	CHECK(u, wait_port(port, 1) == 0);
	close(r);
	CHECK(u, wait_port(port, 0) == 0);
	fake_stop(&fk, th);
	/* A clean stop removes the socket file. */
	CHECK(u, access(fk.report, F_OK) < 0);
}

static void t_loop_hostile(struct unit *u)
{
	struct fake fk;
	pthread_t th[2];
	char out[64], b[16];
	uint16_t port = free_port();

	CHECK(u, fake_start(&fk, th) == 0);
	if (u->case_failed)
		return;
	int r = report_connect(&fk);
	CHECK(u, r >= 0);
	/* The relay refuses: the client is reset, nothing else happens. */
	fk.refuse = port;
	CHECK(u, report_send(r, LXS_MSG_FWD_ADD, port, LXS_FWD_IPV4) == 0);
	CHECK(u, wait_port(port, 1) == 0);
	CHECK(u, exchange(port, "x", out, sizeof(out)) <= 0);
	/* More ports than the cap (4 here): the fifth is refused, the others work. */
	uint16_t p[5];
	for (int i = 0; i < 5; i++) {
		p[i] = free_port();
		CHECK(u, report_send(r, LXS_MSG_FWD_ADD, p[i], LXS_FWD_IPV4) == 0);
	}
	CHECK(u, wait_port(p[2], 1) == 0);
	CHECK(u, wait_port(p[3], 0) == 0 && wait_port(p[4], 0) == 0);
	/* A host port in use already is skipped, and the report goes on. */
	int busy = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	bind(busy, (struct sockaddr *)&a, sizeof(a));
	listen(busy, 1);
	getsockname(busy, (struct sockaddr *)&a, &al);
	CHECK(u, report_send(r, LXS_MSG_FWD_DEL, p[0], LXS_FWD_IPV4) == 0);
	CHECK(u, report_send(r, LXS_MSG_FWD_ADD, ntohs(a.sin_port), LXS_FWD_IPV4) == 0);
	CHECK(u, wait_port(p[0], 0) == 0);
	close(busy);
	/* A malformed message (port 0) ends the report and every forward. */
	CHECK(u, report_send(r, LXS_MSG_FWD_ADD, 0, LXS_FWD_IPV4) == 0);
	CHECK(u, read(r, b, sizeof(b)) == 0);
	CHECK(u, wait_port(p[1], 0) == 0);
	close(r);
	/* A garbage header and a flood of junk, on a fresh connection. */
	r = report_connect(&fk);
	CHECK(u, r >= 0);
	memset(out, 0xff, sizeof(out));
	CHECK(u, write(r, out, sizeof(out)) == sizeof(out));
	CHECK(u, read(r, b, sizeof(b)) == 0);
	close(r);
	/* A guest that never says HELLO properly. */
	struct sockaddr_un ua = {.sun_family = AF_UNIX};
	snprintf(ua.sun_path, sizeof(ua.sun_path), "%s", fk.report);
	r = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(u, connect(r, (struct sockaddr *)&ua, sizeof(ua)) == 0);
	CHECK(u, report_send(r, LXS_MSG_FWD_ADD, port, LXS_FWD_IPV4) == 0);
	CHECK(u, read(r, b, sizeof(b)) == 0);
	close(r);
	/* A second lxs-fwd on the same socket is refused. */
	struct fwd *f2;
	CHECK(u, fwd_create(&f2, fk.vsock, 0) == -EADDRINUSE);
	fake_stop(&fk, th);
}

int main(void)
{
	struct unit u = {0};

	/* A peer that reset is an error to see, not a signal to die of. */
	signal(SIGPIPE, SIG_IGN);
	/* lxs-fwd's warnings about the hostile cases go to stderr, under this name. */
	log_init("test_fwd", LOG_NORMAL);

	RUN(&u, t_report_valid);
	RUN(&u, t_report_hostile);
	RUN(&u, t_hello);
	RUN(&u, t_port_set);
	RUN(&u, t_handshake_ok);
	RUN(&u, t_handshake_error);
	RUN(&u, t_handshake_hostile);
	RUN(&u, t_handshake_request);
	RUN(&u, t_diag_parse);
	RUN(&u, t_diag_hostile);
	RUN(&u, t_diag_request);
	RUN(&u, t_diag_live);
	RUN(&u, t_loop_forwards);
	RUN(&u, t_loop_hostile);
	return unit_done(&u);
}
