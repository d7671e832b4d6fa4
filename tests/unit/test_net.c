/*
 * test_net.c - virtio-net (src/vmm/net.c) with a fake guest and a real Unix
 * socket as the NAT's end, driven through the mmio transport and lxs-vm's
 * event loop; and the frame helpers of src/net/frame.c it uses.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_guest.h"
#include "net/frame.h"
#include "unit.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/mmio.h"

#define QSIZE 16
#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define FEATURES                                                                              \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |                  \
	 VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                  \
	 VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MAC))

struct t {
	struct fake_guest fg;
	struct fake_ring r[2]; /* receive, transmit */
	struct virtio_dev *dev;
	struct evloop *ev;
	char dir[64], path[128];
	int lfd, peer; /* the NAT's listening socket and its end of the connection */
	uint16_t next_desc[2];
};

static void no_irq(void *opaque)
{
	(void)opaque;
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(a.sun_path))
		abort();
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0)
		abort();
	return fd;
}

static struct t *t_new(void)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fg_init(&t->fg) < 0 || ev_create(&t->ev) < 0)
		abort();
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_net.XXXXXX");
	if (!mkdtemp(t->dir))
		abort();
	snprintf(t->path, sizeof(t->path), "%s/net.sock", t->dir);
	t->lfd = listen_at(t->path);
	if (virtio_net_create(&t->dev, &t->fg.gm, t->ev, t->path, mac) < 0)
		abort();
	virtio_dev_set_irq(t->dev, no_irq, t);
	t->peer = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
	t->r[0] = fr_make(0, QSIZE);
	t->r[1] = fr_make(1, QSIZE);
	fg_driver_start(t->dev, FEATURES, t->r, 2);
	return t;
}

static void t_free(struct t *t)
{
	virtio_net_destroy(t->dev);
	ev_destroy(t->ev);
	close(t->peer);
	close(t->lfd);
	unlink(t->path);
	rmdir(t->dir);
	fg_fini(&t->fg);
	free(t);
}

static uint8_t *gp(struct t *t, uint64_t gpa)
{
	return fg_ptr(&t->fg, gpa);
}

