/*
 * muxer.c - vsock connections to Unix sockets. See muxer.h for what it
 * promises; this file is about how.
 *
 * A connection is on up to four intrusive lists at once: all connections
 * (or, once dead, the reap list), the rx queue (it has something for the
 * guest: a control packet or a readable host socket), and one timeout list
 * (each list has one fixed timeout, so appending keeps it sorted and its
 * head is the next deadline).
 *
 * Killing a connection (conn_kill) closes its socket and takes it off the
 * table and the queues at once, but frees it only when the public entry
 * point returns (finish): code deep in a call chain can kill a connection
 * and its callers still see a valid object, marked doomed, instead of freed
 * memory. Everything that could put a connection back on a list checks
 * `doomed` first.
 *
 * Host sockets are found by fd (by_fd), not through a pointer handed to the
 * event loop: a readiness report that was already in flight when the
 * connection died then finds nothing, or a newer connection with the same fd
 * number, which treats it as a spurious wakeup (every read and write is
 * non-blocking).
 */
#include "common/clock.h"
#include "vsock/muxer.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "vsock/bytebuf.h"
#include "vsock/connmap.h"

#define DEFAULT_BUF_ALLOC    (256 * 1024) /* what Linux uses for its own sockets */
#define DEFAULT_MAX_CONNS    1024
#define DEFAULT_MAX_BUFFERED (64 * 1024 * 1024)
/*
 * The guest kernel answers a REQUEST from softirq context, but a guest busy
 * forking (50 sessions at once under nested virtualization) was seen to take
 * longer than 5 s: a slow answer is not a dead guest. The client waits as
 * long (session.c's CONNECT_TIMEOUT_MS).
 */
#define DEFAULT_CONNECT_MS 30000
#define DEFAULT_CLOSE_MS   2000
#define MAX_CONNS_LIMIT    (1u << 20) /* keeps the RST queue size from overflowing */
#define LISTEN_BACKLOG     128
#define ACCEPTS_PER_WAKEUP 64 /* let other fds run between bursts of clients */

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* --- intrusive lists ------------------------------------------------------ */

struct dlist {
	struct dlist *prev, *next;
};

static void dl_init(struct dlist *l)
{
	l->prev = l->next = l;
}

static bool dl_empty(const struct dlist *l)
{
	return l->next == l;
}

/* A node that is on no list points to itself. */
static bool dl_linked(const struct dlist *n)
{
	return n->next != n;
}

