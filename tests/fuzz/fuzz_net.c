// fuzz-link: src/vmm/net.c src/vmm/mmio.c src/vmm/queue.c src/vmm/evloop.c src/net/frame.c src/common/log.c
/*
 * fuzz_net.c - libFuzzer target for virtio-net (src/vmm/net.c with
 * src/net/frame.c): what a hostile guest puts in its transmit chains (the
 * virtio-net header, lengths, buffer splits, writable buffers) and its
 * receive buffers (sizes, readable buffers), interleaved with what a broken
 * NAT sends on the socket (any bytes, lengths included), device resets and
 * the NAT going away. Runs the real device through the mmio transport and
 * a real event loop over a real Unix socket; no KVM. Crashes, sanitizer
 * reports and broken invariants (abort()) are findings.
 *
 * Input: one flags byte, then records of an action byte and its arguments:
 *   0  transmit: 12 header bytes, a length (u16, up to 65,535 + 1,000),
 *      a shape byte (header apart, a writable buffer added, an empty one)
 *   1  post a receive buffer: a length (u16, 0..65,535), a shape byte
 *      (readable instead of writable, two buffers)
 *   2  the NAT sends n bytes (u16 length, then the bytes: a stream prefix,
 *      mostly a valid one, and a frame)
 *   3  the driver resets the device and starts it again
 *   4  the NAT closes its connection; the device's reconnect is accepted
 * After each record the event loop runs once without waiting.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FUZZ_NAME "fuzz_net"
#include "fake_guest.h"
#include "fuzz_util.h"
#include "net/frame.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QSIZE 64
#define HDR 12u
#define TXBUF (FG_BUF)
#define RXBUF (FG_BUF + 0x60000)

static char sock_path[108];

static void no_irq(void *opaque)
{
	(void)opaque;
}

static int listen_fresh(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (!sock_path[0]) {
		char dir[] = "/tmp/fuzz_net.XXXXXX";

		if (!mkdtemp(dir))
			abort();
		snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
		signal(SIGPIPE, SIG_IGN);
	}
	unlink(sock_path);
	memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
	/* Non-blocking: an accept finds the device's connection or nothing. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0)
		abort();
	return fd;
}

struct st {
	struct fake_guest fg;
	struct fake_ring r[2];
	struct virtio_dev *dev;
	uint16_t next[2];
	uint64_t features;
};

static void start(struct st *s)
{
	fr_clear(&s->fg, &s->r[0]);
	fr_clear(&s->fg, &s->r[1]);
	s->r[0].avail_idx = s->r[1].avail_idx = 0;
	s->next[0] = s->next[1] = 0;
	fg_driver_start(s->dev, s->features, s->r, 2);
}

static void post(struct st *s, unsigned q, const struct fg_seg *seg, unsigned n)
{
	/* Chains of up to three descriptors, never wrapping past the table. */
	if (s->next[q] + n > QSIZE)
		s->next[q] = 0;
	fr_post_chain(&s->fg, &s->r[q], s->next[q], seg, n);
	s->next[q] = (uint16_t)(s->next[q] + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 2, 1, 2, 3, 4, 5 };
	struct fz f = { data, size, 0 };
	struct st s = { 0 };
	struct evloop *ev;
	int lfd = listen_fresh(), peer;
	uint8_t flags = fz_u8(&f);
	unsigned records = 0;

	if (fg_init(&s.fg) < 0 || ev_create(&ev) < 0)
		abort();
	if (virtio_net_create(&s.dev, &s.fg.gm, ev, sock_path, mac) < 0)
		abort();
	virtio_dev_set_irq(s.dev, no_irq, NULL);
	peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	s.features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		     ((flags & 1) ? VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) : 0) |
		     ((flags & 2) ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0);
	s.r[0] = fr_make(0, QSIZE);
	s.r[1] = fr_make(1, QSIZE);
	start(&s);

	while (fz_left(&f) && records++ < 200) {
		switch (fz_u8(&f) % 5) {
		case 0: {
			uint8_t *p = fg_ptr(&s.fg, TXBUF);
			uint32_t len = fz_u16(&f) % (65536 + 1000);
			uint8_t shape = fz_u8(&f);
			struct fg_seg seg[3];
			unsigned n = 0;

			for (unsigned i = 0; i < HDR; i++)
				p[i] = fz_u8(&f);
			if (shape & 1) {
				seg[n++] = (struct fg_seg){ TXBUF, HDR, false };
				seg[n++] = (struct fg_seg){ TXBUF + HDR, len, false };
			} else {
				seg[n++] = (struct fg_seg){ TXBUF, HDR + len, false };
			}
			if (shape & 2)
				seg[n++] = (struct fg_seg){ TXBUF + 0x20000, 64, true };
			else if (shape & 4)
				seg[0].len = shape & 8 ? 0 : 5;
			post(&s, 1, seg, n);
			fg_mmio_wr(s.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
			break;
		}
		case 1: {
			uint32_t len = fz_u16(&f);
			uint8_t shape = fz_u8(&f);
			struct fg_seg seg[2] = { { RXBUF, len, !(shape & 1) },
						 { RXBUF + 0x10000, len / 3, true } };

			post(&s, 0, seg, (shape & 2) ? 2 : 1);
			fg_mmio_wr(s.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
			break;
		}
		case 2: {
			uint8_t buf[1024];
			uint16_t n = fz_u16(&f) % sizeof(buf);
			uint8_t kind = fz_u8(&f);

			for (unsigned i = 0; i < n; i++)
				buf[i] = fz_u8(&f);
			/* Mostly a well-formed prefix for what follows, so frames get delivered. */
			if (!(kind & 1) && n >= NET_STREAM_HDR + NET_FRAME_MIN)
				net_stream_prefix(buf, (uint32_t)(n - NET_STREAM_HDR));
			if (peer >= 0 && send(peer, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
				close(peer);
				peer = -1;
			}
			break;
		}
		case 3:
			fg_mmio_wr(s.dev, VIRTIO_MMIO_STATUS, 0);
			start(&s);
			break;
		case 4:
			if (peer >= 0)
				close(peer);
			ev_run_once(ev, 0);
			/* The device reconnects on a 200 ms timer; the test does not wait for it. */
			peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			break;
		}
		ev_run_once(ev, 0);
		/* The device never returns more chains than the driver made available. */
		for (unsigned q = 0; q < 2; q++)
			CHECK((uint16_t)(s.r[q].avail_idx - fr_used(&s.fg, &s.r[q])->idx) <= QSIZE);
	}
	{
		/* Drain what the device sent, so the next run starts clean. */
		uint8_t sink[4096];

		while (peer >= 0 && recv(peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
	}
	virtio_net_destroy(s.dev);
	ev_destroy(ev);
	if (peer >= 0)
		close(peer);
	close(lfd);
	fg_fini(&s.fg);
	return 0;
}