/* The guest transmits hdr + frame from one readable buffer (or two: header apart). */
static void guest_send(struct t *t, const struct virtio_net_hdr_v1 *h, const uint8_t *frame,
		       size_t len, bool split)
{
	uint64_t gpa = FG_BUF + 0x20000;
	uint16_t d = t->next_desc[1];

	memcpy(gp(t, gpa), h, HDR);
	memcpy(gp(t, gpa + 0x100), frame, len);
	if (split) {
		struct fg_seg s[2] = { { gpa, HDR, false }, { gpa + 0x100, (uint32_t)len, false } };

		fr_post_chain(&t->fg, &t->r[1], d, s, 2);
		t->next_desc[1] = (uint16_t)((d + 2) % QSIZE);
	} else {
		memmove(gp(t, gpa + HDR), gp(t, gpa + 0x100), len);
		struct fg_seg s = { gpa, (uint32_t)(HDR + len), false };

		fr_post_chain(&t->fg, &t->r[1], d, &s, 1);
		t->next_desc[1] = (uint16_t)((d + 1) % QSIZE);
	}
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

/* The guest posts a receive buffer of len bytes at gpa. */
static void guest_post_rx(struct t *t, uint64_t gpa, uint32_t len)
{
	uint16_t d = t->next_desc[0];
	struct fg_seg s = { gpa, len, true };

	fr_post_chain(&t->fg, &t->r[0], d, &s, 1);
	t->next_desc[0] = (uint16_t)((d + 1) % QSIZE);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* What the NAT's end reads within a short wait (0 when nothing came). */
static size_t peer_read(struct t *t, uint8_t *buf, size_t cap)
{
	struct pollfd p = { .fd = t->peer, .events = POLLIN };
	size_t got = 0;

	while (got < cap && poll(&p, 1, got ? 50 : 500) == 1) {
		ssize_t n = recv(t->peer, buf + got, cap - got, MSG_DONTWAIT);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void frame_of(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

static void stats(struct t *t, struct virtio_net_stats *st)
{
	virtio_net_get_stats(t->dev, st);
}

/* --- frame helpers ----------------------------------------------------------------- */

static void t_stream_framing(struct unit *u)
{
	uint8_t buf[16 + 100];
	const uint8_t *f;
	size_t len, used;

	net_stream_prefix(buf, 100);
	CHECK(u, buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == 100);
	CHECK(u, net_stream_next(buf, 3, &f, &len, &used) == 0);
	CHECK(u, net_stream_next(buf, 50, &f, &len, &used) == 0);
	CHECK(u, net_stream_next(buf, 104, &f, &len, &used) == 1 && len == 100 && used == 104 &&
		     f == buf + 4);
	net_stream_prefix(buf, 13);
	CHECK(u, net_stream_next(buf, sizeof(buf), &f, &len, &used) == -EPROTO);
	net_stream_prefix(buf, NET_FRAME_MAX + 1);
	CHECK(u, net_stream_next(buf, 4, &f, &len, &used) == -EPROTO);
}

/* A UDP/IPv4 frame whose checksum the device completes verifies as a receiver checks it. */
static void t_checksum_completion(struct unit *u)
{
	uint8_t f[14 + 20 + 8 + 37];
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .csum_start = 34,
				       .csum_offset = 6 };

	frame_of(f, sizeof(f), 3);
	/* The pseudo-header sum the guest leaves in the field: any value works for the check. */
	f[40] = 0x12;
	f[41] = 0x34;
	uint8_t partial[2] = { 0x12, 0x34 };
	CHECK(u, net_tx_check(&h, f, sizeof(f)) == 0);
	/* A receiver sums the pseudo-header (here: the partial) and the segment: all ones. */
	CHECK(u, net_csum_fold(net_csum_add(net_csum_add(0, partial, 2), f + 34, sizeof(f) - 34)) == 0);
	CHECK(u, f[40] != 0x12 || f[41] != 0x34);

	h.csum_offset = (uint16_t)(sizeof(f) - 34 - 1); /* the field would end past the frame */
	CHECK(u, net_tx_check(&h, f, sizeof(f)) == -NET_BAD_CSUM);
	h.csum_start = sizeof(f);
	h.csum_offset = 0;
	CHECK(u, net_tx_check(&h, f, sizeof(f)) == -NET_BAD_CSUM);
	h = (struct virtio_net_hdr_v1){ .gso_type = 1 };
	CHECK(u, net_tx_check(&h, f, sizeof(f)) == -NET_BAD_GSO);
	h.gso_type = 0;
	CHECK(u, net_tx_check(&h, f, 13) == -NET_BAD_LEN);
	CHECK(u, net_tx_check(&h, f, NET_FRAME_MAX + 1) == -NET_BAD_LEN);
}

/* --- the device ------------------------------------------------------------------------ */

static void t_identity(struct unit *u)
{
	struct t *t = t_new();
	uint8_t cfg[VIRTIO_NET_CFG_SIZE];

	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_NET);
	/* Read as the driver may, four bytes at a time. */
	for (unsigned i = 0; i < sizeof(cfg); i += 4) {
		uint32_t v = fg_mmio_rd(t->dev, 0x100 + i);

		memcpy(cfg + i, &v, 4);
	}
	CHECK(u, cfg[0] == 2 && cfg[5] == 1);
	CHECK(u, (cfg[VIRTIO_NET_CFG_STATUS] & VIRTIO_NET_S_LINK_UP) != 0);
	CHECK(u, (cfg[VIRTIO_NET_CFG_MTU] | cfg[VIRTIO_NET_CFG_MTU + 1] << 8) == VIRTIO_NET_MTU);
	t_free(t);
}

/* Frames cross as they were, prefixed; split header or not; checksums completed. */
static void t_transmit(struct unit *u)
{
	struct t *t = t_new();
	uint8_t f[1500], got[2 * 1504];
	struct virtio_net_hdr_v1 h = { 0 };

	frame_of(f, sizeof(f), 1);
	guest_send(t, &h, f, sizeof(f), false);
	guest_send(t, &h, f, 60, true);
	size_t n = peer_read(t, got, 1504 + 64);
	CHECK(u, n == 1504 + 64);
	CHECK(u, got[2] == (1500 >> 8) && got[3] == (1500 & 0xff) && !memcmp(got + 4, f, 1500));
	CHECK(u, got[1504 + 3] == 60 && !memcmp(got + 1508, f, 60));
	CHECK(u, fr_used(&t->fg, &t->r[1])->idx == 2);

	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 6;
	guest_send(t, &h, f, 100, false);
	n = peer_read(t, got, 104);
	/* The guest's partial sum was f[40..41]; the guest's own memory is left alone. */
	CHECK(u, n == 104 &&
		     net_csum_fold(net_csum_add(net_csum_add(0, f + 40, 2), got + 4 + 34, 100 - 34)) == 0);
	CHECK(u, !memcmp(gp(t, FG_BUF + 0x20000 + HDR), f, 100));
	t_free(t);
}

/* Malformed frames are dropped and counted; the device goes on. */
static void t_bad_frames_dropped(struct unit *u)
{
	struct t *t = t_new();
	uint8_t f[200], got[256];
	struct virtio_net_hdr_v1 h = { 0 }, gso = { .gso_type = 3 },
				 csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 190,
					  .csum_offset = 20 };
	struct virtio_net_stats st;

	frame_of(f, sizeof(f), 9);
	guest_send(t, &h, f, 5, false);
	guest_send(t, &gso, f, sizeof(f), false);
	guest_send(t, &csum, f, sizeof(f), false);
	guest_send(t, &h, f, 64, false);
	size_t n = peer_read(t, got, sizeof(got));
	stats(t, &st);
	CHECK(u, st.tx_bad == 3 && st.tx_frames == 1);
	CHECK(u, n == 68 && !memcmp(got + 4, f, 64));
	CHECK(u, !fg_needs_reset(t->dev));
	CHECK(u, fr_used(&t->fg, &t->r[1])->idx == 4);
	t_free(t);
}

/* A transmit chain with a writable buffer breaks the protocol: needs-reset. */
static void t_writable_tx_needs_reset(struct unit *u)
{
	struct t *t = t_new();
	struct fg_seg s[2] = { { FG_BUF, HDR + 60, false }, { FG_BUF + 0x1000, 64, true } };

	fr_post_chain(&t->fg, &t->r[1], 0, s, 2);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK(u, fg_needs_reset(t->dev));
	t_free(t);
}

/* A frame bigger than one buffer spreads over several (MRG_RXBUF). */
static void t_receive_merged(struct unit *u)
{
	struct t *t = t_new();
	uint8_t f[3000], wire[3004];
	struct virtio_net_hdr_v1 h;

	frame_of(f, sizeof(f), 5);
	net_stream_prefix(wire, sizeof(f));
	memcpy(wire + 4, f, sizeof(f));
	/* Nothing to receive into yet: the frame waits in the device. */
	CHECK(u, send(t->peer, wire, sizeof(wire), 0) == (ssize_t)sizeof(wire));
	ev_run_once(t->ev, 500);
	CHECK(u, fr_used(&t->fg, &t->r[0])->idx == 0);
	guest_post_rx(t, FG_BUF, 2048);
	CHECK(u, fr_used(&t->fg, &t->r[0])->idx == 0); /* one buffer is not enough */
	guest_post_rx(t, FG_BUF + 0x1000, 2048);
	struct vring_used *used = fr_used(&t->fg, &t->r[0]);
	CHECK(u, used->idx == 2);
	CHECK(u, used->ring[0].len == 2048 && used->ring[1].len == HDR + 3000 - 2048);
	memcpy(&h, gp(t, FG_BUF), HDR);
	CHECK(u, h.num_buffers == 2 && h.flags == VIRTIO_NET_HDR_F_DATA_VALID && h.gso_type == 0);
	CHECK(u, !memcmp(gp(t, FG_BUF + HDR), f, 2048 - HDR));
	CHECK(u, !memcmp(gp(t, FG_BUF + 0x1000), f + 2048 - HDR, 3000 - (2048 - HDR)));
	t_free(t);
}

/* A NAT that sends a bad length is dropped; the link goes down, and comes back. */
static void t_backend_lost_and_back(struct unit *u)
{
	struct t *t = t_new();
	uint8_t bad[4] = { 0, 0, 0, 2 };
	struct virtio_net_stats st;

	CHECK(u, send(t->peer, bad, 4, 0) == 4);
	ev_run_once(t->ev, 500);
	stats(t, &st);
	CHECK(u, !st.link_up && st.backend_losses == 1);
	CHECK(u, (fg_mmio_rd(t->dev, 0x100 + VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP) == 0);
	close(t->peer);
	/* The reconnect timer fires within 200 ms; its connection waits in the backlog. */
	for (int i = 0; i < 20 && !st.link_up; i++) {
		ev_run_once(t->ev, 100);
		stats(t, &st);
	}
	CHECK(u, st.link_up && st.reconnects == 1);
	t->peer = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(u, (fg_mmio_rd(t->dev, 0x100 + VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP) != 0);
	/* Frames flow again. */
	uint8_t f[64], got[68];
	struct virtio_net_hdr_v1 h = { 0 };

	frame_of(f, sizeof(f), 2);
	guest_send(t, &h, f, sizeof(f), false);
	CHECK(u, peer_read(t, got, sizeof(got)) == 68 && !memcmp(got + 4, f, 64));
	t_free(t);
}

int main(void)
{
	struct unit u = { 0 };

	signal(SIGPIPE, SIG_IGN);
	RUN(&u, t_stream_framing);
	RUN(&u, t_checksum_completion);
	RUN(&u, t_identity);
	RUN(&u, t_transmit);
	RUN(&u, t_bad_frames_dropped);
	RUN(&u, t_writable_tx_needs_reset);
	RUN(&u, t_receive_merged);
	RUN(&u, t_backend_lost_and_back);
	return unit_done(&u);
}
