/*
 * test_vsock.c - the virtio-vsock device (src/vmm/vsock.c over the muxer in
 * src/vsock/) driven through the mmio transport by a fake guest, with real
 * Unix sockets in a temporary directory and the event loop dispatched by
 * hand with ev_run_once(). The test plays both the guest's driver (rings,
 * packets) and the host programs (listeners, CONNECT clients).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_guest.h"
#include "unit.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/mmio.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"
#include "vsock/muxer.h"
#include "vsock/packet.h"

#define RXQ VIRTIO_VSOCK_RXQ
#define TXQ VIRTIO_VSOCK_TXQ
#define EVQ VIRTIO_VSOCK_EVENTQ

#define QSZ       256
#define NRX       64       /* receive buffers kept posted */
#define RX_BASE   0x40000u /* receive buffer i at RX_BASE + i * RX_STRIDE */
#define RX_STRIDE 0x1100u
#define RX_LEN    (VSOCK_HDR_SIZE + 4096) /* what Linux posts */
#define EV_BASE   0x85000u                /* event buffers */
#define TX_HDR    0x88000u                /* header of tx slot s at TX_HDR + 64 * s */
#define TX_DATA   0x90000u                /* payload of the packet being sent (64 KiB) */
#define TX_SLOTS  (QSZ / 2)
#define GCID      3

struct t {
	struct fake_guest fg;
	struct fake_ring r[3];
	struct evloop *ev;
	struct virtio_dev *dev;
	char dir[32];
	char prefix[64];
	uint16_t rx_seen;   /* used rx entries consumed */
	uint16_t tx_posted; /* tx chains posted */
	int irqs;
	int bad_rx;     /* rx buffers whose used length disagreed with the header */
	bool no_repost; /* g_recv() does not give buffers back: the guest is busy */
};

/* What the guest knows of one of its connections. */
struct gconn {
	uint32_t gport, hport;
	uint32_t buf_alloc;              /* the guest's receive buffer, advertised */
	uint32_t fwd_cnt;                /* bytes the guest consumed, advertised */
	uint32_t tx_cnt;                 /* bytes the guest sent */
	uint32_t h_buf_alloc, h_fwd_cnt; /* the device's, from its last packet */
};

static void count_irq(void *opaque)
{
	((struct t *)opaque)->irqs++;
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void post_rx(struct t *t, uint16_t i)
{
	fr_desc(&t->fg, &t->r[RXQ], i, RX_BASE + i * RX_STRIDE, RX_LEN, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r[RXQ], i);
}

/* The driver's side of 3.1.1, three queues, receive and event buffers posted. */
static void drv_start(struct t *t, unsigned nrx)
{
	memset(fg_ptr(&t->fg, 0), 0, RX_BASE);
	t->rx_seen = t->tx_posted = 0;
	for (unsigned q = 0; q < 3; q++)
		t->r[q] = fr_make(q, QSZ);
	fg_driver_setup(t->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1), t->r, 3);
	for (uint16_t i = 0; i < nrx; i++)
		post_rx(t, i);
	for (uint16_t i = 0; i < 4; i++) {
		fr_desc(&t->fg, &t->r[EVQ], i, EV_BASE + i * 8, 4, VIRTQ_DESC_F_WRITE, 0);
		fr_post(&t->fg, &t->r[EVQ], i);
	}
	fg_driver_ok(t->dev);
}

static struct t *t_new_lim(const struct vsock_limits *lim, unsigned nrx)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fg_init(&t->fg) < 0 || ev_create(&t->ev) < 0)
		abort();
	snprintf(t->dir, sizeof(t->dir), "/tmp/lxs-vsock-XXXXXX");
	if (!mkdtemp(t->dir))
		abort();
	snprintf(t->prefix, sizeof(t->prefix), "%s/vm.sock", t->dir);
	if (virtio_vsock_create_limits(&t->dev, &t->fg.gm, t->ev, 0, t->prefix, lim) < 0)
		abort();
	virtio_dev_set_irq(t->dev, count_irq, t);
	drv_start(t, nrx);
	return t;
}

static struct t *t_new(void)
{
	return t_new_lim(NULL, NRX);
}

static void rm_dir(const char *dir)
{
	char path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);

	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		unlink(path);
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
}

static void t_free(struct t *t)
{
	virtio_vsock_destroy(t->dev);
	ev_destroy(t->ev);
	rm_dir(t->dir);
	fg_fini(&t->fg);
	free(t);
}

static struct vsock_stats stats(struct t *t)
{
	struct vsock_stats st;

	virtio_vsock_get_stats(t->dev, &st);
	return st;
}

/* Dispatch everything ready now. Returns the callbacks run (bounded: a spin fails). */
static int drain(struct t *t)
{
	int total = 0, n;

	while (total < 100000 && (n = ev_run_once(t->ev, 0)) > 0)
		total += n;
	return total;
}

/* --- the guest's side ------------------------------------------------------------ */

/* Post a tx chain: hlen header bytes, then plen payload bytes (0: no second buffer). */
static void post_tx_raw(struct t *t, const void *hdr, size_t hlen, const void *payload, size_t plen)
{
	uint16_t slot = t->tx_posted % TX_SLOTS, d = (uint16_t)(2 * slot);
	uint64_t hgpa = TX_HDR + 64ULL * slot;

	memcpy(fg_ptr(&t->fg, hgpa), hdr, hlen);
	if (plen)
		memcpy(fg_ptr(&t->fg, TX_DATA), payload, plen);
	fr_desc(&t->fg, &t->r[TXQ], d, hgpa, (uint32_t)hlen, plen ? VIRTQ_DESC_F_NEXT : 0,
		(uint16_t)(d + 1));
	if (plen)
		fr_desc(&t->fg, &t->r[TXQ], d + 1, TX_DATA, (uint32_t)plen, 0, 0);
	fr_post(&t->fg, &t->r[TXQ], d);
	t->tx_posted++;
}

/* Send one packet whose chain carries plen payload bytes; 1 if the device took it. */
static int g_send_hdr(struct t *t, const struct vsock_hdr *h, const void *payload, size_t plen)
{
	uint8_t raw[VSOCK_HDR_SIZE];

	vsock_hdr_encode(h, raw);
	post_tx_raw(t, raw, sizeof(raw), payload, plen);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	return fr_used(&t->fg, &t->r[TXQ])->idx == t->tx_posted;
}

static struct vsock_hdr g_hdr(const struct gconn *g, uint16_t op, uint32_t flags, uint32_t len)
{
	struct vsock_hdr h = {
	    .src_cid = GCID,
	    .dst_cid = VSOCK_CID_HOST,
	    .src_port = g->gport,
	    .dst_port = g->hport,
	    .len = len,
	    .type = VSOCK_TYPE_STREAM,
	    .op = op,
	    .flags = flags,
	    .buf_alloc = g->buf_alloc,
	    .fwd_cnt = g->fwd_cnt,
	};
	return h;
}

static int g_pkt(struct t *t, struct gconn *g, uint16_t op, uint32_t flags, const void *p,
		 size_t len)
{
	struct vsock_hdr h = g_hdr(g, op, flags, (uint32_t)len);

	if (op == VSOCK_OP_RW)
		g->tx_cnt += (uint32_t)len;
	return g_send_hdr(t, &h, p, len);
}

