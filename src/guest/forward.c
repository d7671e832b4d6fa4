/*
 * forward.c - localhost forwarding, the guest's side (proto.h,
 * LXS_VSOCK_PORT_FWD). One process, forked by PID 1, that
 *  - every SCAN_MS dumps the VM's TCP listeners (diag.c) and reports the
 *    changes to lxs-fwd on the host over a vsock connection it keeps open
 *    (reconnecting with backoff: lxs-fwd may not run at all);
 *  - serves the relay port: each connection lxs-fwd makes there stands for
 *    one client on the host, and gets a child of its own that connects to
 *    the listener on loopback and copies the bytes both ways.
 * The VM has one network namespace, shared by every distro, so one scan
 * sees every distro's listeners and the relay reaches them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "guest.h"
#include "sys.h"

#define SCAN_MS            250 /* a new listener is forwarded within about this */
#define BACKOFF_MIN_MS     250
#define BACKOFF_MAX_MS     2000 /* lxs-fwd starts just after the VM is up: retry soon */
#define RELAY_MAX          256  /* relay children at once; more connections wait */
#define RELAY_HANDSHAKE_MS 10000
#define RELAY_BUF          65536
#define VMADDR_CID_HOST    2u

struct watcher {
	struct diag_set *cur, *next; /* reported (or to report) / being scanned */
	int nl;                      /* NETLINK_SOCK_DIAG */
	uint32_t seq;
	uint8_t *rx; /* a datagram of the dump */
	int rfd;     /* the report connection, or -1 */
	struct wire w;
	bool hello;       /* lxs-fwd answered HELLO: reports may flow */
	bool scan_failed; /* the last scan failed (and that was said) */
	int backoff_ms;
	int64_t retry_at, scan_at;
	unsigned relays; /* relay children, the spare one included */
	bool spare;      /* a child waits in accept() for the next connection */
	pid_t spare_pid;
	int lfd, busy_w; /* the relay's listener; a spare's "I took one" */
};

#define say(...) say_as("forwarding: ", __VA_ARGS__)

/* --- the listeners ------------------------------------------------------------ */

static int scan(struct watcher *wt, struct diag_set *s)
{
	int ret = diag_scan(wt->nl, wt->rx, RELAY_BUF, &wt->seq, s);

	/* Said once: without sock_diag in the kernel nothing is ever forwarded. */
	if (ret < 0 && !wt->scan_failed)
		say("cannot list the TCP listeners through sock_diag (%s); nothing is forwarded "
		    "to the host (the guest kernel needs CONFIG_INET_DIAG and "
		    "CONFIG_INET_TCP_DIAG)",
		    strerror(-ret));
	wt->scan_failed = ret < 0;
	return ret;
}

/* --- the report connection ----------------------------------------------------- */

static void report_drop(struct watcher *wt)
{
	if (wt->rfd < 0)
		return;
	wire_fini(&wt->w);
	close(wt->rfd);
	wt->rfd = -1;
	wt->hello = false;
	wt->retry_at = now_ms() + wt->backoff_ms;
	wt->backoff_ms = wt->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wt->backoff_ms * 2;
}

static int report(struct watcher *wt, uint16_t type, unsigned port, uint8_t families)
{
	struct lxs_fwd m = {.port = (uint16_t)port, .families = families};

	return wire_queue(&wt->w, type, 0, &m, sizeof(m), NULL, 0);
}

static void report_connect(struct watcher *wt)
{
	struct sockaddr_vm a = {
	    .svm_family = AF_VSOCK, .svm_port = LXS_VSOCK_PORT_FWD, .svm_cid = VMADDR_CID_HOST};
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* Refused while lxs-fwd is not there (localhostForwarding=false): try later. */
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || wire_init(&wt->w, fd) < 0) {
		if (fd >= 0)
			close(fd);
		wt->retry_at = now_ms() + wt->backoff_ms;
		wt->backoff_ms =
		    wt->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wt->backoff_ms * 2;
		return;
	}
	wt->rfd = fd;
	if (wire_queue(&wt->w, LXS_MSG_HELLO, 0, &hello, sizeof(hello), NULL, 0) < 0 ||
	    wire_flush(&wt->w) < 0)
		report_drop(wt);
}

/* lxs-fwd's HELLO came: it forgets everything on a new connection, so tell it all. */
static int report_all(struct watcher *wt)
{
	int ret = 0;

	for (unsigned p = 1; p < 65536 && ret == 0; p++)
		if (wt->cur->fam[p])
			ret = report(wt, LXS_MSG_FWD_ADD, p, wt->cur->fam[p]);
	return ret;
}

static int report_changes(struct watcher *wt)
{
	int ret = 0;

	for (unsigned p = 1; p < 65536 && ret == 0; p++) {
		uint8_t was = wt->cur->fam[p], now = wt->next->fam[p];

		if (was == now)
			continue;
		ret = report(wt, now ? LXS_MSG_FWD_ADD : LXS_MSG_FWD_DEL, p, now ? now : was);
	}
	return ret;
}

