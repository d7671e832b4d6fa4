/*
 * test_p9dev.c - the virtio-9p device (p9dev.c) driven through the mmio
 * transport by a fake guest, over a scratch directory. Requests are served
 * by worker threads, so each check waits (bounded) for the used ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake_guest.h"
#include "p9/p9.h"
#include "unit.h"
#include "vmm/devices.h"
#include "vmm/mmio.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define QSIZE 8
#define REQ   FG_BUF
#define RESP  (FG_BUF + 0x10000)

struct t {
	struct fake_guest fg;
	struct fake_ring r;
	struct virtio_dev *dev;
	char dir[64];
};

static void no_irq(void *opaque)
{
	(void)opaque;
}

static void drv_start(struct t *t)
{
	t->r = fr_make(0, QSIZE);
	fg_driver_start(t->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1) | 1 /* MOUNT_TAG */, &t->r, 1);
}

static struct t *t_new(bool ro)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fg_init(&t->fg) < 0)
		abort();
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_p9dev.XXXXXX");
	if (!mkdtemp(t->dir) ||
	    virtio_9p_create(&t->dev, &t->fg.gm, "hostroot", t->dir, ro, NULL, NULL) < 0)
		abort();
	virtio_dev_set_irq(t->dev, no_irq, t);
	return t;
}

static void t_free(struct t *t)
{
	char cmd[128];

	virtio_9p_destroy(t->dev);
	fg_fini(&t->fg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->dir);
	free(t);
}

static uint8_t *gp(struct t *t, uint64_t gpa)
{
	return fg_ptr(&t->fg, gpa);
}

static uint16_t used_idx(struct t *t)
{
	return __atomic_load_n(&fr_used(&t->fg, &t->r)->idx, __ATOMIC_ACQUIRE);
}

/* Wait until the used ring reaches idx; false after 5 s. */
static bool wait_used(struct t *t, uint16_t idx)
{
	for (int i = 0; i < 5000; i++) {
		if (used_idx(t) == idx)
			return true;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return false;
}

/* A small 9P message writer. */
struct msg {
	uint8_t b[512];
	size_t n;
};

static void m_u8(struct msg *m, uint8_t v)
{
	m->b[m->n++] = v;
}

static void m_u16(struct msg *m, uint16_t v)
{
	m_u8(m, (uint8_t)v);
	m_u8(m, (uint8_t)(v >> 8));
}

static void m_u32(struct msg *m, uint32_t v)
{
	m_u16(m, (uint16_t)v);
	m_u16(m, (uint16_t)(v >> 16));
}

static void m_str(struct msg *m, const char *s)
{
	m_u16(m, (uint16_t)strlen(s));
	memcpy(m->b + m->n, s, strlen(s));
	m->n += strlen(s);
}

static void m_begin(struct msg *m, uint8_t type, uint16_t tag)
{
	m->n = 4;
	m_u8(m, type);
	m_u16(m, tag);
}

static void m_end(struct msg *m)
{
	uint32_t n = (uint32_t)m->n;

	memcpy(m->b, &n, 4);
}

/*
 * Post the message as readable buffers split in two (framing is free) and
 * wlen writable bytes at RESP; wait for the reply. Returns its used length,
 * or -1 when none came.
 */
static long xfer(struct t *t, const struct msg *m, uint32_t wlen)
{
	/* One request at a time, always descriptors 0-2. */
	uint16_t h = 0, want;
	uint32_t half = (uint32_t)m->n / 2;

	memcpy(gp(t, REQ), m->b, m->n);
	fr_desc(&t->fg, &t->r, h, REQ, half, VIRTQ_DESC_F_NEXT, (uint16_t)(h + 1));
	fr_desc(&t->fg, &t->r, h + 1, REQ + half, (uint32_t)m->n - half,
		wlen ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(h + 2));
	if (wlen)
		fr_desc(&t->fg, &t->r, h + 2, RESP, wlen, VIRTQ_DESC_F_WRITE, 0);
	want = (uint16_t)(used_idx(t) + 1);
	fr_post(&t->fg, &t->r, h);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	if (!wait_used(t, want))
		return -1;
	return fr_used(&t->fg, &t->r)->ring[(uint16_t)(want - 1) % QSIZE].len;
}

static long version(struct t *t, uint32_t msize, uint32_t wlen)
{
	struct msg m;

	m_begin(&m, 100, 0xffff);
	m_u32(&m, msize);
	m_str(&m, "9P2000.L");
	m_end(&m);
	return xfer(t, &m, wlen);
}

static long attach(struct t *t)
{
	struct msg m;

	m_begin(&m, 104, 1);
	m_u32(&m, 1);          /* fid */
	m_u32(&m, 0xffffffff); /* no afid */
	m_str(&m, "root");
	m_str(&m, "");
	m_u32(&m, 0);
	m_end(&m);
	return xfer(t, &m, 4096);
}

/* Walk fid 1 (the attached root) to fid 2 = name and open it with flags. */
static bool open_fid2(struct t *t, const char *name, uint32_t flags)
{
	struct msg m;

	m_begin(&m, 110, 2); /* Twalk fid 1 -> 2 name */
	m_u32(&m, 1);
	m_u32(&m, 2);
	m_u16(&m, 1);
	m_str(&m, name);
	m_end(&m);
	if (xfer(t, &m, 4096) <= 0 || gp(t, RESP)[4] != 111)
		return false;
	m_begin(&m, 12, 3); /* Tlopen fid 2 */
	m_u32(&m, 2);
	m_u32(&m, flags);
	m_end(&m);
	return xfer(t, &m, 4096) > 0 && gp(t, RESP)[4] == 13;
}

/*
 * The share holds "data" (len bytes of content); the driver is started,
 * version agreed (msize 65536), the root attached as fid 1 and "data" opened
 * with flags as fid 2.
 */
static void start_on_data(struct unit *u, struct t *t, const void *content, size_t len,
			  uint32_t flags)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/data", t->dir);
	f = fopen(path, "w");
	CHECK(u, f && fwrite(content, 1, len, f) == len);
	if (f)
		fclose(f);
	drv_start(t);
	CHECK(u, version(t, 65536, 4096) == 21);
	CHECK(u, attach(t) == 20);
	CHECK(u, open_fid2(t, "data", flags));
}