static void dl_add_tail(struct dlist *head, struct dlist *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static void dl_del(struct dlist *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	dl_init(n);
}

/* --- state ---------------------------------------------------------------- */

enum conn_state {
	C_LINE,       /* host client: reading its CONNECT line; not in the table yet */
	C_CONNECTING, /* host-initiated: REQUEST queued or sent, waiting for RESPONSE */
	C_OPEN,
	C_CLOSING, /* the guest shut both ways: flushing to the host, then RST */
};

/* What a connection has for the guest (conn->pending). */
#define PEND_REQUEST        0x01u
#define PEND_RESPONSE       0x02u
#define PEND_DATA           0x04u /* the host socket is readable */
#define PEND_CREDIT_UPDATE  0x08u
#define PEND_CREDIT_REQUEST 0x10u
#define PEND_SHUTDOWN       0x20u

enum { T_CONNECT, T_CLOSE, T_NLISTS };

struct conn {
	struct vsock_map_node node; /* key (local_port, peer_port) while hashed */
	struct dlist all;           /* m->conns, or m->reap once doomed */
	struct dlist rx;            /* m->rxq while pending != 0 */
	struct dlist tm;            /* m->timers[..] while it has a deadline */
	int64_t deadline;           /* CLOCK_MONOTONIC ms */

	enum conn_state state;
	bool hashed, doomed;
	int fd;
	uint32_t watched; /* events the owner watches fd for */
	uint32_t local_port, peer_port;
	unsigned pending;
	uint32_t shut_flags; /* SHUTDOWN flags to send to the guest */

	/* Guest -> host: counted in bytes of stream, wrapping (5.10.6.3). */
	uint32_t rx_cnt;        /* accepted from the guest */
	uint32_t fwd_cnt;       /* written to the host socket */
	uint32_t last_fwd_sent; /* fwd_cnt the guest last heard of */
	/* Host -> guest. */
	uint32_t tx_cnt;         /* sent to the guest */
	uint32_t peer_buf_alloc; /* the guest's, from its last packet */
	uint32_t peer_fwd_cnt;
	bool credit_asked; /* CREDIT_REQUEST sent since credit ran out */

	bool host_eof;      /* the host socket said EOF */
	bool host_wr_shut;  /* we shut the host socket's write side */
	bool guest_no_send; /* the guest sent SHUTDOWN SEND */
	bool guest_no_recv; /* the guest sent SHUTDOWN RCV */

	unsigned line_len;
	char line[VSOCK_LINE_MAX];
	unsigned ok_len, ok_off; /* "OK <port>\n" still to write to a host client */
	char ok[24];

	struct vsock_buf out; /* guest bytes the host socket has not taken yet */
};

struct rst_ent {
	uint32_t local_port, peer_port;
};

struct vsock_mux {
	uint64_t guest_cid;
	struct vsock_limits lim;
	vsock_watch_fn watch;
	void *opaque;

	char *prefix; /* NULL: no host side */
	int listen_fd;
	uint32_t listen_watched;
	dev_t listen_dev; /* the socket file we created, to remove only that */
	ino_t listen_ino;

	int timer_fd;
	int64_t timer_armed; /* deadline the timerfd is set to, 0: disarmed */

	struct vsock_map map;
	struct dlist conns, reap, rxq;
	struct dlist timers[T_NLISTS];
	unsigned nconns;
	unsigned rx_count; /* connections on rxq */
	struct conn **by_fd;
	size_t by_fd_len;

	/* RSTs for connections that no longer exist: a ring of rst_cap. */
	struct rst_ent *rst;
	unsigned rst_head, rst_len, rst_cap;

	uint32_t next_port;
	struct vsock_stats st;
};

void vsock_limits_default(struct vsock_limits *lim)
{
	lim->buf_alloc = DEFAULT_BUF_ALLOC;
	lim->max_conns = DEFAULT_MAX_CONNS;
	lim->max_buffered = DEFAULT_MAX_BUFFERED;
	lim->connect_timeout_ms = DEFAULT_CONNECT_MS;
	lim->close_timeout_ms = DEFAULT_CLOSE_MS;
}

/* --- bookkeeping ----------------------------------------------------------- */

static void rx_add(struct vsock_mux *m, struct conn *c)
{
	if (c->doomed || dl_linked(&c->rx))
		return;
	dl_add_tail(&m->rxq, &c->rx);
	m->rx_count++;
}

static void rx_remove(struct vsock_mux *m, struct conn *c)
{
	if (!dl_linked(&c->rx))
		return;
	dl_del(&c->rx);
	m->rx_count--;
}

/* Start (or restart) c's timeout on list `which`. */
static void timer_start(struct vsock_mux *m, struct conn *c, int which, unsigned ms)
{
	if (c->doomed)
		return;
	dl_del(&c->tm);
	c->deadline = now_ms() + ms;
	dl_add_tail(&m->timers[which], &c->tm);
}

static void timer_stop(struct conn *c)
{
	dl_del(&c->tm);
}

/* Point the timerfd at the earliest deadline. */
static void timer_update(struct vsock_mux *m)
{
	struct itimerspec its = {0};
	int64_t next = 0;

	for (int i = 0; i < T_NLISTS; i++) {
		struct conn *c;

		if (dl_empty(&m->timers[i]))
			continue;
		c = container_of(m->timers[i].next, struct conn, tm);
		if (!next || c->deadline < next)
			next = c->deadline;
	}
	if (next == m->timer_armed)
		return;
	if (next) {
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000;
	}
	/* Cannot fail with a valid fd and these values. */
	timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	m->timer_armed = next;
}

static void rst_push(struct vsock_mux *m, uint32_t local_port, uint32_t peer_port)
{
	struct rst_ent *e;

	if (m->rst_len == m->rst_cap) {
		m->st.rst_lost++;
		return;
	}
	e = &m->rst[(m->rst_head + m->rst_len) % m->rst_cap];
	e->local_port = local_port;
	e->peer_port = peer_port;
	m->rst_len++;
}

static int by_fd_set(struct vsock_mux *m, int fd, struct conn *c)
{
	if ((size_t)fd >= m->by_fd_len) {
		size_t n = m->by_fd_len ? m->by_fd_len : 64;
		struct conn **p;

		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(m->by_fd, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + m->by_fd_len, 0, (n - m->by_fd_len) * sizeof(*p));
		m->by_fd = p;
		m->by_fd_len = n;
	}
	m->by_fd[fd] = c;
	return 0;
}

/* A connection over fd; the caller closes fd if this fails. */
static struct conn *conn_new(struct vsock_mux *m, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (by_fd_set(m, fd, c) < 0) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	dl_init(&c->rx);
	dl_init(&c->tm);
	dl_add_tail(&m->conns, &c->all);
	vsock_buf_init(&c->out, m->lim.buf_alloc);
	m->nconns++;
	return c;
}

static void listen_watch(struct vsock_mux *m, uint32_t events)
{
	if (m->listen_fd < 0 || m->listen_watched == events)
		return;
	if (m->watch(m->opaque, m->listen_fd, m->listen_watched, events) == 0)
		m->listen_watched = events;
}

/*
 * Close c's socket and forget it; tell the guest with an RST if `rst` and
 * the guest knows the connection. Freed in finish().
 */
static void conn_kill(struct vsock_mux *m, struct conn *c, bool rst)
{
	if (c->doomed)
		return;
	if (rst && c->hashed && !(c->pending & PEND_REQUEST))
		rst_push(m, c->local_port, c->peer_port);
	c->doomed = true;
	if (c->hashed) {
		vsock_map_remove(&m->map, &c->node);
		c->hashed = false;
	}
	rx_remove(m, c);
	timer_stop(c);
	if (c->watched)
		m->watch(m->opaque, c->fd, c->watched, 0);
	c->watched = 0;
	m->by_fd[c->fd] = NULL;
	close(c->fd);
	c->fd = -1;
	vsock_buf_clear(&c->out, &m->st.buffered);
	dl_del(&c->all);
	dl_add_tail(&m->reap, &c->all);
	m->nconns--;
	/* accept() may have run out of fds: one just came free. */
	listen_watch(m, EPOLLIN);
}

/* The guest broke the protocol on c. */
static void conn_protocol(struct vsock_mux *m, struct conn *c, const char *why)
{
	log_debug("vsock: port %u<->%u: %s, resetting", c->local_port, c->peer_port, why);
	m->st.protocol++;
	conn_kill(m, c, true);
}

/* End of every public entry point: free the dead, re-aim the timer. */
static void finish(struct vsock_mux *m)
{
	while (!dl_empty(&m->reap)) {
		struct conn *c = container_of(m->reap.next, struct conn, all);

		dl_del(&c->all);
		free(c);
	}
	timer_update(m);
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	/* A guest claiming more forwarded than sent gets no credit, not 4 GiB. */
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Watch c's socket for exactly what its state needs. */
static void update_watch(struct vsock_mux *m, struct conn *c)
{
	uint32_t want = 0;

	if (c->doomed)
		return;
	switch (c->state) {
	case C_LINE:
		want = EPOLLIN;
		break;
	case C_CONNECTING:
		break;
	case C_OPEN:
	case C_CLOSING:
		/*
		 * Readable data is only noted (PEND_DATA) and read when the
		 * guest has a buffer: stop watching meanwhile, or a
		 * level-triggered loop would spin.
		 */
		if (c->state == C_OPEN && !c->host_eof && !c->guest_no_recv &&
		    !(c->pending & PEND_DATA) && peer_credit(c))
			want |= EPOLLIN;
		if (c->ok_off < c->ok_len || c->out.len)
			want |= EPOLLOUT;
		break;
	}
	if (want == c->watched)
		return;
	if (m->watch(m->opaque, c->fd, c->watched, want) < 0) {
		log_debug("vsock: port %u<->%u: cannot watch its socket", c->local_port,
			  c->peer_port);
		conn_kill(m, c, true);
		return;
	}
	c->watched = want;
}

/* --- guest -> host ----------------------------------------------------------- */

/* Tell the guest about freed buffer space before it runs short. */
static void credit_check(struct vsock_mux *m, struct conn *c)
{
	if (c->doomed || c->state != C_OPEN || c->guest_no_send || c->fwd_cnt == c->last_fwd_sent)
		return;
	if ((uint32_t)(c->rx_cnt - c->last_fwd_sent) >= m->lim.buf_alloc / 2) {
		c->pending |= PEND_CREDIT_UPDATE;
		rx_add(m, c);
	}
}

static bool again(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* Write what is waiting for the host socket; finish a close or a SHUTDOWN SEND. */
static void conn_flush(struct vsock_mux *m, struct conn *c)
{
	ssize_t n;

	while (c->ok_off < c->ok_len) {
		n = send(c->fd, c->ok + c->ok_off, c->ok_len - c->ok_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && again(errno))
			goto out;
		if (n < 0)
			goto broken;
		c->ok_off += (unsigned)n;
	}
	while (c->out.len) {
		n = send(c->fd, vsock_buf_peek(&c->out), c->out.len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && again(errno))
			goto out;
		if (n < 0)
			goto broken;
		vsock_buf_consume(&c->out, (size_t)n, &m->st.buffered);
		c->fwd_cnt += (uint32_t)n;
	}
	if (c->state == C_CLOSING) {
		/* Everything delivered: closing the socket is the host's EOF. */
		conn_kill(m, c, true);
		return;
	}
	if (c->guest_no_send && !c->host_wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
out:
	credit_check(m, c);
	update_watch(m, c);
	return;
broken:
	/* EPIPE, ECONNRESET: the host peer is gone. */
	log_debug("vsock: port %u<->%u: host peer gone", c->local_port, c->peer_port);
	conn_kill(m, c, true);
}

static void conn_guest_data(struct vsock_mux *m, struct conn *c, const uint8_t *p, size_t len)
{
	ssize_t n;

	if (c->state != C_OPEN) {
		conn_protocol(m, c, "data on a connection that is not open");
		return;
	}
	if (c->guest_no_send) {
		conn_protocol(m, c, "data after SHUTDOWN SEND");
		return;
	}
	/* Our credit is exactly the buffer's free space: more is a lie. */
	if (len > m->lim.buf_alloc - c->out.len) {
		conn_protocol(m, c, "data beyond the credit we gave");
		return;
	}
	c->rx_cnt += (uint32_t)len;
	if (!c->out.len && c->ok_off == c->ok_len) {
		n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && !again(errno)) {
			log_debug("vsock: port %u<->%u: host peer gone", c->local_port,
				  c->peer_port);
			conn_kill(m, c, true);
			return;
		}
		if (n > 0) {
			c->fwd_cnt += (uint32_t)n;
			p += n;
			len -= (size_t)n;
		}
	}
	if (len && vsock_buf_append(&c->out, p, len, &m->st.buffered, m->lim.max_buffered) < 0) {
		log_debug("vsock: port %u<->%u: out of buffer space", c->local_port, c->peer_port);
		m->st.refused++;
		conn_kill(m, c, true);
		return;
	}
	credit_check(m, c);
}

static void conn_guest_shutdown(struct vsock_mux *m, struct conn *c, uint32_t flags)
{
	if (c->state == C_CLOSING)
		return;
	if (c->state != C_OPEN) {
		conn_protocol(m, c, "SHUTDOWN on a connection that is not open");
		return;
	}
	if ((flags & VSOCK_SHUTDOWN_RCV) && !c->guest_no_recv) {
		c->guest_no_recv = true;
		c->pending &= ~(PEND_DATA | PEND_CREDIT_REQUEST);
		/* The host peer's further writes fail instead of piling up. */
		shutdown(c->fd, SHUT_RD);
	}
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->guest_no_send = true;
	if (c->guest_no_recv && c->guest_no_send) {
		/* A close: the guest waits for our RST, nothing else matters. */
		c->state = C_CLOSING;
		c->pending = 0;
		rx_remove(m, c);
		timer_start(m, c, T_CLOSE, m->lim.close_timeout_ms);
	}
	conn_flush(m, c);
}

/* A guest REQUEST to host port h->dst_port. */
static void guest_connect(struct vsock_mux *m, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct conn *c;
	int fd;

	if (!m->prefix)
		goto refuse;
	if (m->nconns >= m->lim.max_conns) {
		m->st.refused++;
		goto refuse;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto refuse;
	/* Fits: vsock_mux_create() checked the prefix's length. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", m->prefix, h->dst_port);
	/*
	 * A non-blocking AF_UNIX connect completes or fails at once
	 * (EAGAIN: the listener's backlog is full, which we treat as a refusal).
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_debug("vsock: guest port %u -> %s: %s", h->src_port, sa.sun_path,
			  strerror(errno));
		close(fd);
		goto refuse;
	}
	c = conn_new(m, fd);
	if (!c) {
		close(fd);
		goto refuse;
	}
	c->state = C_OPEN;
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	/* Cannot fail: the caller found no connection with this key. */
	vsock_map_insert(&m->map, &c->node, vsock_map_key(c->local_port, c->peer_port));
	c->hashed = true;
	c->pending |= PEND_RESPONSE;
	rx_add(m, c);
	update_watch(m, c);
	return;
refuse:
	rst_push(m, h->dst_port, h->src_port);
}

/* A valid packet for connection c. */
static void conn_packet(struct vsock_mux *m, struct conn *c, const struct vsock_hdr *h,
			const uint8_t *payload)
{
	/* Every packet carries the guest's credit state (5.10.6.3). */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;

	switch (h->op) {
	case VSOCK_OP_REQUEST:
		/*
		 * If our own REQUEST on these ports never left, the kill sends
		 * no RST: answer the guest's REQUEST, or it waits for nothing.
		 */
		if (c->pending & PEND_REQUEST)
			rst_push(m, c->local_port, c->peer_port);
		conn_protocol(m, c, "REQUEST for an existing connection");
		return;
	case VSOCK_OP_RESPONSE:
		if (c->state != C_CONNECTING || (c->pending & PEND_REQUEST)) {
			conn_protocol(m, c, "unexpected RESPONSE");
			return;
		}
		c->state = C_OPEN;
		timer_stop(c);
		c->ok_len = (unsigned)snprintf(c->ok, sizeof(c->ok), "OK %u\n", c->local_port);
		c->ok_off = 0;
		conn_flush(m, c);
		break;
	case VSOCK_OP_RST:
		conn_kill(m, c, false);
		return;
	case VSOCK_OP_SHUTDOWN:
		conn_guest_shutdown(m, c, h->flags);
		break;
	case VSOCK_OP_RW:
		if (h->len)
			conn_guest_data(m, c, payload, h->len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		if (c->state == C_OPEN) {
			c->pending |= PEND_CREDIT_UPDATE;
			rx_add(m, c);
		}
		break;
	}
	if (c->doomed)
		return;
	if (peer_credit(c))
		c->credit_asked = false;
	update_watch(m, c);
}

static struct conn *lookup(struct vsock_mux *m, uint32_t local_port, uint32_t peer_port)
{
	struct vsock_map_node *n = vsock_map_find(&m->map, vsock_map_key(local_port, peer_port));

	return n ? container_of(n, struct conn, node) : NULL;
}

static void bad_packet(struct vsock_mux *m, const struct vsock_hdr *h, enum vsock_bad bad)
{
	struct conn *c;

	m->st.dropped++;
	switch (bad) {
	case VSOCK_BAD_CID:
		m->st.bad_cid++;
		break;
	case VSOCK_BAD_PORT:
		m->st.bad_port++;
		break;
	case VSOCK_BAD_TYPE:
		m->st.bad_type++;
		break;
	case VSOCK_BAD_OP:
		m->st.bad_op++;
		break;
	case VSOCK_BAD_LEN:
		m->st.bad_len++;
		break;
	case VSOCK_OK:
		break;
	}
	log_debug("vsock: dropped a packet from guest port %u to %u: %s", h->src_port, h->dst_port,
		  vsock_bad_str(bad));
	/* Unaddressable: answering would mean speaking for someone else. */
	if (bad == VSOCK_BAD_CID || bad == VSOCK_BAD_PORT)
		return;
	/* A stream that lost a packet is corrupt: reset rather than go on. */
	c = lookup(m, h->dst_port, h->src_port);
	if (c)
		conn_kill(m, c, true);
	else if (h->op != VSOCK_OP_RST)
		rst_push(m, h->dst_port, h->src_port);
}

void vsock_mux_tx(struct vsock_mux *m, const struct vsock_hdr *h, const void *payload,
		  uint64_t chain_payload)
{
	enum vsock_bad bad;
	struct conn *c;

	m->st.tx_packets++;
	bad = vsock_pkt_check(h, m->guest_cid, chain_payload);
	if (bad != VSOCK_OK) {
		bad_packet(m, h, bad);
		goto out;
	}
	/* From the guest, dst is our side and src the guest's. */
	c = lookup(m, h->dst_port, h->src_port);
	if (c)
		conn_packet(m, c, h, payload);
	else if (h->op == VSOCK_OP_REQUEST)
		guest_connect(m, h);
	else if (h->op != VSOCK_OP_RST)
		rst_push(m, h->dst_port, h->src_port);
out:
	finish(m);
}

bool vsock_mux_tx_ready(const struct vsock_mux *m)
{
	/*
	 * Leave room for one RST per live connection (the event loop may
	 * kill them all) plus one answer per tx packet.
	 */
	return m->rst_len + m->lim.max_conns + 1 <= m->rst_cap;
}

/* --- host -> guest ------------------------------------------------------------ */

/* Whether the host peer closed both ways (not just its write side). */
static bool peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Read stream data for the guest: > 0 bytes read, else 0. May kill c. */
static size_t conn_read(struct vsock_mux *m, struct conn *c, void *buf, size_t cap)
{
	uint32_t credit = peer_credit(c);
	size_t want = cap;
	ssize_t n;

	if (c->state != C_OPEN || c->host_eof || c->guest_no_recv) {
		c->pending &= ~PEND_DATA;
		return 0;
	}
	if (!credit) {
		/* Wait for the guest's credit; ask once in case it forgot. */
		c->pending &= ~PEND_DATA;
		if (!c->credit_asked) {
			c->credit_asked = true;
			c->pending |= PEND_CREDIT_REQUEST;
		}
		return 0;
	}
	if (want > credit)
		want = credit;
	if (!want)
		return 0; /* a buffer without room for payload; keep it for later */
	n = recv(c->fd, buf, want, MSG_DONTWAIT);
	if (n > 0) {
		c->tx_cnt += (uint32_t)n;
		if ((size_t)n < want)
			c->pending &= ~PEND_DATA; /* drained: back to epoll */
		return (size_t)n;
	}
	c->pending &= ~PEND_DATA;
	if (n == 0) {
		c->host_eof = true;
		c->shut_flags |= VSOCK_SHUTDOWN_SEND;
		if (peer_gone(c->fd))
			c->shut_flags |= VSOCK_SHUTDOWN_RCV;
		c->pending |= PEND_SHUTDOWN;
		return 0;
	}
	if (!again(errno)) {
		log_debug("vsock: port %u<->%u: host peer reset", c->local_port, c->peer_port);
		conn_kill(m, c, true);
	}
	return 0;
}

static void conn_hdr(struct vsock_mux *m, struct conn *c, struct vsock_hdr *h, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_CID_HOST;
	h->dst_cid = m->guest_cid;
	h->src_port = c->local_port;
	h->dst_port = c->peer_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = m->lim.buf_alloc;
	h->fwd_cnt = c->fwd_cnt;
	/* Any packet tells the guest our credit: no separate update needed. */
	c->last_fwd_sent = c->fwd_cnt;
	c->pending &= ~PEND_CREDIT_UPDATE;
}

/* c's next packet, in the order the protocol needs them. 1: *h filled. */
static int conn_produce(struct vsock_mux *m, struct conn *c, struct vsock_hdr *h, void *buf,
			size_t cap)
{
	size_t n;

	if (c->pending & PEND_REQUEST) {
		c->pending &= ~PEND_REQUEST;
		conn_hdr(m, c, h, VSOCK_OP_REQUEST);
		return 1;
	}
	if (c->pending & PEND_RESPONSE) {
		c->pending &= ~PEND_RESPONSE;
		conn_hdr(m, c, h, VSOCK_OP_RESPONSE);
		return 1;
	}
	if (c->pending & PEND_DATA) {
		n = conn_read(m, c, buf, cap);
		if (c->doomed)
			return 0;
		if (n) {
			conn_hdr(m, c, h, VSOCK_OP_RW);
			h->len = (uint32_t)n;
			return 1;
		}
	}
	if (c->pending & PEND_CREDIT_REQUEST) {
		c->pending &= ~PEND_CREDIT_REQUEST;
		conn_hdr(m, c, h, VSOCK_OP_CREDIT_REQUEST);
		return 1;
	}
	/* After the data: EOF is only seen once everything was read. */
	if (c->pending & PEND_SHUTDOWN) {
		c->pending &= ~PEND_SHUTDOWN;
		conn_hdr(m, c, h, VSOCK_OP_SHUTDOWN);
		h->flags = c->shut_flags;
		return 1;
	}
	if (c->pending & PEND_CREDIT_UPDATE) {
		conn_hdr(m, c, h, VSOCK_OP_CREDIT_UPDATE);
		return 1;
	}
	return 0;
}

bool vsock_mux_has_rx(const struct vsock_mux *m)
{
	return m->rst_len || m->rx_count;
}

int vsock_mux_rx(struct vsock_mux *m, struct vsock_hdr *h, void *buf, size_t cap)
{
	unsigned budget = m->rx_count;
	int r = 0;

	if (cap > VSOCK_MAX_PAYLOAD)
		cap = VSOCK_MAX_PAYLOAD;
	for (;;) {
		struct conn *c;

		if (m->rst_len) {
			struct rst_ent *e = &m->rst[m->rst_head];

			memset(h, 0, sizeof(*h));
			h->src_cid = VSOCK_CID_HOST;
			h->dst_cid = m->guest_cid;
			h->src_port = e->local_port;
			h->dst_port = e->peer_port;
			h->type = VSOCK_TYPE_STREAM;
			h->op = VSOCK_OP_RST;
			m->rst_head = (m->rst_head + 1) % m->rst_cap;
			m->rst_len--;
			m->st.rst_sent++;
			r = 1;
			break;
		}
		/* Each connection at most once per call: some may make no progress. */
		if (!budget-- || dl_empty(&m->rxq))
			break;
		/* Round robin: the head goes to the tail if it has more. */
		c = container_of(m->rxq.next, struct conn, rx);
		rx_remove(m, c);
		r = conn_produce(m, c, h, buf, cap);
		if (!c->doomed) {
			if (c->pending)
				rx_add(m, c);
			update_watch(m, c);
		}
		if (r)
			break;
	}
	if (r)
		m->st.rx_packets++;
	finish(m);
	return r;
}

/* --- host clients: the listener and CONNECT lines ------------------------------- */

int vsock_parse_connect(const char *line, size_t len, uint32_t *port)
{
	static const char kw[] = "CONNECT ";
	const size_t kwlen = sizeof(kw) - 1;
	uint64_t v = 0;
	size_t i;

	if (len <= kwlen || memcmp(line, kw, kwlen) != 0)
		return -EINVAL;
	if (len - kwlen > 10) /* more digits than a 32-bit number has */
		return -EINVAL;
	for (i = kwlen; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v >= VSOCK_PORT_ANY)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}

/* The client asked for guest port `port`: pick our port, queue the REQUEST. */
static void host_connect(struct vsock_mux *m, struct conn *c, uint32_t port)
{
	uint32_t p;

	for (unsigned tries = 0; tries <= m->nconns; tries++) {
		p = m->next_port++;
		if (m->next_port >= VSOCK_EPHEMERAL_MAX)
			m->next_port = VSOCK_EPHEMERAL_MIN;
		if (!lookup(m, p, port))
			goto found;
	}
	conn_kill(m, c, false);
	return;
found:
	c->local_port = p;
	c->peer_port = port;
	vsock_map_insert(&m->map, &c->node, vsock_map_key(p, port));
	c->hashed = true;
	c->state = C_CONNECTING;
	c->pending |= PEND_REQUEST;
	rx_add(m, c);
	timer_start(m, c, T_CONNECT, m->lim.connect_timeout_ms);
}

/*
 * Take the CONNECT line and not one byte more: what follows it is stream
 * data for the guest, read only once the connection is open. Bytes without
 * a newline are consumed into c->line so that epoll does not report them
 * again and again.
 */
static void line_ready(struct vsock_mux *m, struct conn *c)
{
	char peek[VSOCK_LINE_MAX];
	size_t room = sizeof(c->line) - c->line_len, take;
	const char *nl;
	uint32_t port;
	ssize_t n;

	n = recv(c->fd, peek, room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && again(errno))
		return;
	if (n <= 0)
		goto bad;
	nl = memchr(peek, '\n', (size_t)n);
	take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
	if (recv(c->fd, c->line + c->line_len, take, MSG_DONTWAIT) != (ssize_t)take)
		goto bad;
	c->line_len += (unsigned)take;
	if (!nl) {
		if (c->line_len == sizeof(c->line))
			goto bad;
		return;
	}
	if (vsock_parse_connect(c->line, c->line_len - 1, &port) < 0)
		goto bad;
	host_connect(m, c, port);
	return;
bad:
	log_debug("vsock: host client: no valid CONNECT line, closing");
	conn_kill(m, c, false);
}

static void listener_ready(struct vsock_mux *m)
{
	struct conn *c;
	int fd;

	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Level-triggered: would spin. Resumed when a conn closes. */
				log_debug("vsock: accept: %s, pausing", strerror(errno));
				listen_watch(m, 0);
			}
			return;
		}
		if (m->nconns >= m->lim.max_conns) {
			m->st.refused++;
			close(fd);
			continue;
		}
		c = conn_new(m, fd);
		if (!c) {
			close(fd);
			continue;
		}
		c->state = C_LINE;
		timer_start(m, c, T_CONNECT, m->lim.connect_timeout_ms);
		update_watch(m, c);
	}
}

static void timer_fire(struct vsock_mux *m)
{
	uint64_t expirations;
	int64_t now;

	if (read(m->timer_fd, &expirations, sizeof(expirations)) < 0 && again(errno))
		return; /* a stale report */
	m->timer_armed = 0;
	now = now_ms();
	for (int i = 0; i < T_NLISTS; i++) {
		while (!dl_empty(&m->timers[i])) {
			struct conn *c = container_of(m->timers[i].next, struct conn, tm);

			if (c->deadline > now)
				break;
			log_debug("vsock: port %u<->%u: timed out", c->local_port, c->peer_port);
			conn_kill(m, c, true);
		}
	}
}

static void conn_ready(struct vsock_mux *m, struct conn *c, uint32_t events)
{
	if (c->state == C_LINE) {
		line_ready(m, c);
	} else {
		if ((c->watched & EPOLLOUT) && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
			conn_flush(m, c);
		if (!c->doomed && (c->watched & EPOLLIN) &&
		    (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
			c->pending |= PEND_DATA;
			rx_add(m, c);
		}
	}
	update_watch(m, c);
}

void vsock_mux_ready(struct vsock_mux *m, int fd, uint32_t events)
{
	struct conn *c;

	if (fd < 0)
		return;
	if (fd == m->timer_fd) {
		timer_fire(m);
	} else if (fd == m->listen_fd) {
		if (m->listen_watched)
			listener_ready(m);
	} else if ((size_t)fd < m->by_fd_len && (c = m->by_fd[fd]) && c->watched) {
		conn_ready(m, c, events);
	}
	finish(m);
}

/* --- life cycle ---------------------------------------------------------------- */

/* Whether a process is listening on path: then it is not ours to remove. */
static bool socket_live(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	bool live;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
	close(fd);
	return live;
}

static int listen_open(struct vsock_mux *m)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (lstat(m->prefix, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (socket_live(m->prefix))
			return -EADDRINUSE;
		if (unlink(m->prefix) < 0 && errno != ENOENT)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * On Linux the socket file gets the socket inode's mode (less the
	 * umask) at bind: set it first so that no one can connect in the
	 * window before the chmod below, which covers other kernels.
	 */
	if (fchmod(fd, 0600) < 0) {
		r = -errno;
		goto err_close;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", m->prefix);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto err_close;
	}
	if (chmod(m->prefix, 0600) < 0 || lstat(m->prefix, &st) < 0) {
		r = -errno;
		goto err_unlink;
	}
	m->listen_dev = st.st_dev;
	m->listen_ino = st.st_ino;
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		goto err_unlink;
	}
	r = m->watch(m->opaque, fd, 0, EPOLLIN);
	if (r < 0)
		goto err_unlink;
	m->listen_fd = fd;
	m->listen_watched = EPOLLIN;
	return 0;

err_unlink:
	unlink(m->prefix);
err_close:
	close(fd);
	return r;
}

static void listen_close(struct vsock_mux *m)
{
	struct stat st;

	if (m->listen_fd < 0)
		return;
	listen_watch(m, 0);
	close(m->listen_fd);
	m->listen_fd = -1;
	/* Only our own file: someone may have replaced it since. */
	if (lstat(m->prefix, &st) == 0 && st.st_dev == m->listen_dev && st.st_ino == m->listen_ino)
		unlink(m->prefix);
}

static uint64_t random_seed(const void *salt)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	/* Early boot without entropy: weaker, still not guessable from the guest. */
	return (uint64_t)now_ms() ^ (uint64_t)(uintptr_t)salt ^ ((uint64_t)getpid() << 32);
}

int vsock_mux_create(struct vsock_mux **out, uint64_t guest_cid, const char *uds_prefix,
		     const struct vsock_limits *lim, vsock_watch_fn watch, void *opaque)
{
	struct sockaddr_un sa;
	struct vsock_mux *m;
	int r;

	if (!watch || guest_cid <= VSOCK_CID_HOST || guest_cid >= 0xffffffffu)
		return -EINVAL;
	if (lim && (!lim->buf_alloc || !lim->max_conns || lim->max_conns > MAX_CONNS_LIMIT))
		return -EINVAL;
	/* "<prefix>_4294967295" must fit, NUL included. */
	if (uds_prefix && (!*uds_prefix || strlen(uds_prefix) + 12 > sizeof(sa.sun_path)))
		return !*uds_prefix ? -EINVAL : -ENAMETOOLONG;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->guest_cid = guest_cid;
	if (lim)
		m->lim = *lim;
	else
		vsock_limits_default(&m->lim);
	m->watch = watch;
	m->opaque = opaque;
	m->listen_fd = -1;
	m->timer_fd = -1;
	m->next_port = VSOCK_EPHEMERAL_MIN;
	dl_init(&m->conns);
	dl_init(&m->reap);
	dl_init(&m->rxq);
	for (int i = 0; i < T_NLISTS; i++)
		dl_init(&m->timers[i]);

	r = vsock_map_init(&m->map, random_seed(m));
	if (r < 0)
		goto err_free;
	r = -ENOMEM;
	m->rst_cap = 2 * m->lim.max_conns + 64;
	m->rst = calloc(m->rst_cap, sizeof(*m->rst));
	if (!m->rst)
		goto err_map;
	if (uds_prefix) {
		m->prefix = strdup(uds_prefix);
		if (!m->prefix)
			goto err_rst;
	}
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->timer_fd < 0) {
		r = -errno;
		goto err_prefix;
	}
	r = watch(opaque, m->timer_fd, 0, EPOLLIN);
	if (r < 0)
		goto err_timer;
	if (m->prefix) {
		r = listen_open(m);
		if (r < 0)
			goto err_unwatch;
	}
	*out = m;
	return 0;

err_unwatch:
	watch(opaque, m->timer_fd, EPOLLIN, 0);
err_timer:
	close(m->timer_fd);
err_prefix:
	free(m->prefix);
err_rst:
	free(m->rst);
err_map:
	vsock_map_fini(&m->map);
err_free:
	free(m);
	return r;
}

static void kill_all(struct vsock_mux *m)
{
	while (!dl_empty(&m->conns))
		conn_kill(m, container_of(m->conns.next, struct conn, all), false);
	m->rst_head = m->rst_len = 0;
}

void vsock_mux_reset(struct vsock_mux *m)
{
	kill_all(m);
	finish(m);
}

void vsock_mux_destroy(struct vsock_mux *m)
{
	if (!m)
		return;
	kill_all(m);
	finish(m);
	listen_close(m);
	m->watch(m->opaque, m->timer_fd, EPOLLIN, 0);
	close(m->timer_fd);
	vsock_map_fini(&m->map);
	free(m->by_fd);
	free(m->rst);
	free(m->prefix);
	free(m);
}

void vsock_mux_dump(const struct vsock_mux *m)
{
	static const char *const state[] = {"line", "connecting", "open", "closing"};
	const struct dlist *d;

	log_warnx("    vsock: %u connections, %u with packets for the guest", m->nconns,
		  m->rx_count);
	for (d = m->conns.next; d != &m->conns; d = d->next) {
		const struct conn *c =
		    (const struct conn *)((const char *)d - offsetof(struct conn, all));

		log_warnx(
		    "    vsock %u->%u %s fd %d watch %#x pending %#x: guest->host rx %u fwd %u"
		    " (told %u) held %zu; host->guest tx %u peer fwd %u buf %u%s%s%s%s%s",
		    c->local_port, c->peer_port, state[c->state], c->fd, c->watched, c->pending,
		    c->rx_cnt, c->fwd_cnt, c->last_fwd_sent, c->out.len, c->tx_cnt, c->peer_fwd_cnt,
		    c->peer_buf_alloc, c->credit_asked ? " credit-asked" : "",
		    c->host_eof ? " host-eof" : "", c->host_wr_shut ? " host-wr-shut" : "",
		    c->guest_no_send ? " guest-no-send" : "",
		    c->guest_no_recv ? " guest-no-recv" : "");
	}
}

void vsock_mux_stats(const struct vsock_mux *m, struct vsock_stats *st)
{
	*st = m->st;
	st->conns = m->nconns;
}