/*
 * Take the next packet the device gave the guest, waiting up to timeout_ms
 * while dispatching the event loop. The buffer is posted again at once.
 * Returns 1, or 0 if none came.
 */
static int g_recv(struct t *t, struct vsock_hdr *h, void *payload, size_t cap, int timeout_ms)
{
	int64_t deadline = ms_now() + timeout_ms;

	for (;;) {
		struct vring_used *u = fr_used(&t->fg, &t->r[RXQ]);
		uint16_t idx = __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);

		if (idx != t->rx_seen) {
			struct vring_used_elem e = u->ring[t->rx_seen % QSZ];
			const uint8_t *b = fg_ptr(&t->fg, RX_BASE + e.id * RX_STRIDE);

			t->rx_seen++;
			vsock_hdr_decode(b, h);
			if (e.len != VSOCK_HDR_SIZE + h->len || h->len > RX_LEN - VSOCK_HDR_SIZE)
				t->bad_rx++;
			if (payload)
				memcpy(payload, b + VSOCK_HDR_SIZE, h->len < cap ? h->len : cap);
			if (!t->no_repost) {
				post_rx(t, (uint16_t)e.id);
				fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
			}
			return 1;
		}
		if (ms_now() >= deadline)
			return 0;
		ev_run_once(t->ev, timeout_ms ? 2 : 0);
	}
}

/* Whether the next packet is `op` for g (and learn the device's credit). */
static int g_expect(struct t *t, struct gconn *g, uint16_t op, void *payload, size_t cap,
		    struct vsock_hdr *out)
{
	struct vsock_hdr h;

	if (!g_recv(t, &h, payload, cap, 2000))
		return 0;
	if (out)
		*out = h;
	if (h.op != op || h.src_cid != VSOCK_CID_HOST || h.dst_cid != GCID ||
	    h.type != VSOCK_TYPE_STREAM || h.dst_port != g->gport || h.src_port != g->hport)
		return 0;
	g->h_buf_alloc = h.buf_alloc;
	g->h_fwd_cnt = h.fwd_cnt;
	return 1;
}

/* Credit the device gave the guest. */
static uint32_t g_credit(const struct gconn *g)
{
	return g->h_buf_alloc - (g->tx_cnt - g->h_fwd_cnt);
}

/*
 * Send on g as much as its credit allows, learning new credit from whatever
 * the device sends g, until the device gives no more (its host peer does not
 * read) or max bytes went. Returns the bytes sent.
 */
static size_t g_fill(struct t *t, struct gconn *g, const void *data, uint32_t chunk, size_t max)
{
	struct vsock_hdr h;
	size_t sent = 0;

	for (int i = 0; i < 100000 && sent < max; i++) {
		uint32_t k = g_credit(g) < chunk ? g_credit(g) : chunk;
		bool news = false;

		if (k > max - sent)
			k = (uint32_t)(max - sent);
		if (k) {
			g_pkt(t, g, VSOCK_OP_RW, 0, data, k);
			sent += k;
		}
		drain(t);
		while (g_recv(t, &h, NULL, 0, 0)) {
			if (h.dst_port != g->gport || h.src_port != g->hport)
				continue;
			if (h.op == VSOCK_OP_RST)
				return sent;
			news = true;
			g->h_fwd_cnt = h.fwd_cnt;
			g->h_buf_alloc = h.buf_alloc;
		}
		if (!k && !news)
			break;
	}
	return sent;
}

/* --- the host's side -------------------------------------------------------------- */

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A host service listening for guest connections to port `port`. */
static int h_listen(struct t *t, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", t->prefix, port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0)
		abort();
	set_nonblock(fd);
	return fd;
}

static int h_accept(struct t *t, int lfd)
{
	int fd;

	for (int i = 0; i < 1000; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			return fd;
		ev_run_once(t->ev, 2);
	}
	return -1;
}

/* A host program connecting to the device's listener. */
static int h_client(struct t *t)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->prefix);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	set_nonblock(fd);
	return fd;
}

/* Read up to len bytes from a host socket, dispatching the loop meanwhile. */
static ssize_t h_read(struct t *t, int fd, void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = ms_now() + timeout_ms;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return n;
		if (ms_now() >= deadline)
			return -2;
		ev_run_once(t->ev, 2);
	}
}

static int h_read_exact(struct t *t, int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = h_read(t, fd, (char *)buf + got, len - got, timeout_ms);
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

/* Whether the host socket reaches EOF (or reset) within timeout_ms, discarding data. */
static int h_closed(struct t *t, int fd, int timeout_ms)
{
	char buf[4096];
	ssize_t n;

	do
		n = h_read(t, fd, buf, sizeof(buf), timeout_ms);
	while (n > 0);
	return n == 0 || n == -1;
}

static int h_write_all(int fd, const void *p, size_t len)
{
	return write(fd, p, len) == (ssize_t)len;
}

/* A guest connection to host port `port` accepted by listener lfd; returns the host fd. */
static int g_connect(struct t *t, struct gconn *g, uint32_t gport, uint32_t port, int lfd)
{
	memset(g, 0, sizeof(*g));
	g->gport = gport;
	g->hport = port;
	g->buf_alloc = 256 * 1024;
	g_pkt(t, g, VSOCK_OP_REQUEST, 0, NULL, 0);
	if (!g_expect(t, g, VSOCK_OP_RESPONSE, NULL, 0, NULL))
		return -1;
	return h_accept(t, lfd);
}

/* --- device basics ------------------------------------------------------------------ */

static void t_config(struct unit *u)
{
	struct evloop *ev;
	struct virtio_dev *dev;
	struct fake_guest fg;
	uint64_t cid = 0;
	uint32_t v;

	struct t *t = t_new();
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_VSOCK);
	virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + VIRTIO_VSOCK_CFG_GUEST_CID, &cid, 8);
	CHECK(u, cid == 3);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_VSOCK_F_STREAM));
	CHECK(u, !(fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_FEATURES) &
		   (1u << VIRTIO_VSOCK_F_SEQPACKET)));
	for (unsigned q = 0; q < 4; q++) {
		fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_SEL, q);
		v = fg_mmio_rd(t->dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
		CHECK(u, q < 3 ? v > 0 : v == 0);
	}
	/* Linux's driver fills the event queue: the device must leave it be. */
	drain(t);
	CHECK(u, fr_used(&t->fg, &t->r[EVQ])->idx == 0);
	t_free(t);

	/* Another CID; the special ones are refused. */
	fg_init(&fg);
	ev_create(&ev);
	CHECK(u, virtio_vsock_create(&dev, &fg.gm, ev, 42, NULL) == 0);
	virtio_mmio_read(dev, VIRTIO_MMIO_CONFIG + VIRTIO_VSOCK_CFG_GUEST_CID, &cid, 8);
	CHECK(u, cid == 42);
	virtio_vsock_destroy(dev);
	CHECK(u, virtio_vsock_create(&dev, &fg.gm, ev, 2, NULL) == -EINVAL);
	CHECK(u, virtio_vsock_create(&dev, &fg.gm, ev, 1ULL << 32, NULL) == -EINVAL);
	ev_destroy(ev);
	fg_fini(&fg);
}

