/*
 * loop.c - lxs-fwd's event loop (fwd.h): the report connection from the
 * guest, a listener pair per forwarded port, and the two sockets of each
 * forwarded connection, all non-blocking on one epoll set.
 *
 * Objects that an event of the current epoll batch may still name (ports,
 * connections) are never freed during the batch: they are marked dead,
 * their fds closed, and freed once the batch is done.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "fwd.h"

enum ep_kind { EP_STOP, EP_REPORT_LISTEN, EP_REPORT, EP_PORT4, EP_PORT6, EP_CLIENT, EP_GUEST };

/* Bytes waiting to be written, at [off, off + len) of data (FWD_BUF bytes). */
struct buf {
	uint8_t *data;
	size_t off, len;
};

struct conn {
	struct fwd_ep ep_c, ep_g;
	int cfd, gfd;        /* the host's client; lxs-vm's socket towards the relay */
	bool piping;         /* the handshake is done */
	bool c_eof, g_eof;   /* that side will send no more */
	bool c_shut, g_shut; /* we told that side we will send no more */
	bool dead;
	uint32_t ev_c, ev_g; /* epoll interest now; 0: not in the set */
	int64_t deadline_ms; /* for the handshake */
	struct buf up, down; /* client -> guest, guest -> client */
	struct conn *prev, *next, *next_dead;
};

struct fwd {
	char vsock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char report_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int epfd, lfd, rfd;
	struct fwd_ep ep_stop, ep_listen, ep_report;
	struct wire rw;
	bool hello_done, warned_full, warned_v6;
	struct fwd_ports ports;
	struct fwd_port *dead_ports;
	struct conn *conns, *dead_conns;
	unsigned nconns;
	uint8_t warned[65536 / 8]; /* ports whose host side could not be opened, said once */
};