static void report_read(struct watcher *wt)
{
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int ret = wire_read(&wt->w);

	while (ret == 0 && (ret = wire_next(&wt->w, &h, &p)) == 1) {
		struct lxs_hello hello;

		/* lxs-fwd says HELLO and nothing else. */
		if (wt->hello || h.type != LXS_MSG_HELLO || h.len != sizeof(hello)) {
			ret = -EPROTO;
			break;
		}
		memcpy(&hello, p, sizeof(hello));
		wire_consume(&wt->w);
		if (hello.magic != LXS_SESSION_MAGIC || hello.version != LXS_PROTO_VERSION) {
			say("lxs-fwd speaks protocol version %u, this lxs-init %u; update lxs so "
			    "both match",
			    hello.version, LXS_PROTO_VERSION);
			ret = -EPROTO;
			break;
		}
		wt->hello = true;
		wt->backoff_ms = BACKOFF_MIN_MS;
		ret = report_all(wt);
	}
	if (ret < 0)
		report_drop(wt);
}

/* --- the relay ------------------------------------------------------------------ */

static int listen_relay(void)
{
	struct sockaddr_vm a = {
	    .svm_family = AF_VSOCK, .svm_port = LXS_VSOCK_PORT_RELAY, .svm_cid = VMADDR_CID_ANY};
	/* Blocking: the spare relay child waits in accept() (relay_spare). */
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
		say("cannot listen on vsock port %u: %s", LXS_VSOCK_PORT_RELAY, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int connect_loopback(int family, uint16_t port)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {
	    .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	ret = family == AF_INET ? connect(fd, (struct sockaddr *)&a4, sizeof(a4))
				: connect(fd, (struct sockaddr *)&a6, sizeof(a6));
	if (ret < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* One direction of a relayed stream. */
struct half {
	int from, to;
	uint8_t *buf;
	size_t off, len;
	bool eof, shut;
};

/* Copy both ways until each direction has ended (half-closes passed on) or one fails. */
static void pump(int a, int b, const uint8_t *early, size_t early_len)
{
	static uint8_t bufs[2][RELAY_BUF];
	struct half d[2] = {{.from = a, .to = b, .buf = bufs[0]},
			    {.from = b, .to = a, .buf = bufs[1]}};

	/* Bytes the host sent right behind its request: they come first. */
	memcpy(d[0].buf, early, early_len);
	d[0].len = early_len;
	fcntl(a, F_SETFL, O_NONBLOCK);
	fcntl(b, F_SETFL, O_NONBLOCK);
	while (!(d[0].shut && d[1].shut)) {
		struct pollfd pf[2] = {{.fd = a}, {.fd = b}};

		for (int i = 0; i < 2; i++) {
			if (!d[i].eof && d[i].off + d[i].len < RELAY_BUF)
				pf[i].events |= POLLIN; /* pf[i] is d[i].from */
			if (d[i].len)
				pf[1 - i].events |= POLLOUT;
		}
		/*
		 * A socket we want nothing from stays out: POLLHUP cannot be
		 * masked, and a peer gone while the other side is slow would
		 * wake us again and again.
		 */
		for (int i = 0; i < 2; i++)
			if (!pf[i].events)
				pf[i].fd = -1;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			struct half *h = &d[i];

			if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) && !h->eof &&
			    (pf[i].events & POLLIN) && h->off + h->len < RELAY_BUF) {
				ssize_t n = read(h->from, h->buf + h->off + h->len,
						 RELAY_BUF - h->off - h->len);

				if (n == 0)
					h->eof = true;
				else if (n > 0)
					h->len += (size_t)n;
				else if (errno != EAGAIN && errno != EINTR)
					return;
			}
			if (h->len) {
				ssize_t n = write(h->to, h->buf + h->off, h->len);

				if (n > 0) {
					h->off += (size_t)n;
					h->len -= (size_t)n;
				} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
					return;
				}
				if (!h->len)
					h->off = 0;
			}
			if (h->eof && !h->len && !h->shut) {
				shutdown(h->to, SHUT_WR);
				h->shut = true;
			}
		}
	}
}