/* The listener: mode 0600 whatever the umask, stale files replaced, live ones kept. */
static void t_listener_file(struct unit *u)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/lxs-vsock-XXXXXX", path[64], longpath[128];
	struct fake_guest fg;
	struct virtio_dev *dev, *dev2;
	struct evloop *ev;
	struct stat st;
	mode_t old;
	int fd;

	fg_init(&fg);
	ev_create(&ev);
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/vm.sock", dir);

	/* A stale socket file: bound, then its owner died. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK(u, bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);

	old = umask(0);
	if (virtio_vsock_create(&dev, &fg.gm, ev, 3, path) != 0) {
		umask(old);
		CHECK(u, !"a stale socket file is replaced");
		goto out;
	}
	umask(old);
	CHECK(u, lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600);
	/* A live one belongs to someone else. */
	CHECK(u, virtio_vsock_create(&dev2, &fg.gm, ev, 3, path) == -EADDRINUSE);
	virtio_vsock_destroy(dev);
	CHECK(u, lstat(path, &st) < 0 && errno == ENOENT);

	/* Not a socket: never removed. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CHECK(u, virtio_vsock_create(&dev, &fg.gm, ev, 3, path) == -EEXIST);
	CHECK(u, lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	unlink(path);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	CHECK(u, virtio_vsock_create(&dev, &fg.gm, ev, 3, longpath) == -ENAMETOOLONG);
out:
	unlink(path);
	rmdir(dir);
	ev_destroy(ev);
	fg_fini(&fg);
}

/* --- guest-initiated connections -------------------------------------------------------- */

static void t_guest_connect(struct unit *u)
{
	struct t *t = t_new();
	int lfd = h_listen(t, 1234), hfd;
	struct vsock_hdr h;
	struct gconn g;
	char buf[64];

	hfd = g_connect(t, &g, 5000, 1234, lfd);
	CHECK(u, hfd >= 0);
	CHECK(u, g.h_buf_alloc == 256 * 1024 && g.h_fwd_cnt == 0);
	CHECK(u, stats(t).conns == 1);

	/* Both ways. */
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RW, 0, "hello host", 10));
	CHECK(u, h_read_exact(t, hfd, buf, 10, 1000) && !memcmp(buf, "hello host", 10));
	CHECK(u, h_write_all(hfd, "hello guest", 11));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RW, buf, sizeof(buf), &h));
	CHECK(u, h.len == 11 && !memcmp(buf, "hello guest", 11));
	CHECK(u, t->irqs > 0 && t->bad_rx == 0);

	/* The guest closes: SHUTDOWN both ways, the device answers RST, the host sees EOF. */
	CHECK(u,
	      g_pkt(t, &g, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RST, NULL, 0, NULL));
	CHECK(u, h_closed(t, hfd, 1000));
	CHECK(u, stats(t).conns == 0);
	CHECK(u, !fg_needs_reset(t->dev));
	close(hfd);
	close(lfd);
	t_free(t);
}

static void t_guest_connect_missing(struct unit *u)
{
	struct t *t = t_new();
	struct gconn g = {.gport = 5001, .hport = 999, .buf_alloc = 4096};

	CHECK(u, g_pkt(t, &g, VSOCK_OP_REQUEST, 0, NULL, 0));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RST, NULL, 0, NULL));
	CHECK(u, stats(t).conns == 0);
	/* Data for a connection that does not exist: RST too. */
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RW, 0, "x", 1));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RST, NULL, 0, NULL));
	/* An RST for nothing is not answered: no ping-pong. */
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RST, 0, NULL, 0));
	CHECK(u, !g_recv(t, &(struct vsock_hdr){0}, NULL, 0, 50));
	t_free(t);
}

/* --- host-initiated connections ----------------------------------------------------------- */

/* The guest's answer to the REQUEST a CONNECT line caused. */
static int host_connect(struct t *t, struct gconn *g, int cfd, uint32_t gport, const char *extra)
{
	char line[64];
	struct vsock_hdr h;

	memset(g, 0, sizeof(*g));
	snprintf(line, sizeof(line), "CONNECT %u\n%s", gport, extra);
	if (!h_write_all(cfd, line, strlen(line)))
		return 0;
	if (!g_recv(t, &h, NULL, 0, 2000) || h.op != VSOCK_OP_REQUEST || h.dst_port != gport ||
	    h.src_cid != VSOCK_CID_HOST || h.dst_cid != GCID)
		return 0;
	g->gport = gport;
	g->hport = h.src_port;
	g->buf_alloc = 256 * 1024;
	g->h_buf_alloc = h.buf_alloc;
	return h.src_port >= VSOCK_EPHEMERAL_MIN && h.src_port < VSOCK_EPHEMERAL_MAX;
}

static void t_host_connect(struct unit *u)
{
	struct t *t = t_new();
	int cfd = h_client(t);
	char buf[64], want[64];
	struct vsock_hdr h;
	struct gconn g;

	/* Stream bytes sent right after the line must not be eaten by the handshake. */
	CHECK(u, host_connect(t, &g, cfd, 52, "early"));
	CHECK(u, h_read(t, cfd, buf, sizeof(buf), 50) == -2); /* nothing before the guest answers */
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RESPONSE, 0, NULL, 0));
	snprintf(want, sizeof(want), "OK %u\n", g.hport);
	CHECK(u, h_read_exact(t, cfd, buf, strlen(want), 1000) && !memcmp(buf, want, strlen(want)));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RW, buf, sizeof(buf), &h));
	CHECK(u, h.len == 5 && !memcmp(buf, "early", 5));
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RW, 0, "pong", 4));
	CHECK(u, h_read_exact(t, cfd, buf, 4, 1000) && !memcmp(buf, "pong", 4));

	/* A second client gets another host port. */
	{
		int c2 = h_client(t);
		struct gconn g2;

		CHECK(u, host_connect(t, &g2, c2, 52, ""));
		CHECK(u, g2.hport != g.hport);
		close(c2);
	}
	CHECK(u, !fg_needs_reset(t->dev));
	close(cfd);
	t_free(t);
}

static void t_host_connect_refused(struct unit *u)
{
	struct t *t = t_new();
	int cfd = h_client(t);
	struct gconn g;

	CHECK(u, host_connect(t, &g, cfd, 77, ""));
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RST, 0, NULL, 0));
	CHECK(u, h_closed(t, cfd, 1000));
	CHECK(u, stats(t).conns == 0);
	close(cfd);
	t_free(t);
}