static int ep_set(struct fwd *f, int op, int fd, uint32_t events, struct fwd_ep *ep)
{
	struct epoll_event ev = {.events = events, .data.ptr = ep};

	return epoll_ctl(f->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

/* --- the guest's report ------------------------------------------------------ */

static void port_close(struct fwd *f, struct fwd_port *e)
{
	if (e->fd4 >= 0)
		close(e->fd4); /* closing takes it out of the epoll set */
	if (e->fd6 >= 0)
		close(e->fd6);
	e->fd4 = e->fd6 = -1;
	e->dead = true;
	e->next_dead = f->dead_ports;
	f->dead_ports = e;
}

static int listen_loopback(int family, uint16_t port)
{
	int one = 1, fd, ret;
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {
	    .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* SO_REUSEADDR: a port the guest just gave up may still have TIME_WAIT peers here. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof(a4))
			       : bind(fd, (struct sockaddr *)&a6, sizeof(a6))) < 0 ||
	    listen(fd, 128) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static void warn_port(struct fwd *f, uint16_t port, const char *where, int err)
{
	if (f->warned[port / 8] & (1u << (port % 8)))
		return;
	f->warned[port / 8] |= (uint8_t)(1u << (port % 8));
	if (err == EADDRINUSE)
		log_warnx("port %u is in use on the host's %s already, so the guest's listener "
			  "on it is not forwarded there; free the port and restart the listener",
			  port, where);
	else if (err == EACCES)
		log_warnx("port %u on the host's %s needs privileges lxs-fwd lacks, so the "
			  "guest's listener on it is not forwarded there; use a port above 1023",
			  port, where);
	else
		log_warnx("cannot listen on the host's %s port %u (%s), so the guest's listener "
			  "on it is not forwarded there",
			  where, port, strerror(err));
}

static void port_open(struct fwd *f, struct fwd_port *e)
{
	e->ep4 = (struct fwd_ep){EP_PORT4, e};
	e->ep6 = (struct fwd_ep){EP_PORT6, e};
	e->fd4 = listen_loopback(AF_INET, e->port);
	if (e->fd4 < 0)
		warn_port(f, e->port, "127.0.0.1", -e->fd4);
	else if (ep_set(f, EPOLL_CTL_ADD, e->fd4, EPOLLIN, &e->ep4) < 0) {
		close(e->fd4);
		e->fd4 = -1;
	}
	e->fd6 = listen_loopback(AF_INET6, e->port);
	if (e->fd6 == -EADDRNOTAVAIL || e->fd6 == -EAFNOSUPPORT) {
		if (!f->warned_v6)
			log_warnx(
			    "the host has no IPv6 loopback (::1), so guest ports are forwarded "
			    "on 127.0.0.1 only");
		f->warned_v6 = true;
	} else if (e->fd6 < 0) {
		warn_port(f, e->port, "[::1]", -e->fd6);
	} else if (ep_set(f, EPOLL_CTL_ADD, e->fd6, EPOLLIN, &e->ep6) < 0) {
		close(e->fd6);
		e->fd6 = -1;
	}
	log_info("forwarding port %u", e->port);
}

/* The report connection ended (or was replaced): every forward goes with it. */
static void report_drop(struct fwd *f)
{
	if (f->rfd < 0)
		return;
	close(f->rfd);
	wire_fini(&f->rw);
	f->rfd = -1;
	f->hello_done = false;
	f->warned_full = false;
	for (unsigned p = 1; p < 65536 && f->ports.count; p++) {
		struct fwd_port *e = f->ports.by_port[p];

		if (e) {
			f->ports.by_port[p] = NULL;
			f->ports.count--;
			port_close(f, e);
		}
	}
}

static int report_msg(struct fwd *f, const struct lxs_msg_hdr *h, const uint8_t *p)
{
	struct fwd_port *e;
	struct lxs_fwd m;
	int ret;

	if (!f->hello_done) {
		struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};

		if (fwd_check_hello(h, p) < 0)
			return -EPROTO;
		f->hello_done = true;
		/* 16 bytes on a fresh socket: the buffer takes them, or the peer is broken. */
		ret = wire_queue(&f->rw, LXS_MSG_HELLO, 0, &hello, sizeof(hello), NULL, 0);
		return ret < 0 ? ret : wire_flush(&f->rw) == 0 ? 0 : -EPIPE;
	}
	if (fwd_check_report(h, p, &m) < 0)
		return -EPROTO;
	ret = fwd_ports_apply(&f->ports, h->type, &m, &e);
	if (ret == -ENOSPC) {
		if (!f->warned_full)
			log_warnx("the guest listens on more than %u ports; port %u and further "
				  "ones are not forwarded",
				  f->ports.max, m.port);
		f->warned_full = true;
		return 0;
	}
	if (ret == FWD_OPEN)
		port_open(f, e);
	else if (ret == FWD_CLOSE)
		port_close(f, e);
	return ret < 0 ? ret : 0;
}

static void report_event(struct fwd *f)
{
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int ret = wire_read(&f->rw);

	/* Whole messages read before an end of stream still count. */
	for (;;) {
		int r = wire_next(&f->rw, &h, &p);

		if (r == 0)
			break;
		if (r < 0 || (r = report_msg(f, &h, p)) < 0) {
			log_warnx(
			    "the guest sent a malformed port report (%s); forwards are closed "
			    "until it reconnects",
			    strerror(-r));
			report_drop(f);
			return;
		}
		wire_consume(&f->rw);
	}
	if (ret < 0) {
		log_info("the guest's report connection closed (%s)", strerror(-ret));
		report_drop(f);
	}
}

static void report_accept(struct fwd *f)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	int fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* The socket is 0600; the check also covers a descriptor passed on. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.uid != geteuid()) {
		close(fd);
		return;
	}
	/* One guest, one report: a new connection means the guest started over. */
	report_drop(f);
	if (wire_init(&f->rw, fd) < 0) {
		close(fd);
		return;
	}
	f->rfd = fd;
	if (ep_set(f, EPOLL_CTL_ADD, fd, EPOLLIN, &f->ep_report) < 0)
		report_drop(f);
}