/* A relay child: the host's request, the connection to the listener, the bytes. */
static int relay_serve(int fd)
{
	struct wire w;
	struct lxs_msg_hdr h;
	const uint8_t *p;
	struct lxs_fwd m;
	int ret, tfd;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (wire_init(&w, fd) < 0)
		return -ENOMEM;
	if ((ret = hello_answer(&w, RELAY_HANDSHAKE_MS)) < 0)
		goto out;
	ret = wire_recv(&w, &h, &p, RELAY_HANDSHAKE_MS);
	if (ret < 0)
		goto out;
	if (h.type != LXS_MSG_FWD_CONNECT || h.len != sizeof(m)) {
		ret = wire_send_error(&w, EPROTO, "expected FWD_CONNECT after HELLO");
		goto out;
	}
	memcpy(&m, p, sizeof(m));
	wire_consume(&w);
	if (!m.port || (m.families != LXS_FWD_IPV4 && m.families != LXS_FWD_IPV6) || m.pad) {
		ret = wire_send_error(&w, EPROTO, "malformed FWD_CONNECT");
		goto out;
	}
	/*
	 * The client's own family first, then the other: a listener on :: or
	 * 0.0.0.0 answers either way, one on 127.0.0.1 or ::1 only its own.
	 */
	int first = m.families == LXS_FWD_IPV4 ? AF_INET : AF_INET6;
	tfd = connect_loopback(first, m.port);
	if (tfd < 0)
		tfd = connect_loopback(first == AF_INET ? AF_INET6 : AF_INET, m.port);
	if (tfd < 0) {
		ret = wire_send_error(&w, -tfd, "cannot connect to port %u in the VM: %s", m.port,
				      strerror(-tfd));
		goto out;
	}
	if ((ret = wire_send(&w, LXS_MSG_OK, 0, NULL, 0, NULL, 0)) == 0)
		pump(fd, tfd, w.rx, w.rx_have);
	close(tfd);
out:
	wire_fini(&w);
	close(fd);
	return ret;
}

/*
 * The relay's children are forked before they are needed: a spare child
 * waits in accept(), says on a pipe that it took a connection, and the
 * loop forks the next spare. A fork in a nested VM takes milliseconds, and
 * this keeps it off every forwarded connection's way.
 */
static void relay_spare(struct watcher *wt)
{
	if (wt->spare || wt->relays >= RELAY_MAX)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char b = 1;
		int fd;

		if (wt->rfd >= 0)
			close(wt->rfd);
		close(wt->nl);
		do
			fd = accept4(wt->lfd, NULL, NULL, SOCK_CLOEXEC);
		while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
		/* Never a fork loop: a listener that fails makes the next spare wait a turn. */
		if (fd < 0)
			sleep(1);
		if (write(wt->busy_w, &b, 1) < 0) {
		}
		close(wt->lfd);
		_exit(fd < 0 ? 1 : relay_serve(fd) < 0 ? 1 : 0);
	}
	if (pid > 0) {
		wt->relays++;
		wt->spare = true;
		wt->spare_pid = pid;
	}
}

/* --- the process ------------------------------------------------------------------ */

int forward_main(void)
{
	static struct diag_set sets[2];
	struct watcher wt = {
	    .cur = &sets[0], .next = &sets[1], .rfd = -1, .backoff_ms = BACKOFF_MIN_MS};
	sigset_t none;
	int lfd, busy[2];

	/* PID 1 blocks these for its signalfd; this process and its children want them. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* lo is up: PID 1 brought it up before anything else (netif.c). */
	wt.rx = malloc(RELAY_BUF);
	wt.nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, DIAG_NETLINK_SOCK_DIAG);
	if (!wt.rx || wt.nl < 0) {
		say("cannot open a sock_diag netlink socket: %s", strerror(errno));
		return 1;
	}
	lfd = listen_relay();
	if (lfd < 0 || pipe2(busy, O_CLOEXEC | O_NONBLOCK) < 0)
		return 1;
	wt.lfd = lfd;
	wt.busy_w = busy[1];
	relay_spare(&wt);
	for (;;) {
		int64_t now = now_ms();
		int64_t next = wt.scan_at;

		if (wt.rfd < 0 && wt.retry_at < next)
			next = wt.retry_at;
		struct pollfd pf[2] = {
		    {.fd = busy[0], .events = POLLIN},
		    {.fd = wt.rfd,
		     .events = POLLIN | (wt.rfd >= 0 && wire_tx_pending(&wt.w) ? POLLOUT : 0)}};
		/* Children end on their own; the timeout also bounds how late they are reaped. */
		int wait = next > now ? (int)(next - now) : 0;
		if (poll(pf, 2, wait) < 0 && errno != EINTR)
			return 1;
		pid_t gone;
		while ((gone = waitpid(-1, NULL, WNOHANG)) > 0) {
			wt.relays--;
			if (gone == wt.spare_pid)
				wt.spare = false; /* it died waiting */
		}
		if (pf[0].revents & POLLIN) {
			char b[64];

			if (read(busy[0], b, sizeof(b)) > 0)
				wt.spare = false;
		}
		/* A spare that took a connection (or died) is replaced, within RELAY_MAX. */
		relay_spare(&wt);
		if (wt.rfd >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			report_read(&wt);
		if (wt.rfd >= 0 && (pf[1].revents & POLLOUT) && wire_flush(&wt.w) < 0)
			report_drop(&wt);
		now = now_ms();
		if (now >= wt.scan_at) {
			wt.scan_at = now + SCAN_MS;
			if (scan(&wt, wt.next) == 0) {
				if (wt.hello && (report_changes(&wt) < 0 || wire_flush(&wt.w) < 0))
					report_drop(&wt);
				struct diag_set *t = wt.cur;
				wt.cur = wt.next;
				wt.next = t;
			}
		}
		if (wt.rfd < 0 && now >= wt.retry_at)
			report_connect(&wt);
	}
}