static void t_host_connect_timeout(struct unit *u)
{
	struct vsock_limits lim;
	struct t *t;
	int cfd, idle;
	struct gconn g;
	int64_t start;

	vsock_limits_default(&lim);
	lim.connect_timeout_ms = 100;
	t = t_new_lim(&lim, NRX);
	cfd = h_client(t);
	idle = h_client(t); /* never sends its line */
	start = ms_now();
	CHECK(u, host_connect(t, &g, cfd, 78, ""));
	/* The guest never answers: the client is closed, the guest told. */
	CHECK(u, h_closed(t, cfd, 2000));
	CHECK(u, ms_now() - start >= 90);
	CHECK(u, g_expect(t, &g, VSOCK_OP_RST, NULL, 0, NULL));
	CHECK(u, h_closed(t, idle, 2000));
	CHECK(u, stats(t).conns == 0);
	close(cfd);
	close(idle);
	t_free(t);

	/*
	 * The guest has no receive buffer, so the REQUEST never reaches it: at
	 * the timeout there is nothing to tell the guest, no RST.
	 */
	t = t_new_lim(&lim, 0);
	cfd = h_client(t);
	CHECK(u, h_write_all(cfd, "CONNECT 79\n", 11));
	CHECK(u, h_closed(t, cfd, 2000));
	CHECK(u, drain(t) < 10);
	for (uint16_t i = 0; i < NRX; i++)
		post_rx(t, i);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, !g_recv(t, &(struct vsock_hdr){0}, NULL, 0, 50));
	CHECK(u, stats(t).rst_sent == 0 && stats(t).conns == 0);
	close(cfd);
	t_free(t);
}

static void t_bad_connect_lines(struct unit *u)
{
	static const char *bad[] = {
	    "CONNECT abc\n",
	    "CONNECT 4294967295\n",  /* VMADDR_PORT_ANY */
	    "CONNECT 99999999999\n", /* beyond 32 bits */
	    "CONNECT 4294967296\n",
	    "CONNECT\n",
	    "CONNECT \n",
	    "CONNECT -1\n",
	    "CONNECT +5\n",
	    "CONNECT 5 \n",
	    "CONNECT 5\r\n",
	    "connect 5\n",
	    "CONNEC 5\n",
	    "\n",
	    "CONNECT 1234567890123456789012345678901234567890", /* too long, no newline */
	};
	struct t *t = t_new();
	struct vsock_hdr h;
	char buf[8];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int cfd = h_client(t);

		CHECK(u, h_write_all(cfd, bad[i], strlen(bad[i])));
		CHECK(u, h_closed(t, cfd, 1000));
		close(cfd);
	}
	CHECK(u, !g_recv(t, &h, NULL, 0, 20)); /* no REQUEST reached the guest */
	CHECK(u, stats(t).conns == 0);

	/* A line in pieces is fine, and so is the largest port. */
	{
		int cfd = h_client(t);

		CHECK(u, h_write_all(cfd, "CONN", 4));
		CHECK(u, drain(t) < 10); /* partial lines are consumed, not re-polled forever */
		CHECK(u, h_write_all(cfd, "ECT 4294967294\n", 15));
		CHECK(u, g_recv(t, &h, NULL, 0, 1000) && h.op == VSOCK_OP_REQUEST &&
			     h.dst_port == 4294967294u);
		CHECK(u, h_read(t, cfd, buf, sizeof(buf), 20) == -2);
		close(cfd);
	}
	t_free(t);
}

/* --- the boundary ------------------------------------------------------------------------ */

static void t_header_validation(struct unit *u)
{
	struct t *t = t_new();
	int lfd = h_listen(t, 1234), hfd;
	struct vsock_stats st;
	struct vsock_hdr h;
	struct gconn g, x = {.gport = 6000, .hport = 1234, .buf_alloc = 4096};
	static uint8_t big[VSOCK_MAX_PAYLOAD + 8];

	hfd = g_connect(t, &g, 5000, 1234, lfd);
	CHECK(u, hfd >= 0);

	/* Wrong CIDs: dropped without a word (answering would speak for someone else). */
	h = g_hdr(&x, VSOCK_OP_REQUEST, 0, 0);
	h.src_cid = 4;
	CHECK(u, g_send_hdr(t, &h, NULL, 0));
	h = g_hdr(&x, VSOCK_OP_REQUEST, 0, 0);
	h.src_cid = GCID | (1ULL << 32); /* only the low half right */
	CHECK(u, g_send_hdr(t, &h, NULL, 0));
	h = g_hdr(&x, VSOCK_OP_REQUEST, 0, 0);
	h.dst_cid = 7;
	CHECK(u, g_send_hdr(t, &h, NULL, 0));
	h = g_hdr(&x, VSOCK_OP_REQUEST, 0, 0);
	h.src_port = VSOCK_PORT_ANY;
	CHECK(u, g_send_hdr(t, &h, NULL, 0));
	CHECK(u, !g_recv(t, &h, NULL, 0, 20));
	st = stats(t);
	CHECK(u, st.bad_cid == 3 && st.bad_port == 1 && st.dropped == 4 && st.conns == 1);

	/* Type and op: answered RST, like Linux does. */
	h = g_hdr(&x, VSOCK_OP_REQUEST, 0, 0);
	h.type = VSOCK_TYPE_SEQPACKET;
	CHECK(u, g_send_hdr(t, &h, NULL, 0));
	CHECK(u, g_expect(t, &x, VSOCK_OP_RST, NULL, 0, NULL));
	h = g_hdr(&x, VSOCK_OP_INVALID, 0, 0);
	CHECK(u, g_send_hdr(t, &h, NULL, 0));
	CHECK(u, g_expect(t, &x, VSOCK_OP_RST, NULL, 0, NULL));
	h = g_hdr(&x, 8, 0, 0);
	CHECK(u, g_send_hdr(t, &h, NULL, 0));
	CHECK(u, g_expect(t, &x, VSOCK_OP_RST, NULL, 0, NULL));
	h = g_hdr(&x, 0xffff, 0, 0);
	CHECK(u, g_send_hdr(t, &h, NULL, 0));
	CHECK(u, g_expect(t, &x, VSOCK_OP_RST, NULL, 0, NULL));

	/* len: above the maximum, or above what the chain carries. */
	h = g_hdr(&x, VSOCK_OP_REQUEST, 0, VSOCK_MAX_PAYLOAD + 1);
	CHECK(u, g_send_hdr(t, &h, big, VSOCK_MAX_PAYLOAD + 8));
	CHECK(u, g_expect(t, &x, VSOCK_OP_RST, NULL, 0, NULL));
	h = g_hdr(&x, VSOCK_OP_REQUEST, 0, 100);
	CHECK(u, g_send_hdr(t, &h, big, 99));
	CHECK(u, g_expect(t, &x, VSOCK_OP_RST, NULL, 0, NULL));
	st = stats(t);
	CHECK(u, st.bad_type == 1 && st.bad_op == 3 && st.bad_len == 2 && st.dropped == 10);
	CHECK(u, st.conns == 1); /* none of these touched the open connection */

	/* A short packet on the open connection: its stream would be corrupt, so RST. */
	h = g_hdr(&g, VSOCK_OP_RW, 0, 10);
	CHECK(u, g_send_hdr(t, &h, "12345", 5));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RST, NULL, 0, NULL));
	CHECK(u, h_closed(t, hfd, 1000));
	CHECK(u, stats(t).conns == 0);
	CHECK(u, !fg_needs_reset(t->dev));

	/* A chain too short to hold a header is a broken driver: needs-reset. */
	post_tx_raw(t, "short", 5, NULL, 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	CHECK(u, fg_needs_reset(t->dev));
	CHECK(u, t->bad_rx == 0);
	close(hfd);
	close(lfd);
	t_free(t);
}