/* --- forwarded connections ------------------------------------------------------ */

static void conn_end(struct fwd *f, struct conn *c, bool reset)
{
	if (reset) {
		/* A reset tells the client the forward failed rather than ended cleanly. */
		struct linger l = {.l_onoff = 1, .l_linger = 0};

		setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(c->cfd);
	close(c->gfd);
	c->dead = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	f->nconns--;
	c->next_dead = f->dead_conns;
	f->dead_conns = c;
}

static void conn_free(struct conn *c)
{
	free(c->up.data);
	free(c->down.data);
	free(c);
}

static void reset_close(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void conn_new(struct fwd *f, int cfd, uint16_t port, uint8_t family)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct conn *c;
	int n;

	if (f->nconns >= FWD_MAX_CONNS) {
		reset_close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail_cfd;
	c->cfd = cfd;
	c->up.data = malloc(FWD_BUF);
	c->down.data = malloc(FWD_BUF);
	c->gfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!c->up.data || !c->down.data || c->gfd < 0)
		goto fail;
	memcpy(a.sun_path, f->vsock, sizeof(a.sun_path));
	/* A Unix connect does not wait; EAGAIN means lxs-vm's backlog is full. */
	if (connect(c->gfd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		log_debug("cannot reach the VM at %s: %s", f->vsock, strerror(errno));
		goto fail;
	}
	n = fwd_handshake_request(c->up.data, FWD_BUF, port, family);
	if (n < 0)
		goto fail;
	c->up.len = (size_t)n;
	c->ep_c = (struct fwd_ep){EP_CLIENT, c};
	c->ep_g = (struct fwd_ep){EP_GUEST, c};
	c->deadline_ms = now_ms() + FWD_HANDSHAKE_MS;
	/* The client joins the epoll set once the relay has answered (conn_watch). */
	if (ep_set(f, EPOLL_CTL_ADD, c->gfd, EPOLLIN | EPOLLOUT, &c->ep_g) < 0)
		goto fail;
	c->ev_g = EPOLLIN | EPOLLOUT;
	c->next = f->conns;
	if (f->conns)
		f->conns->prev = c;
	f->conns = c;
	f->nconns++;
	return;
fail:
	if (c->gfd >= 0)
		close(c->gfd);
	conn_free(c);
fail_cfd:
	reset_close(cfd);
}

static void port_accept(struct fwd *f, struct fwd_port *e, int kind)
{
	int lfd = kind == EP_PORT4 ? e->fd4 : e->fd6;

	/* A bounded batch, so that one busy port cannot starve the others. */
	for (int i = 0; i < 32 && !e->dead && lfd >= 0; i++) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			break;
		conn_new(f, cfd, e->port, kind == EP_PORT4 ? LXS_FWD_IPV4 : LXS_FWD_IPV6);
	}
}

/* Write what b holds: 0 (all written or the socket is full), or -errno. */
static int buf_flush(int fd, struct buf *b)
{
	while (b->len) {
		ssize_t n = send(fd, b->data + b->off, b->len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		b->off += (size_t)n;
		b->len -= (size_t)n;
	}
	b->off = 0;
	return 0;
}

/* One read into b's free space: 0 (eof set at end of stream), or -errno. */
static int buf_fill(int fd, struct buf *b, bool *eof)
{
	if (b->off) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	if (b->len == FWD_BUF || *eof)
		return 0;
	ssize_t n = read(fd, b->data + b->len, FWD_BUF - b->len);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	if (n == 0)
		*eof = true;
	b->len += (size_t)n;
	return 0;
}

static int conn_handshake(struct conn *c)
{
	char err[128];
	size_t used = 0;
	int ret =
	    fwd_handshake_parse(c->down.data + c->down.off, c->down.len, &used, err, sizeof(err));

	if (ret == 0)
		return c->g_eof || c->down.len == FWD_BUF ? -EPROTO : 0;
	if (ret < 0) {
		/* The guest's listener went away between report and connect: no news. */
		if (ret != -ECONNREFUSED)
			log_debug("the guest's relay refused a connection: %s", err);
		return ret;
	}
	c->down.off += used;
	c->down.len -= used;
	c->piping = true;
	return 0;
}

/*
 * A socket is in the epoll set only while we want to read or write it:
 * EPOLLHUP cannot be masked, and a peer that is gone while we wait on the
 * other side (a full buffer, a guest that has not answered) would
 * otherwise wake the loop again and again. Errors surface at the next
 * read or write.
 */
static void watch_one(struct fwd *f, int fd, uint32_t want, uint32_t *have, struct fwd_ep *ep)
{
	int ret = 0;

	if (want == *have)
		return;
	if (!want)
		ret = epoll_ctl(f->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
	else
		ret = ep_set(f, *have ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, want, ep);
	if (ret == 0)
		*have = want;
}

static void conn_watch(struct fwd *f, struct conn *c)
{
	uint32_t g = 0, cl = 0;

	if (!c->piping || (!c->g_eof && c->down.off + c->down.len < FWD_BUF))
		g |= EPOLLIN;
	if (c->up.len && !c->g_shut)
		g |= EPOLLOUT;
	if (c->piping && !c->c_eof && c->up.off + c->up.len < FWD_BUF)
		cl |= EPOLLIN;
	if (c->piping && c->down.len)
		cl |= EPOLLOUT;
	watch_one(f, c->gfd, g, &c->ev_g, &c->ep_g);
	watch_one(f, c->cfd, cl, &c->ev_c, &c->ep_c);
}

static void conn_event(struct fwd *f, struct conn *c, int kind, uint32_t ev)
{
	int ret = 0;

	if (c->dead)
		return;
	/* A pending socket error is a reset or a peer gone: the stream is broken. */
	if (ev & EPOLLERR)
		ret = -ECONNRESET;
	else if (kind == EP_GUEST) {
		if (ev & (EPOLLOUT | EPOLLHUP))
			ret = buf_flush(c->gfd, &c->up);
		if (ret == 0 && (ev & (EPOLLIN | EPOLLHUP)))
			ret = buf_fill(c->gfd, &c->down, &c->g_eof);
		/* Hung up after its end of stream: lxs-vm closed it, nothing more goes there. */
		if (ret == 0 && (ev & EPOLLHUP) && c->g_eof && c->piping) {
			c->up.len = 0;
			c->g_shut = true;
		}
		if (ret == 0 && !c->piping)
			ret = conn_handshake(c);
		if (ret == 0 && c->piping && c->down.len)
			ret = buf_flush(c->cfd, &c->down);
	} else {
		if (ev & (EPOLLOUT | EPOLLHUP))
			ret = buf_flush(c->cfd, &c->down);
		if (ret == 0 && (ev & (EPOLLIN | EPOLLHUP)))
			ret = buf_fill(c->cfd, &c->up, &c->c_eof);
		if (ret == 0 && c->up.len && !c->g_shut)
			ret = buf_flush(c->gfd, &c->up);
	}
	if (ret < 0) {
		conn_end(f, c, true);
		return;
	}
	/* Half-closes: a side that ended is passed on once its bytes are through. */
	if (c->piping && c->c_eof && !c->up.len && !c->g_shut) {
		shutdown(c->gfd, SHUT_WR);
		c->g_shut = true;
	}
	if (c->piping && c->g_eof && !c->down.len && !c->c_shut) {
		shutdown(c->cfd, SHUT_WR);
		c->c_shut = true;
	}
	if (c->g_shut && c->c_shut) {
		conn_end(f, c, false);
		return;
	}
	conn_watch(f, c);
}

/* --- the loop ----------------------------------------------------------------- */

static void reap_dead(struct fwd *f)
{
	while (f->dead_ports) {
		struct fwd_port *e = f->dead_ports;

		f->dead_ports = e->next_dead;
		free(e);
	}
	while (f->dead_conns) {
		struct conn *c = f->dead_conns;

		f->dead_conns = c->next_dead;
		conn_free(c);
	}
}

int fwd_run(struct fwd *f, int stop_fd, int timeout_ms)
{
	int64_t end = timeout_ms >= 0 ? now_ms() + timeout_ms : INT64_MAX;
	bool stop = false;
	int ret = 0;

	if (stop_fd >= 0 && (ret = ep_set(f, EPOLL_CTL_ADD, stop_fd, EPOLLIN, &f->ep_stop)) < 0)
		return ret;
	while (!stop) {
		struct epoll_event ev[64];
		int64_t now = now_ms();
		/* A second at most: handshakes have deadlines. */
		int wait = end - now < 1000 ? (int)(end - now) : 1000;

		if (wait < 0)
			break;
		int n = epoll_wait(f->epfd, ev, 64, wait);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct fwd_ep *ep = ev[i].data.ptr;

			switch (ep->kind) {
			case EP_STOP:
				stop = true;
				break;
			case EP_REPORT_LISTEN:
				report_accept(f);
				break;
			case EP_REPORT:
				if (f->rfd >= 0)
					report_event(f);
				break;
			case EP_PORT4:
			case EP_PORT6:
				port_accept(f, ep->obj, ep->kind);
				break;
			default:
				conn_event(f, ep->obj, ep->kind, ev[i].events);
				break;
			}
		}
		now = now_ms();
		for (struct conn *c = f->conns, *next; c; c = next) {
			next = c->next;
			if (!c->piping && now > c->deadline_ms)
				conn_end(f, c, true);
		}
		reap_dead(f);
	}
	if (stop_fd >= 0)
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, stop_fd, NULL);
	return ret;
}

static int listen_report(struct fwd *f)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	memcpy(a.sun_path, f->report_path, sizeof(a.sun_path));
	if (lstat(f->report_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		/* A socket someone still answers on is another lxs-fwd's. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (ret == 0)
			return -EADDRINUSE;
		unlink(f->report_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Created 0600 from the start: no moment where another user could connect. */
	mode_t old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (ret < 0 || listen(fd, 4) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	f->lfd = fd;
	return 0;
}

int fwd_create(struct fwd **out, const char *vsock, unsigned max_ports)
{
	struct fwd *f;
	int ret;

	if (strlen(vsock) + 8 > sizeof(f->vsock))
		return -ENAMETOOLONG;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->lfd = f->rfd = -1;
	f->ports.max = max_ports ? max_ports : LXS_FWD_MAX_PORTS;
	f->ep_stop = (struct fwd_ep){EP_STOP, NULL};
	f->ep_listen = (struct fwd_ep){EP_REPORT_LISTEN, NULL};
	f->ep_report = (struct fwd_ep){EP_REPORT, NULL};
	snprintf(f->vsock, sizeof(f->vsock), "%s", vsock);
	snprintf(f->report_path, sizeof(f->report_path), "%s_%u", vsock, LXS_VSOCK_PORT_FWD);
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0) {
		ret = -errno;
		goto fail;
	}
	if ((ret = listen_report(f)) < 0)
		goto fail_ep;
	if ((ret = ep_set(f, EPOLL_CTL_ADD, f->lfd, EPOLLIN, &f->ep_listen)) < 0)
		goto fail_listen;
	*out = f;
	return 0;
fail_listen:
	close(f->lfd);
	unlink(f->report_path);
fail_ep:
	close(f->epfd);
fail:
	free(f);
	return ret;
}

void fwd_destroy(struct fwd *f)
{
	if (!f)
		return;
	while (f->conns)
		conn_end(f, f->conns, false);
	report_drop(f);
	reap_dead(f);
	close(f->lfd);
	unlink(f->report_path);
	close(f->epfd);
	free(f);
}

unsigned fwd_port_count(const struct fwd *f)
{
	return f->ports.count;
}

unsigned fwd_conn_count(const struct fwd *f)
{
	return f->nconns;
}