static void t_identity(struct unit *u)
{
	struct t *t = t_new(false);
	uint8_t cfg[10];

	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_9P);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_FEATURES) & 1);
	for (unsigned i = 0; i < sizeof(cfg); i++)
		virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + i, &cfg[i], 1);
	CHECK(u, cfg[0] == 8 && cfg[1] == 0 && !memcmp(cfg + 2, "hostroot", 8));
	t_free(t);
}

/* Tversion and Tattach through the ring; a reply never exceeds its buffer. */
static void t_roundtrip(struct unit *u)
{
	struct t *t = t_new(false);
	uint32_t msize;
	long n;

	drv_start(t);
	n = version(t, 512000, 4096);
	CHECK(u, n == 21 && gp(t, RESP)[4] == 101);
	memcpy(&msize, gp(t, RESP + 7), 4);
	CHECK(u, msize == 512000);
	CHECK(u, attach(t) == 20 && gp(t, RESP)[4] == 105);
	/* Rversion (21 bytes) does not fit 15 writable bytes: Rlerror, nothing beyond. */
	memset(gp(t, RESP), 0xa5, 64);
	n = version(t, 1u << 30, 15);
	CHECK(u, n == 11 && gp(t, RESP)[4] == 7);
	CHECK(u, gp(t, RESP)[15] == 0xa5);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* Chains that are no 9P exchange at all mark the device needs-reset. */
static void t_bad_chains(struct unit *u)
{
	struct t *t = t_new(false);
	struct msg m;

	drv_start(t);
	CHECK(u, version(t, 8192, 10) == -1 || fg_needs_reset(t->dev));
	CHECK(u, fg_needs_reset(t->dev));
	t_free(t);

	t = t_new(false);
	drv_start(t);
	m.n = 0;
	m_u32(&m, 5);
	m_u8(&m, 100);
	CHECK(u, xfer(t, &m, 64) == -1 || fg_needs_reset(t->dev));
	CHECK(u, fg_needs_reset(t->dev));
	t_free(t);

	/* Broken framing (size field larger than the message). */
	t = t_new(false);
	drv_start(t);
	m_begin(&m, 100, 0xffff);
	m_u32(&m, 8192);
	m_str(&m, "9P2000.L");
	memcpy(m.b, &(uint32_t){4000}, 4);
	CHECK(u, xfer(t, &m, 64) == -1 || fg_needs_reset(t->dev));
	CHECK(u, fg_needs_reset(t->dev));
	t_free(t);
}

/* A read-only share refuses changes with EROFS and leaves the host alone. */
static void t_read_only(struct unit *u)
{
	struct t *t = t_new(true);
	char path[128];
	struct msg m;
	uint32_t err = 0;
	struct stat st;

	drv_start(t);
	CHECK(u, version(t, 65536, 4096) == 21);
	CHECK(u, attach(t) == 20);
	m_begin(&m, 72, 2); /* Tmkdir */
	m_u32(&m, 1);
	m_str(&m, "newdir");
	m_u32(&m, 0755);
	m_u32(&m, 0);
	m_end(&m);
	CHECK(u, xfer(t, &m, 4096) == 11 && gp(t, RESP)[4] == 7);
	memcpy(&err, gp(t, RESP + 7), 4);
	CHECK(u, err == EROFS);
	snprintf(path, sizeof(path), "%s/newdir", t->dir);
	CHECK(u, stat(path, &st) < 0 && errno == ENOENT);
	t_free(t);
}

/* A request longer than the device's buffer: Rlerror(EMSGSIZE) with its tag. */
static void t_too_long(struct unit *u)
{
	struct t *t = t_new(false);
	struct msg m;
	uint32_t err = 0;
	uint16_t tag = 0;

	drv_start(t);
	CHECK(u, version(t, 65536, 4096) == 21);
	m_begin(&m, 118, 0x1234); /* Twrite, its size field far beyond what we send */
	m_end(&m);
	memset(gp(t, REQ), 0, 0x10000);
	memcpy(gp(t, REQ), m.b, m.n);
	/* 7 readable buffers of 192 KiB, all the same guest bytes: 1.3 MiB. */
	for (unsigned i = 0; i < QSIZE - 1; i++)
		fr_desc(&t->fg, &t->r, i, REQ, 0x30000, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	fr_desc(&t->fg, &t->r, QSIZE - 1, RESP + 0x40000, 64, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, wait_used(t, 2));
	CHECK(u, fr_used(&t->fg, &t->r)->ring[1].len == 11);
	memcpy(&tag, gp(t, RESP + 0x40000 + 5), 2);
	memcpy(&err, gp(t, RESP + 0x40000 + 7), 4);
	CHECK(u, gp(t, RESP + 0x40000)[4] == 7 && tag == 0x1234 && err == EMSGSIZE);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* A reset in the middle of a session: the device starts again from scratch. */
static void t_reset(struct unit *u)
{
	struct t *t = t_new(false);

	drv_start(t);
	CHECK(u, version(t, 65536, 4096) == 21);
	CHECK(u, attach(t) == 20);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_STATUS, 0);
	/* A new driver starts with zeroed rings. */
	fr_clear(&t->fg, &t->r);
	drv_start(t);
	CHECK(u, version(t, 65536, 4096) == 21);
	/* fid 1 is gone with the old connection: attaching it again works. */
	CHECK(u, attach(t) == 20 && gp(t, RESP)[4] == 105);
	t_free(t);
}

/*
 * Reads land in the chain as Linux's zero-copy reads lay it out: the 11-byte
 * Rread header in a buffer of its own, the data across the reader's pages
 * (here three pieces, one shorter than a page); a read past the end of the
 * file says 0 and writes nothing.
 */
static void t_read_scattered(struct unit *u)
{
	struct t *t = t_new(false);
	char want[9000];
	struct msg m;
	uint32_t count = 0;

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (char)('a' + i % 23);
	start_on_data(u, t, want, sizeof(want), O_RDONLY);

	for (int round = 0; round < 2; round++) {
		uint64_t off = round ? sizeof(want) : 100;
		uint16_t want_used = (uint16_t)(used_idx(t) + 1);

		m_begin(&m, 116, 4); /* Tread fid 2 */
		m_u32(&m, 2);
		m_u32(&m, (uint32_t)off);
		m_u32(&m, 0);
		m_u32(&m, 8000);
		m_end(&m);
		memcpy(gp(t, REQ), m.b, m.n);
		memset(gp(t, RESP), 0xa5, 0x8000);
		fr_post_chain(&t->fg, &t->r, 0,
			      (struct fg_seg[]){{REQ, (uint32_t)m.n, false},
						{RESP, 11, true},
						{RESP + 0x1000, 4096, true},
						{RESP + 0x3000, 100, true},
						{RESP + 0x5000, 4096, true}},
			      5);
		fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		CHECK(u, wait_used(t, want_used));
		uint32_t len = fr_used(&t->fg, &t->r)->ring[(uint16_t)(want_used - 1) % QSIZE].len;
		memcpy(&count, gp(t, RESP + 7), 4);
		if (round == 0) {
			/* 8000 bytes asked, 8292 of room: all of them, in the three pieces. */
			CHECK(u, gp(t, RESP)[4] == 117 && count == 8000 && len == 11 + 8000);
			CHECK(u, !memcmp(gp(t, RESP + 0x1000), want + 100, 4096));
			CHECK(u, !memcmp(gp(t, RESP + 0x3000), want + 100 + 4096, 100));
			CHECK(u, !memcmp(gp(t, RESP + 0x5000), want + 100 + 4196, 8000 - 4196));
			CHECK(u, gp(t, RESP + 0x5000)[8000 - 4196] == 0xa5);
		} else {
			CHECK(u, gp(t, RESP)[4] == 117 && count == 0 && len == 11);
			CHECK(u, gp(t, RESP + 0x1000)[0] == 0xa5);
		}
	}
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/*
 * A Twrite laid out as Linux's zero-copy writes are (the header in a buffer
 * of its own, the data in the writer's pages): the data goes from those
 * pieces to the file in order; a count beyond the data is refused with
 * Rlerror, and writes nothing.
 */
static void t_write_scattered(struct unit *u)
{
	struct t *t = t_new(false);
	char path[128], want[8000], got[8100];
	uint32_t count = 0, err = 0;
	struct msg m;
	FILE *f;

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (char)('A' + i % 19);
	start_on_data(u, t, "0123456789", 10, O_WRONLY);
	snprintf(path, sizeof(path), "%s/data", t->dir);
	memcpy(gp(t, REQ + 0x1000), want, 4096);
	memcpy(gp(t, REQ + 0x3000), want + 4096, 100);
	memcpy(gp(t, REQ + 0x5000), want + 4196, sizeof(want) - 4196);

	for (int round = 0; round < 2; round++) {
		uint16_t want_used = (uint16_t)(used_idx(t) + 1);
		/* round 1 says one byte more than the pieces hold */
		uint32_t n = (uint32_t)sizeof(want) + (uint32_t)round;

		m_begin(&m, 118, 4); /* Twrite fid 2 at 5 */
		m_u32(&m, 2);
		m_u32(&m, 5);
		m_u32(&m, 0);
		m_u32(&m, n);
		CHECK(u, m.n == P9_TWRITE_HDRSZ);
		memcpy(m.b, &(uint32_t){(uint32_t)(m.n + sizeof(want))}, 4);
		memcpy(gp(t, REQ), m.b, m.n);
		fr_post_chain(
		    &t->fg, &t->r, 0,
		    (struct fg_seg[]){{REQ, (uint32_t)m.n, false},
				      {REQ + 0x1000, 4096, false},
				      {REQ + 0x3000, 100, false},
				      {REQ + 0x5000, (uint32_t)sizeof(want) - 4196, false},
				      {RESP, 64, true}},
		    5);
		fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		CHECK(u, wait_used(t, want_used));
		memcpy(&count, gp(t, RESP + 7), 4);
		memcpy(&err, gp(t, RESP + 7), 4);
		if (round == 0)
			CHECK(u, gp(t, RESP)[4] == 119 && count == sizeof(want));
		else
			CHECK(u, gp(t, RESP)[4] == 7 && err == EPROTO);
	}
	f = fopen(path, "r");
	CHECK(u, f && fread(got, 1, sizeof(got), f) == 5 + sizeof(want));
	if (f)
		fclose(f);
	CHECK(u, !memcmp(got, "01234", 5) && !memcmp(got + 5, want, sizeof(want)));
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* The driver's side of EVENT_IDX (virtio 2.7.10): notify only when the device asked. */
static void notify_as_linux(struct t *t, uint16_t old_idx)
{
	uint16_t ev = __atomic_load_n(fr_avail_event(&t->fg, &t->r), __ATOMIC_ACQUIRE);
	uint16_t now = t->r.avail_idx;

	if ((uint16_t)(now - ev - 1) < (uint16_t)(now - old_idx))
		fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/*
 * The driver's side of EVENT_IDX, as Linux drives it: two requests posted
 * behind one notify are both served (the worker that takes the first wakes
 * another for the second); then, the ring empty, a third posted alone is
 * notified only because avail_event asks for it, and is served too (a worker
 * that found the ring empty armed avail_event).
 */
static void t_event_idx(struct unit *u)
{
	struct t *t = t_new(false);
	struct msg m;
	uint16_t base, old;

	t->r = fr_make(0, QSIZE);
	fg_driver_start(t->dev,
			VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | 1,
			&t->r, 1);
	CHECK(u, version(t, 65536, 4096) == 21);
	CHECK(u, attach(t) == 20);
	for (int round = 0; round < 20; round++) {
		base = used_idx(t);
		old = t->r.avail_idx;
		for (uint16_t i = 0; i < 2; i++) {
			m_begin(&m, 24, (uint16_t)(10 + i)); /* Tgetattr fid 1 */
			m_u32(&m, 1);
			m_u32(&m, 0x7ff);
			m_u32(&m, 0);
			m_end(&m);
			memcpy(gp(t, REQ + i * 0x1000), m.b, m.n);
			memset(gp(t, RESP + i * 0x1000), 0, 8);
			fr_post_chain(&t->fg, &t->r, (uint16_t)(2 * i),
				      (struct fg_seg[]){{REQ + i * 0x1000, (uint32_t)m.n, false},
							{RESP + i * 0x1000, 256, true}},
				      2);
		}
		notify_as_linux(t, old);
		CHECK(u, wait_used(t, (uint16_t)(base + 2)));
		CHECK(u, gp(t, RESP)[4] == 25 && gp(t, RESP + 0x1000)[4] == 25);

		old = t->r.avail_idx;
		m_begin(&m, 24, 12);
		m_u32(&m, 1);
		m_u32(&m, 0x7ff);
		m_u32(&m, 0);
		m_end(&m);
		memcpy(gp(t, REQ + 0x2000), m.b, m.n);
		memset(gp(t, RESP + 0x2000), 0, 8);
		fr_post_chain(&t->fg, &t->r, 4,
			      (struct fg_seg[]){{REQ + 0x2000, (uint32_t)m.n, false},
						{RESP + 0x2000, 256, true}},
			      2);
		notify_as_linux(t, old);
		CHECK(u, wait_used(t, (uint16_t)(base + 3)));
		CHECK(u, gp(t, RESP + 0x2000)[4] == 25);
	}
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/*
 * A Tflush posted right behind the request it flushes: the request's reply
 * must reach the used ring before the Rflush (9P: the client may reuse the
 * tag once Rflush arrives). Workers race for the two, so many rounds.
 */
static void t_flush_after_its_request(struct unit *u)
{
	struct t *t = t_new(false);
	struct msg g, f;
	int bad = 0, rounds = 300;

	drv_start(t);
	CHECK(u, version(t, 65536, 4096) == 21);
	CHECK(u, attach(t) == 20);
	m_begin(&g, 24, 5); /* Tgetattr fid 1, tag 5 */
	m_u32(&g, 1);
	m_u32(&g, 0x3fff);
	m_u32(&g, 0);
	m_end(&g);
	m_begin(&f, 108, 6); /* Tflush tag 6 of tag 5 */
	m_u16(&f, 5);
	m_end(&f);
	memcpy(gp(t, REQ + 0x1000), g.b, g.n);
	memcpy(gp(t, REQ + 0x2000), f.b, f.n);
	for (int i = 0; i < rounds; i++) {
		uint16_t base = used_idx(t);

		fr_post_chain(&t->fg, &t->r, 3,
			      (struct fg_seg[]){{REQ + 0x1000, (uint32_t)g.n, false},
						{RESP + 0x1000, 4096, true}},
			      2);
		fr_post_chain(&t->fg, &t->r, 5,
			      (struct fg_seg[]){{REQ + 0x2000, (uint32_t)f.n, false},
						{RESP + 0x2000, 4096, true}},
			      2);
		fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		if (!wait_used(t, (uint16_t)(base + 2))) {
			bad = rounds;
			break;
		}
		if (fr_used(&t->fg, &t->r)->ring[base % QSIZE].id != 3)
			bad++;
	}
	CHECK(u, bad == 0);
	if (bad)
		fprintf(stderr, "t_flush_after_its_request: Rflush first in %d of %d rounds\n", bad,
			rounds);
	t_free(t);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_identity);
	RUN(&u, t_roundtrip);
	RUN(&u, t_bad_chains);
	RUN(&u, t_read_only);
	RUN(&u, t_too_long);
	RUN(&u, t_reset);
	RUN(&u, t_flush_after_its_request);
	RUN(&u, t_read_scattered);
	RUN(&u, t_write_scattered);
	RUN(&u, t_event_idx);
	return unit_done(&u);
}