/* An rx buffer that cannot hold a header is a broken driver too. */
static void t_rx_buffer_too_small(struct unit *u)
{
	struct t *t = t_new_lim(NULL, 0);
	struct gconn g = {.gport = 1, .hport = 2};

	fr_desc(&t->fg, &t->r[RXQ], 0, RX_BASE, VSOCK_HDR_SIZE - 1, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r[RXQ], 0);
	CHECK(u, g_pkt(t, &g, VSOCK_OP_REQUEST, 0, NULL, 0)); /* to port 2: RST queued */
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, fg_needs_reset(t->dev));
	CHECK(u, fr_used(&t->fg, &t->r[RXQ])->idx == 0);
	t_free(t);
}

/* --- flow control ----------------------------------------------------------------------------- */

/* The guest advertises little buffer space: the device never sends more than that. */
static void t_credit_to_guest(struct unit *u)
{
	enum { TOTAL = 5000, GBUF = 1000 };
	struct t *t = t_new();
	int lfd = h_listen(t, 1234), hfd;
	static uint8_t data[TOTAL], got[TOTAL];
	uint32_t received = 0;
	struct vsock_hdr h;
	struct gconn g;
	int requests = 0;

	for (int i = 0; i < TOTAL; i++)
		data[i] = (uint8_t)(i * 13 + 7);
	memset(&g, 0, sizeof(g));
	g.gport = 5000;
	g.hport = 1234;
	g.buf_alloc = GBUF;
	g_pkt(t, &g, VSOCK_OP_REQUEST, 0, NULL, 0);
	CHECK(u, g_expect(t, &g, VSOCK_OP_RESPONSE, NULL, 0, NULL));
	hfd = h_accept(t, lfd);
	CHECK(u, hfd >= 0 && h_write_all(hfd, data, TOTAL));

	while (received < TOTAL) {
		if (!g_recv(t, &h, got + received, TOTAL - received, 200))
			break;
		if (h.op == VSOCK_OP_CREDIT_REQUEST) {
			requests++;
			/* Before answering, the device must stay quiet: no credit, */
			CHECK(u, !g_recv(t, &h, NULL, 0, 30));
			/* and it must not spin on the socket it cannot read. */
			CHECK(u, drain(t) < 10);
			/* The guest's application read everything so far. */
			g.fwd_cnt = received;
			g_pkt(t, &g, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
			continue;
		}
		CHECK(u, h.op == VSOCK_OP_RW);
		received += h.len;
		/* Never beyond what the guest advertised. */
		CHECK(u, received - g.fwd_cnt <= GBUF);
	}
	CHECK(u, received == TOTAL && !memcmp(got, data, TOTAL));
	CHECK(u, requests >= 4);

	/* A guest claiming to have forwarded more than it got gets no credit either. */
	g.fwd_cnt = received + 100000;
	g_pkt(t, &g, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	CHECK(u, h_write_all(hfd, "more", 4));
	CHECK(u, g_recv(t, &h, NULL, 0, 200) && h.op == VSOCK_OP_CREDIT_REQUEST);
	CHECK(u, !g_recv(t, &h, NULL, 0, 30));
	close(hfd);
	close(lfd);
	t_free(t);
}

/* Guest -> host with a slow host reader: the credit the device gives is kept exactly. */
static void t_credit_to_host(struct unit *u)
{
	enum { TOTAL = 1 << 20, CHUNK = 16384, DBUF = 32768 };
	struct vsock_limits lim;
	struct t *t;
	int lfd, hfd;
	static uint8_t data[TOTAL], got[TOTAL];
	size_t sent = 0, have = 0;
	struct vsock_hdr h;
	struct gconn g;
	ssize_t n;

	vsock_limits_default(&lim);
	lim.buf_alloc = DBUF;
	t = t_new_lim(&lim, NRX);
	lfd = h_listen(t, 1234);
	for (int i = 0; i < TOTAL; i++)
		data[i] = (uint8_t)(i ^ (i >> 9));
	hfd = g_connect(t, &g, 5000, 1234, lfd);
	CHECK(u, hfd >= 0 && g.h_buf_alloc == DBUF);

	while (have < TOTAL) {
		/* The guest sends what its credit allows... */
		while (sent < TOTAL && g_credit(&g) > 0) {
			size_t k = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;

			if (k > g_credit(&g))
				k = g_credit(&g);
			CHECK(u, g_pkt(t, &g, VSOCK_OP_RW, 0, data + sent, k));
			sent += k;
		}
		/* ... the host reads slowly, the device tells the guest about the space. */
		n = recv(hfd, got + have, 3000, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
		drain(t);
		while (g_recv(t, &h, NULL, 0, 0)) {
			CHECK(u, h.op == VSOCK_OP_CREDIT_UPDATE && h.dst_port == g.gport);
			g.h_fwd_cnt = h.fwd_cnt;
		}
		if (n <= 0 && g_credit(&g) == 0 && sent < TOTAL &&
		    h_read(t, hfd, got + have, 1, 1000) <= 0)
			break;
	}
	CHECK(u, have == TOTAL && !memcmp(got, data, TOTAL));
	CHECK(u, stats(t).buffered == 0 && stats(t).protocol == 0);

	/* Beyond its credit, the guest's connection is reset. */
	for (int i = 0; i < 1000 && !stats(t).protocol; i++)
		g_pkt(t, &g, VSOCK_OP_RW, 0, data, CHUNK);
	CHECK(u, stats(t).protocol == 1);
	while (g_recv(t, &h, NULL, 0, 1000) && h.op == VSOCK_OP_CREDIT_UPDATE)
		g.h_fwd_cnt = h.fwd_cnt;
	CHECK(u, h.op == VSOCK_OP_RST && h.dst_port == g.gport);
	CHECK(u, (uint32_t)(g.tx_cnt - g.h_fwd_cnt) > DBUF); /* the guest really overdrew */
	CHECK(u, stats(t).buffered == 0 && stats(t).conns == 0);
	close(hfd);
	close(lfd);
	t_free(t);
}

/* A host peer that never reads blocks only its own connection. */
static void t_stuck_peer(struct unit *u)
{
	enum { CHUNK = 32768 };
	struct vsock_limits lim;
	struct t *t;
	int lfd, stuck, ok;
	static uint8_t data[CHUNK];
	size_t sent = 0;
	struct vsock_hdr h;
	struct gconn a, b;
	char buf[16];

	vsock_limits_default(&lim);
	lim.buf_alloc = 128 * 1024;
	t = t_new_lim(&lim, NRX);
	lfd = h_listen(t, 1234);
	stuck = g_connect(t, &a, 5000, 1234, lfd);
	ok = g_connect(t, &b, 5001, 1234, lfd);
	CHECK(u, stuck >= 0 && ok >= 0);

	/* Fill a's socket and then its buffer, as far as credit goes. */
	sent = g_fill(t, &a, data, CHUNK, 64u << 20);
	CHECK(u, g_credit(&a) == 0);
	CHECK(u, stats(t).buffered > 0 && stats(t).buffered <= lim.buf_alloc);
	CHECK(u, sent > lim.buf_alloc);

	/* b is unaffected, both ways. */
	CHECK(u, g_pkt(t, &b, VSOCK_OP_RW, 0, "via b", 5));
	CHECK(u, h_read_exact(t, ok, buf, 5, 1000) && !memcmp(buf, "via b", 5));
	CHECK(u, h_write_all(ok, "back", 4));
	CHECK(u, g_expect(t, &b, VSOCK_OP_RW, buf, sizeof(buf), &h) && !memcmp(buf, "back", 4));
	/* So are new connections. */
	{
		struct gconn c;
		int cfd = g_connect(t, &c, 5002, 1234, lfd);

		CHECK(u, cfd >= 0);
		close(cfd);
	}
	CHECK(u, !fg_needs_reset(t->dev));
	close(stuck);
	close(ok);
	close(lfd);
	t_free(t);
}

/* A host socket with data while the guest has no receive buffer: wait quietly. */
static void t_no_rx_buffers(struct unit *u)
{
	struct t *t = t_new_lim(NULL, 1);
	int lfd = h_listen(t, 1234), hfd;
	struct vsock_hdr h;
	struct gconn g;
	char buf[8];

	/* The RESPONSE takes the guest's only buffer. */
	t->no_repost = true;
	hfd = g_connect(t, &g, 5000, 1234, lfd);
	CHECK(u, hfd >= 0);
	CHECK(u, h_write_all(hfd, "wait", 4));
	CHECK(u, drain(t) < 10); /* no busy loop on the readable socket */
	CHECK(u, !g_recv(t, &h, NULL, 0, 20));
	/* A buffer comes back: the data follows. */
	t->no_repost = false;
	post_rx(t, 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, g_expect(t, &g, VSOCK_OP_RW, buf, sizeof(buf), &h) && !memcmp(buf, "wait", 4));
	close(hfd);
	close(lfd);
	t_free(t);
}

/* --- shutdown and disappearing peers --------------------------------------------------------- */

static void t_host_peer_closes(struct unit *u)
{
	struct t *t = t_new();
	int lfd = h_listen(t, 1234), hfd;
	struct vsock_hdr h;
	struct gconn g;
	char buf[16];

	/* Half close: the host is done sending but still reads. */
	hfd = g_connect(t, &g, 5000, 1234, lfd);
	CHECK(u, h_write_all(hfd, "last", 4) && shutdown(hfd, SHUT_WR) == 0);
	CHECK(u, g_expect(t, &g, VSOCK_OP_RW, buf, sizeof(buf), &h) && !memcmp(buf, "last", 4));
	CHECK(u, g_expect(t, &g, VSOCK_OP_SHUTDOWN, NULL, 0, &h));
	CHECK(u, h.flags == VSOCK_SHUTDOWN_SEND);
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RW, 0, "still", 5));
	CHECK(u, h_read_exact(t, hfd, buf, 5, 1000) && !memcmp(buf, "still", 5));
	close(hfd);

	/* The host peer vanishes: SHUTDOWN both ways (Linux then resets itself). */
	hfd = g_connect(t, &g, 5001, 1234, lfd);
	CHECK(u, h_write_all(hfd, "bye", 3));
	close(hfd);
	CHECK(u, g_expect(t, &g, VSOCK_OP_RW, buf, sizeof(buf), &h) && !memcmp(buf, "bye", 3));
	CHECK(u, g_expect(t, &g, VSOCK_OP_SHUTDOWN, NULL, 0, &h));
	CHECK(u, h.flags == (VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV));
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RST, 0, NULL, 0));
	CHECK(u, stats(t).conns == 1);

	/* The host peer vanishes while the guest sends: EPIPE -> RST. */
	hfd = g_connect(t, &g, 5002, 1234, lfd);
	close(hfd);
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RW, 0, "lost", 4));
	for (int i = 0; i < 10; i++) {
		CHECK(u, g_recv(t, &h, NULL, 0, 1000));
		if (h.op == VSOCK_OP_RST)
			break;
		/* The EOF may be noticed first. */
		CHECK(u, h.op == VSOCK_OP_SHUTDOWN);
	}
	CHECK(u, h.op == VSOCK_OP_RST && h.dst_port == 5002);
	CHECK(u, drain(t) < 10);
	close(lfd);
	t_free(t);
}

static void t_guest_shutdown(struct unit *u)
{
	struct vsock_limits lim;
	struct t *t;
	int lfd, hfd;
	static uint8_t data[32768];
	struct vsock_hdr h;
	struct gconn g;
	char buf[16];
	size_t sent = 0, have = 0;
	int64_t start;

	vsock_limits_default(&lim);
	lim.close_timeout_ms = 100;
	lim.buf_alloc = 64 * 1024;
	t = t_new_lim(&lim, NRX);
	lfd = h_listen(t, 1234);

	/* SHUTDOWN SEND: the host reads EOF, and may still write. */
	hfd = g_connect(t, &g, 5000, 1234, lfd);
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RW, 0, "abc", 3));
	CHECK(u, g_pkt(t, &g, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, NULL, 0));
	CHECK(u, h_read_exact(t, hfd, buf, 3, 1000) && !memcmp(buf, "abc", 3));
	CHECK(u, h_read(t, hfd, buf, sizeof(buf), 1000) == 0);
	CHECK(u, h_write_all(hfd, "xyz", 3));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RW, buf, sizeof(buf), &h) && !memcmp(buf, "xyz", 3));
	/* Data after SHUTDOWN SEND breaks the protocol. */
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RW, 0, "no", 2));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RST, NULL, 0, NULL));
	close(hfd);

	/* SHUTDOWN RCV: the host's writes fail. */
	hfd = g_connect(t, &g, 5001, 1234, lfd);
	CHECK(u, g_pkt(t, &g, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV, NULL, 0));
	drain(t);
	CHECK(u, write(hfd, "x", 1) < 0 && errno == EPIPE);
	CHECK(u, !g_recv(t, &h, NULL, 0, 20));
	close(hfd);
	CHECK(u, g_pkt(t, &g, VSOCK_OP_RST, 0, NULL, 0));

	/* A close with data the host has not read: flushed, then EOF and RST. */
	hfd = g_connect(t, &g, 5002, 1234, lfd);
	sent = g_fill(t, &g, data, sizeof(data), 64u << 20);
	CHECK(u, stats(t).buffered > 0);
	CHECK(u,
	      g_pkt(t, &g, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0));
	CHECK(u, !g_recv(t, &h, NULL, 0, 20)); /* no RST while data is pending */
	for (;;) {
		ssize_t n = h_read(t, hfd, buf, sizeof(buf), 1000);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	CHECK(u, have == sent);
	CHECK(u, g_expect(t, &g, VSOCK_OP_RST, NULL, 0, NULL));
	close(hfd);

	/* A close whose host peer never reads: RST after close_timeout_ms. */
	hfd = g_connect(t, &g, 5003, 1234, lfd);
	g_fill(t, &g, data, sizeof(data), 64u << 20);
	CHECK(u, stats(t).buffered > 0);
	start = ms_now();
	CHECK(u,
	      g_pkt(t, &g, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0));
	CHECK(u, g_expect(t, &g, VSOCK_OP_RST, NULL, 0, NULL));
	CHECK(u, ms_now() - start >= 90);
	CHECK(u, stats(t).conns == 0 && stats(t).buffered == 0);
	close(hfd);
	close(lfd);
	t_free(t);
}

/* --- scale and limits ------------------------------------------------------------------------- */

static void t_many_connections(struct unit *u)
{
	enum { N = 500 };
	struct t *t = t_new();
	int lfd = h_listen(t, 1234);
	static struct gconn g[N];
	static int hfd[N];
	struct vsock_hdr h;
	char buf[64], want[64];
	int ok = 0, seen[N] = {0};

	/* Connect all of them before anything else happens. */
	for (int i = 0; i < N; i++) {
		memset(&g[i], 0, sizeof(g[i]));
		g[i].gport = 10000 + (uint32_t)i;
		g[i].hport = 1234;
		g[i].buf_alloc = 65536;
		CHECK(u, g_pkt(t, &g[i], VSOCK_OP_REQUEST, 0, NULL, 0));
	}
	for (int i = 0; i < N; i++)
		ok += g_recv(t, &h, NULL, 0, 1000) && h.op == VSOCK_OP_RESPONSE &&
		      h.dst_port == 10000u + (unsigned)i;
	CHECK(u, ok == N);
	CHECK(u, stats(t).conns == N);

	/* Each says who it is; the host learns which socket is which. */
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "conn %03d", i);
		CHECK(u, g_pkt(t, &g[i], VSOCK_OP_RW, 0, buf, 8));
	}
	for (int i = 0; i < N; i++) {
		int fd = h_accept(t, lfd), k = -1;

		CHECK(u, fd >= 0 && h_read_exact(t, fd, buf, 8, 1000));
		buf[8] = 0;
		if (sscanf(buf, "conn %d", &k) != 1 || k < 0 || k >= N || seen[k]) {
			CHECK(u, !"bad greeting");
			close(fd);
			continue;
		}
		seen[k] = 1;
		hfd[k] = fd;
	}
	/* Replies find their way back to the right guest port. */
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "reply %03d", i);
		CHECK(u, h_write_all(hfd[i], buf, 9));
	}
	ok = 0;
	for (int i = 0; i < N; i++) {
		if (!g_recv(t, &h, buf, sizeof(buf), 1000) || h.op != VSOCK_OP_RW || h.len != 9)
			continue;
		snprintf(want, sizeof(want), "reply %03u", h.dst_port - 10000);
		ok += !memcmp(buf, want, 9) && h.src_port == 1234;
	}
	CHECK(u, ok == N);
	/* And all close. */
	for (int i = 0; i < N; i++)
		CHECK(u, g_pkt(t, &g[i], VSOCK_OP_SHUTDOWN,
			       VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0));
	ok = 0;
	for (int i = 0; i < N; i++)
		ok += g_recv(t, &h, NULL, 0, 1000) && h.op == VSOCK_OP_RST;
	CHECK(u, ok == N);
	ok = 0;
	for (int i = 0; i < N; i++) {
		ok += h_closed(t, hfd[i], 1000);
		close(hfd[i]);
	}
	CHECK(u, ok == N);
	CHECK(u, stats(t).conns == 0 && stats(t).buffered == 0);
	CHECK(u, t->bad_rx == 0);
	close(lfd);
	t_free(t);
}

static void t_conn_limit(struct unit *u)
{
	struct vsock_limits lim;
	struct t *t;
	int lfd, hfd[3], cfd[2];
	struct vsock_hdr h;
	struct gconn g[4];

	vsock_limits_default(&lim);
	lim.max_conns = 4;
	t = t_new_lim(&lim, NRX);
	lfd = h_listen(t, 1234);
	for (int i = 0; i < 3; i++)
		CHECK(u, (hfd[i] = g_connect(t, &g[i], 100 + (uint32_t)i, 1234, lfd)) >= 0);
	/* A pending host client counts too. */
	cfd[0] = h_client(t);
	CHECK(u, host_connect(t, &g[3], cfd[0], 9, ""));
	CHECK(u, stats(t).conns == 4);
	/* Full: the guest gets RST, a new client is closed. */
	memset(&g[3], 0, sizeof(g[3]));
	g[3].gport = 200;
	g[3].hport = 1234;
	CHECK(u, g_pkt(t, &g[3], VSOCK_OP_REQUEST, 0, NULL, 0));
	CHECK(u, g_expect(t, &g[3], VSOCK_OP_RST, NULL, 0, NULL));
	cfd[1] = h_client(t);
	CHECK(u, h_closed(t, cfd[1], 1000));
	CHECK(u, stats(t).refused == 2);
	/* One leaves, one more fits. */
	CHECK(u, g_pkt(t, &g[0], VSOCK_OP_RST, 0, NULL, 0));
	CHECK(u, g_pkt(t, &g[3], VSOCK_OP_REQUEST, 0, NULL, 0));
	CHECK(u, g_recv(t, &h, NULL, 0, 1000) && h.op == VSOCK_OP_RESPONSE);
	for (int i = 0; i < 3; i++)
		close(hfd[i]);
	close(cfd[0]);
	close(cfd[1]);
	close(lfd);
	t_free(t);
}

/* The total of buffered bytes is bounded: the connection that would pass it is reset. */
static void t_buffer_limit(struct unit *u)
{
	enum { CHUNK = 32768 };
	struct vsock_limits lim;
	struct t *t;
	int lfd, hfd[2];
	static uint8_t data[CHUNK];
	struct gconn g[2];

	vsock_limits_default(&lim);
	lim.buf_alloc = 256 * 1024;
	lim.max_buffered = 256 * 1024; /* less than two full buffers */
	t = t_new_lim(&lim, NRX);
	lfd = h_listen(t, 1234);
	for (int i = 0; i < 2; i++)
		hfd[i] = g_connect(t, &g[i], 300 + (uint32_t)i, 1234, lfd);
	/* The first fills its whole buffer, the second cannot get any. */
	g_fill(t, &g[0], data, CHUNK, 64u << 20);
	CHECK(u, stats(t).refused == 0 && stats(t).buffered == lim.buf_alloc);
	g_fill(t, &g[1], data, CHUNK, 64u << 20);
	CHECK(u, stats(t).refused == 1);
	CHECK(u, stats(t).buffered <= lim.max_buffered);
	CHECK(u, stats(t).conns == 1);
	for (int i = 0; i < 2; i++)
		close(hfd[i]);
	close(lfd);
	t_free(t);
}

/* The driver resets the device: every connection goes, the listener stays. */
static void t_reset(struct unit *u)
{
	struct t *t = t_new();
	int lfd = h_listen(t, 1234), hfd, cfd;
	struct gconn g;

	hfd = g_connect(t, &g, 5000, 1234, lfd);
	cfd = h_client(t);
	CHECK(u, host_connect(t, &g, cfd, 5, ""));
	CHECK(u, stats(t).conns == 2);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_STATUS, 0);
	CHECK(u, stats(t).conns == 0);
	CHECK(u, h_closed(t, hfd, 1000) && h_closed(t, cfd, 1000));
	close(hfd);
	close(cfd);
	/* After a new start, everything works again. */
	drv_start(t, NRX);
	hfd = g_connect(t, &g, 5000, 1234, lfd);
	CHECK(u, hfd >= 0);
	cfd = h_client(t);
	CHECK(u, host_connect(t, &g, cfd, 5, ""));
	close(hfd);
	close(cfd);
	close(lfd);
	t_free(t);
}

/*
 * A guest that sends many packets without receive buffers: tx stops being
 * taken before the answers would have to be dropped, and goes on once the
 * guest posts buffers. No RST is lost.
 */
static void t_tx_backpressure(struct unit *u)
{
	enum { N = 120 };
	struct vsock_limits lim;
	struct vsock_hdr h;
	struct t *t;
	uint8_t raw[VSOCK_HDR_SIZE];
	int rsts = 0;

	vsock_limits_default(&lim);
	lim.max_conns = 4;
	t = t_new_lim(&lim, 0);
	for (int i = 0; i < N; i++) {
		struct gconn g = {.gport = 1000 + (uint32_t)i, .hport = 77};

		h = g_hdr(&g, VSOCK_OP_RW, 0, 0);
		vsock_hdr_encode(&h, raw);
		post_tx_raw(t, raw, sizeof(raw), NULL, 0);
	}
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	CHECK(u, fr_used(&t->fg, &t->r[TXQ])->idx < N);
	for (uint16_t i = 0; i < NRX; i++)
		post_rx(t, i);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	while (g_recv(t, &h, NULL, 0, 100))
		rsts += h.op == VSOCK_OP_RST;
	CHECK(u, rsts == N);
	CHECK(u, fr_used(&t->fg, &t->r[TXQ])->idx == N);
	CHECK(u, stats(t).rst_lost == 0);
	t_free(t);
}

/* --- hostile guests ----------------------------------------------------------------------------
 */

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

static uint32_t pick(uint64_t *s, const uint32_t *v, size_t n)
{
	return v[rnd(s) % n];
}

/* Random headers, mostly almost right, with random chains: never a crash. */
static void t_random_packets(struct unit *u)
{
	static const uint32_t ports[] = {1234, 1234, 1234, 7, 0, VSOCK_PORT_ANY, 0x40000000u};
	static const uint32_t gports[] = {1, 2, 3, 4, 0, VSOCK_PORT_ANY};
	static const uint32_t ops[] = {1, 1, 2, 3, 4, 5, 5, 5, 6, 7, 0, 8, 0xffff};
	static const uint32_t types[] = {1, 1, 1, 1, 2, 0, 0xffff};
	static uint8_t payload[VSOCK_MAX_PAYLOAD + 64];
	struct vsock_limits lim;
	uint64_t seed = 42;
	struct vsock_hdr h;
	struct t *t;
	int lfd, cfd, host[64], nhost = 0, accepted = 0, resets = 0;

	vsock_limits_default(&lim);
	lim.max_conns = 32;
	lim.buf_alloc = 8192;
	lim.connect_timeout_ms = 20;
	lim.close_timeout_ms = 20;
	t = t_new_lim(&lim, NRX);
	lfd = h_listen(t, 1234);
	cfd = h_client(t);
	h_write_all(cfd, "CONNECT 3\n", 10);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)rnd(&seed);

	for (int iter = 0; iter < 20000; iter++) {
		uint32_t plen = rnd(&seed) % 3 ? rnd(&seed) % 300 : rnd(&seed) % sizeof(payload);
		uint8_t raw[VSOCK_HDR_SIZE];

		h.src_cid = rnd(&seed) % 50 ? GCID : rnd(&seed);
		h.dst_cid = rnd(&seed) % 50 ? VSOCK_CID_HOST : rnd(&seed) % 4;
		h.src_port = pick(&seed, gports, 6);
		h.dst_port = pick(&seed, ports, 7);
		h.type = rnd(&seed) % 20 ? VSOCK_TYPE_STREAM : (uint16_t)pick(&seed, types, 7);
		h.op = (uint16_t)pick(&seed, ops, 13);
		switch (rnd(&seed) % 10) {
		case 0:
			h.len = plen + 1;
			break;
		case 1:
			h.len = rnd(&seed);
			break;
		case 2:
			h.len = VSOCK_MAX_PAYLOAD + (rnd(&seed) % 3);
			break;
		case 3:
			h.len = plen ? rnd(&seed) % plen : 0;
			break;
		default:
			h.len = plen;
			break;
		}
		h.flags = rnd(&seed) % 2 ? rnd(&seed) % 4 : rnd(&seed);
		h.buf_alloc = rnd(&seed) % 2 ? rnd(&seed) : rnd(&seed) % 3000;
		h.fwd_cnt = rnd(&seed);
		vsock_hdr_encode(&h, raw);
		if (rnd(&seed) % 500 == 0)
			post_tx_raw(t, raw, rnd(&seed) % VSOCK_HDR_SIZE, NULL, 0);
		else
			post_tx_raw(t, raw, sizeof(raw), payload, plen);
		fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);

		/* The host side does its part: accepts, writes, vanishes. */
		if (nhost < 64) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd >= 0) {
				host[nhost++] = fd;
				accepted++;
			}
		}
		if (nhost && rnd(&seed) % 7 == 0) {
			int k = (int)(rnd(&seed) % (uint32_t)nhost);

			if (rnd(&seed) % 3 == 0) {
				close(host[k]);
				host[k] = host[--nhost];
			} else if (write(host[k], payload, rnd(&seed) % 5000) < 0) {
				/* reset by the device: fine */
			}
		}
		while (g_recv(t, &h, NULL, 0, 0))
			;
		drain(t);
		if (fg_needs_reset(t->dev)) {
			resets++;
			fg_mmio_wr(t->dev, VIRTIO_MMIO_STATUS, 0);
			drv_start(t, NRX);
		}
		CHECK(u, stats(t).conns <= lim.max_conns);
	}
	CHECK(u, resets > 0);
	CHECK(u, accepted > 100);
	CHECK(u, t->bad_rx == 0);
	CHECK(u, stats(t).dropped > 1000);
	CHECK(u, stats(t).buffered <= lim.max_buffered);
	for (int i = 0; i < nhost; i++)
		close(host[i]);
	close(cfd);
	close(lfd);
	t_free(t);
}

int main(void)
{
	struct unit u = {0};
	struct rlimit rl;

	signal(SIGPIPE, SIG_IGN);
	/* 500 connections are 1000 sockets in this one process. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	RUN(&u, t_config);
	RUN(&u, t_listener_file);
	RUN(&u, t_guest_connect);
	RUN(&u, t_guest_connect_missing);
	RUN(&u, t_host_connect);
	RUN(&u, t_host_connect_refused);
	RUN(&u, t_host_connect_timeout);
	RUN(&u, t_bad_connect_lines);
	RUN(&u, t_header_validation);
	RUN(&u, t_rx_buffer_too_small);
	RUN(&u, t_credit_to_guest);
	RUN(&u, t_credit_to_host);
	RUN(&u, t_stuck_peer);
	RUN(&u, t_no_rx_buffers);
	RUN(&u, t_host_peer_closes);
	RUN(&u, t_guest_shutdown);
	RUN(&u, t_many_connections);
	RUN(&u, t_conn_limit);
	RUN(&u, t_buffer_limit);
	RUN(&u, t_reset);
	RUN(&u, t_tx_backpressure);
	RUN(&u, t_random_packets);
	return unit_done(&u);
}
