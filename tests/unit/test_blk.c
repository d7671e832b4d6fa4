/*
 * test_blk.c - the virtio block device (blk.c) over temporary image files,
 * driven through the mmio transport with a fake guest; completions are
 * reaped by running the event loop by hand with ev_run_once().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_guest.h"
#include "unit.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/mmio.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define QSIZE  256
#define IMG_MB 4
#define CAP    (IMG_MB * 2048ULL) /* sectors */

/* Guest memory of request slot h (see fake_guest.h for the rings). */
#define HDR(h)   (FG_BUF + (uint64_t)(h)*32)             /* header, 16 bytes */
#define IND(h)   (FG_BUF + 0x4000 + (uint64_t)(h)*64)    /* indirect table */
#define STS(h)   (FG_BUF + 0x8000 + (uint64_t)(h))       /* status byte */
#define SEGS(h)  (FG_BUF + 0x9000 + (uint64_t)(h)*0x200) /* discard segments */
#define DATA(h)  (0x60000 + (uint64_t)(h)*0x2000)        /* 8 KiB of data */
#define DATA_MAX 0x2000

struct t {
	struct fake_guest fg;
	struct fake_ring r;
	struct evloop *ev;
	struct virtio_dev *dev;
	char path[64];
	int irqs;
};

static void count_irq(void *opaque)
{
	__atomic_fetch_add(&((struct t *)opaque)->irqs, 1, __ATOMIC_SEQ_CST);
}

static uint64_t cfg64(struct t *t, uint32_t off)
{
	uint64_t v = 0;

	virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + off, &v, 8);
	return v;
}

static uint32_t cfg32(struct t *t, uint32_t off)
{
	uint32_t v = 0;

	virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + off, &v, 4);
	return v;
}

/* The driver's side of 3.1.1, accepting everything offered. */
static void drv_start(struct t *t)
{
	t->r = fr_make(0, QSIZE);
	fg_driver_start(t->dev, fg_dev_features(t->dev), &t->r, 1);
}

/* A sparse image of IMG_MB MiB, all zeroes. */
static void make_image(char *path, size_t size)
{
	int fd;

	snprintf(path, size, "/tmp/lxs-test-blk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, IMG_MB << 20) < 0)
		abort();
	close(fd);
}

/* A device on a fresh image (img) or an empty slot, driver not started. */
static struct t *t_new_dev(bool img, bool ro, const char *serial)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fg_init(&t->fg) < 0 || ev_create(&t->ev) < 0)
		abort();
	make_image(t->path, sizeof(t->path));
	if (virtio_blk_create(&t->dev, &t->fg.gm, t->ev, img ? t->path : NULL, ro, serial) < 0)
		abort();
	virtio_dev_set_irq(t->dev, count_irq, t);
	return t;
}

static struct t *t_new(void)
{
	struct t *t = t_new_dev(true, false, "lxs-serial-0123");

	drv_start(t);
	return t;
}

static void t_free(struct t *t)
{
	virtio_blk_destroy(t->dev);
	ev_destroy(t->ev);
	unlink(t->path);
	fg_fini(&t->fg);
	free(t);
}

static struct vring_used *used(struct t *t)
{
	return fr_used(&t->fg, &t->r);
}

static uint8_t *gp(struct t *t, uint64_t gpa)
{
	return fg_ptr(&t->fg, gpa);
}

static void set_hdr(struct t *t, unsigned h, uint32_t type, uint64_t sector)
{
	struct virtio_blk_req_hdr hdr = {.type = type, .sector = sector};

	memcpy(gp(t, HDR(h)), &hdr, sizeof(hdr));
	*gp(t, STS(h)) = 0xff;
}

static void post_chain(struct t *t, uint16_t head, const struct fg_seg *b, unsigned n)
{
	fr_post_chain(&t->fg, &t->r, head, b, n);
}

/* Slot h as header, data (len bytes at DATA(h), if any) and status; head 3h. */
static void post_req(struct t *t, unsigned h, uint32_t type, uint64_t sector, uint32_t len)
{
	struct fg_seg b[3];
	unsigned n = 0;

	set_hdr(t, h, type, sector);
	b[n++] = (struct fg_seg){HDR(h), 16, false};
	if (len)
		b[n++] = (struct fg_seg){DATA(h), len, type != VIRTIO_BLK_T_OUT};
	b[n++] = (struct fg_seg){STS(h), 1, true};
	post_chain(t, (uint16_t)(3 * h), b, n);
}

static void notify(struct t *t)
{
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Run the event loop until n chains were used (or give up). */
static uint16_t wait_used(struct t *t, uint16_t n)
{
	for (int i = 0; i < 500 && __atomic_load_n(&used(t)->idx, __ATOMIC_ACQUIRE) != n; i++)
		ev_run_once(t->ev, 20);
	return __atomic_load_n(&used(t)->idx, __ATOMIC_ACQUIRE);
}

static uint8_t status(struct t *t, unsigned h)
{
	return *gp(t, STS(h));
}

/* Post one request, run it to completion, return its status. */
static uint8_t do_req(struct t *t, unsigned h, uint32_t type, uint64_t sector, uint32_t len)
{
	uint16_t n = used(t)->idx;

	post_req(t, h, type, sector, len);
	notify(t);
	wait_used(t, (uint16_t)(n + 1));
	return status(t, h);
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + i / 509);
}

static bool file_is(const char *path, uint64_t off, const void *want, size_t len)
{
	uint8_t *got = malloc(len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && got && pread(fd, got, len, (off_t)off) == (ssize_t)len &&
		  !memcmp(got, want, len);

	if (fd >= 0)
		close(fd);
	free(got);
	return ok;
}

static bool file_zero(const char *path, uint64_t off, size_t len)
{
	uint8_t *z = calloc(1, len);
	bool ok = z && file_is(path, off, z, len);

	free(z);
	return ok;
}

static void file_write(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || pwrite(fd, data, len, (off_t)off) != (ssize_t)len || fsync(fd) < 0)
		abort();
	close(fd);
}

static long long file_blocks(const char *path)
{
	struct stat sb;

	return stat(path, &sb) < 0 ? -1 : (long long)sb.st_blocks;
}

static struct virtio_blk_stats stats(struct t *t)
{
	struct virtio_blk_stats st;

	virtio_blk_get_stats(t->dev, &st);
	return st;
}

/* --- features and config ----------------------------------------------------- */

static void t_config(struct unit *u)
{
	struct t *t = t_new_dev(true, false, NULL);
	uint64_t f = fg_dev_features(t->dev);
	uint32_t lo = 0, hi = 0;

	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK);
	CHECK(u, f & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
	CHECK(u, f & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
	CHECK(u, f & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	CHECK(u, f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	CHECK(u, f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	CHECK(u, !(f & VIRTIO_BIT(VIRTIO_BLK_F_RO)));
	CHECK(u, !(f & VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE)));
	CHECK(u, f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	CHECK(u, cfg64(t, VIRTIO_BLK_CFG_CAPACITY) == CAP);
	/* A driver reading the 64-bit capacity as two halves. */
	virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY, &lo, 4);
	virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY + 4, &hi, 4);
	CHECK(u, lo == CAP && hi == 0);
	CHECK(u, cfg32(t, VIRTIO_BLK_CFG_SEG_MAX) >= 1);
	CHECK(u, cfg32(t, VIRTIO_BLK_CFG_BLK_SIZE) == 512);
	CHECK(u, cfg32(t, VIRTIO_BLK_CFG_MAX_DISCARD_SEG) >= 1);
	CHECK(u, cfg32(t, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS) >= 8);
	CHECK(u, cfg32(t, VIRTIO_BLK_CFG_MAX_WZ_SEG) >= 1);
	CHECK(u, cfg32(t, VIRTIO_BLK_CFG_MAX_WZ_SECTORS) >= 8);
	CHECK(u, cfg32(t, VIRTIO_BLK_CFG_DISCARD_ALIGN) == 8);
	CHECK(u, (cfg32(t, VIRTIO_BLK_CFG_WZ_MAY_UNMAP) & 0xff) == 1);
	drv_start(t);
	CHECK(u, (fg_mmio_rd(t->dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK) &&
		     !fg_needs_reset(t->dev));
	t_free(t);
}

/* --- read and write -------------------------------------------------------------- */

/* Many requests in one notify: all in flight together, all land where they should. */
static void t_rw_many(struct unit *u)
{
	enum { N = 16, LEN = 4096 };
	struct t *t = t_new();
	static uint8_t want[N][LEN];
	struct virtio_blk_stats st;
	bool ok = true;

	for (unsigned h = 0; h < N; h++) {
		fill_pattern(want[h], LEN, h + 1);
		memcpy(gp(t, DATA(h)), want[h], LEN);
		/* Scattered over the disk, last one ending at its very end. */
		post_req(t, h, VIRTIO_BLK_T_OUT, h == N - 1 ? CAP - 8 : h * 200 + 3, LEN);
	}
	notify(t);
	CHECK(u, wait_used(t, N) == N);
	st = stats(t);
	CHECK(u, st.max_inflight == N);
	CHECK(u, st.writes == N && st.bytes_written == N * LEN && st.inflight == 0);
	for (unsigned h = 0; h < N; h++) {
		ok &= status(t, h) == VIRTIO_BLK_S_OK;
		ok &= file_is(t->path, (h == N - 1 ? CAP - 8 : h * 200 + 3) * 512, want[h], LEN);
	}
	CHECK(u, ok);
	/* Used lengths: the writable part, i.e. the status byte. */
	CHECK(u, used(t)->ring[0].len == 1);

	for (unsigned h = 0; h < N; h++) {
		memset(gp(t, DATA(h)), 0, LEN);
		post_req(t, h, VIRTIO_BLK_T_IN, h == N - 1 ? CAP - 8 : h * 200 + 3, LEN);
	}
	notify(t);
	CHECK(u, wait_used(t, 2 * N) == 2 * N);
	ok = true;
	for (unsigned h = 0; h < N; h++)
		ok &= status(t, h) == VIRTIO_BLK_S_OK && !memcmp(gp(t, DATA(h)), want[h], LEN);
	CHECK(u, ok);
	CHECK(u, used(t)->ring[N].len == LEN + 1);
	st = stats(t);
	CHECK(u, st.reads == N && st.bytes_read == N * LEN);
	t_free(t);
}

/* 2.6.4: the header, data and status may share or split descriptors. */
static void t_rw_framing(struct unit *u)
{
	struct t *t = t_new();
	uint8_t want[1536], *p;
	struct fg_seg b[5];

	fill_pattern(want, sizeof(want), 9);
	/* OUT: header and first 512 data bytes in one buffer, the rest in two. */
	p = gp(t, DATA(0));
	set_hdr(t, 0, VIRTIO_BLK_T_OUT, 10);
	memcpy(p, gp(t, HDR(0)), 16);
	memcpy(p + 16, want, 1536);
	b[0] = (struct fg_seg){DATA(0), 16 + 512, false};
	b[1] = (struct fg_seg){DATA(0) + 16 + 512, 0, false}; /* empty */
	b[2] = (struct fg_seg){DATA(0) + 16 + 512, 1000, false};
	b[3] = (struct fg_seg){DATA(0) + 16 + 1512, 24, false};
	b[4] = (struct fg_seg){STS(0), 1, true};
	post_chain(t, 0, b, 5);
	notify(t);
	CHECK(u, wait_used(t, 1) == 1 && status(t, 0) == VIRTIO_BLK_S_OK);
	CHECK(u, file_is(t->path, 10 * 512, want, sizeof(want)));

	/* IN: header split 8 + 8; data and status in one buffer. */
	set_hdr(t, 1, VIRTIO_BLK_T_IN, 10);
	p = gp(t, DATA(1));
	memset(p, 0xee, 1537);
	b[0] = (struct fg_seg){HDR(1), 8, false};
	b[1] = (struct fg_seg){HDR(1) + 8, 8, false};
	b[2] = (struct fg_seg){DATA(1), 1537, true};
	post_chain(t, 8, b, 3);
	notify(t);
	CHECK(u, wait_used(t, 2) == 2);
	CHECK(u, !memcmp(p, want, 1536) && p[1536] == VIRTIO_BLK_S_OK);
	CHECK(u, used(t)->ring[1].len == 1537);
	t_free(t);
}

/* Requests are bounded in buffers: 254 (seg_max) work, 257 do not. */
static void t_rw_segments(struct unit *u)
{
	struct t *t = t_new();
	unsigned nbuf[2] = {254, 257};

	CHECK(u, cfg32(t, VIRTIO_BLK_CFG_SEG_MAX) == 254);
	for (unsigned k = 0; k < 2; k++) {
		uint64_t table = FG_BUF + 0x10000; /* 259 entries of 16 bytes */
		unsigned n = nbuf[k], i = 0;

		set_hdr(t, k, VIRTIO_BLK_T_IN, 0);
		fg_set_desc(&t->fg, table, i, HDR(k), 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
		for (i = 1; i <= n; i++)
			fg_set_desc(&t->fg, table, i, DATA(0) + (i - 1) * 512, 512,
				    VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
		fg_set_desc(&t->fg, table, i, STS(k), 1, VIRTQ_DESC_F_WRITE, 0);
		fr_desc(&t->fg, &t->r, 0, table, 16 * (n + 2), VIRTQ_DESC_F_INDIRECT, 0);
		fr_post(&t->fg, &t->r, 0);
		notify(t);
		CHECK(u, wait_used(t, (uint16_t)(k + 1)) == k + 1);
	}
	CHECK(u, status(t, 0) == VIRTIO_BLK_S_OK);
	CHECK(u, status(t, 1) == VIRTIO_BLK_S_IOERR);
	/* Refused by the device, not by the host kernel. */
	CHECK(u, stats(t).host_errors == 0);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* --- guest mistakes answered with a status -------------------------------------------- */

static void t_out_of_range(struct unit *u)
{
	struct t *t = t_new();

	CHECK(u, do_req(t, 0, VIRTIO_BLK_T_IN, CAP, 512) == VIRTIO_BLK_S_IOERR);
	CHECK(u, do_req(t, 1, VIRTIO_BLK_T_IN, CAP - 1, 1024) == VIRTIO_BLK_S_IOERR);
	CHECK(u, do_req(t, 2, VIRTIO_BLK_T_OUT, CAP - 1, 1024) == VIRTIO_BLK_S_IOERR);
	/* Sector + length wrapping around 2^64, and sector * 512 overflowing. */
	CHECK(u, do_req(t, 3, VIRTIO_BLK_T_IN, UINT64_MAX, 1024) == VIRTIO_BLK_S_IOERR);
	CHECK(u, do_req(t, 4, VIRTIO_BLK_T_OUT, 1ULL << 55, 512) == VIRTIO_BLK_S_IOERR);
	/* The last sector itself is fine. */
	CHECK(u, do_req(t, 5, VIRTIO_BLK_T_IN, CAP - 1, 512) == VIRTIO_BLK_S_OK);
	CHECK(u, do_req(t, 6, VIRTIO_BLK_T_IN, CAP, 0) == VIRTIO_BLK_S_OK);
	CHECK(u, stats(t).ioerr == 5 && stats(t).host_errors == 0);
	CHECK(u, file_blocks(t->path) == 0);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

static void t_bad_length(struct unit *u)
{
	struct t *t = t_new();

	memset(gp(t, DATA(0)), 0x5a, 1000);
	CHECK(u, do_req(t, 0, VIRTIO_BLK_T_OUT, 0, 1000) == VIRTIO_BLK_S_IOERR);
	CHECK(u, do_req(t, 1, VIRTIO_BLK_T_IN, 0, 100) == VIRTIO_BLK_S_IOERR);
	CHECK(u, do_req(t, 2, VIRTIO_BLK_T_IN, 0, 513) == VIRTIO_BLK_S_IOERR);
	CHECK(u, file_zero(t->path, 0, 4096) && file_blocks(t->path) == 0);
	CHECK(u, stats(t).host_errors == 0);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* Reads only into writable buffers, writes only from readable ones. */
static void t_wrong_direction(struct unit *u)
{
	struct t *t = t_new();
	struct fg_seg b[3];

	/* IN whose data buffer is device-readable. */
	set_hdr(t, 0, VIRTIO_BLK_T_IN, 0);
	b[0] = (struct fg_seg){HDR(0), 16, false};
	b[1] = (struct fg_seg){DATA(0), 512, false};
	b[2] = (struct fg_seg){STS(0), 1, true};
	post_chain(t, 0, b, 3);
	/* OUT whose data buffer is device-writable. */
	memset(gp(t, DATA(1)), 0x77, 512);
	set_hdr(t, 1, VIRTIO_BLK_T_OUT, 0);
	b[0] = (struct fg_seg){HDR(1), 16, false};
	b[1] = (struct fg_seg){DATA(1), 512, true};
	b[2] = (struct fg_seg){STS(1), 1, true};
	post_chain(t, 3, b, 3);
	notify(t);
	CHECK(u, wait_used(t, 2) == 2);
	CHECK(u, status(t, 0) == VIRTIO_BLK_S_IOERR && status(t, 1) == VIRTIO_BLK_S_IOERR);
	CHECK(u, file_zero(t->path, 0, 512));
	CHECK(u, stats(t).host_errors == 0);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

static void t_unsupported(struct unit *u)
{
	struct t *t = t_new();

	CHECK(u, do_req(t, 0, 99, 0, 0) == VIRTIO_BLK_S_UNSUPP);
	CHECK(u, do_req(t, 1, VIRTIO_BLK_T_GET_LIFETIME, 0, 16) == VIRTIO_BLK_S_UNSUPP);
	CHECK(u, do_req(t, 2, VIRTIO_BLK_T_SECURE_ERASE, 0, 0) == VIRTIO_BLK_S_UNSUPP);
	CHECK(u, stats(t).unsupp == 3 && !fg_needs_reset(t->dev));
	t_free(t);
}

/* --- chains that are not block requests: needs-reset -------------------------------- */

static void t_malformed(struct unit *u)
{
	struct t *t = t_new();
	struct fg_seg b[2];

	/* An 8-byte header. */
	set_hdr(t, 0, VIRTIO_BLK_T_IN, 0);
	b[0] = (struct fg_seg){HDR(0), 8, false};
	b[1] = (struct fg_seg){STS(0), 1, true};
	post_chain(t, 0, b, 2);
	notify(t);
	wait_used(t, 1);
	CHECK(u, fg_needs_reset(t->dev) && used(t)->idx == 0);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	/* Stopped: a good request is not taken until the driver resets. */
	post_req(t, 1, VIRTIO_BLK_T_FLUSH, 0, 0);
	notify(t);
	wait_used(t, 1);
	CHECK(u, used(t)->idx == 0);
	t_free(t);

	/* No device-writable byte for the status. */
	t = t_new();
	memset(gp(t, DATA(0)), 0x33, 512);
	set_hdr(t, 0, VIRTIO_BLK_T_OUT, 0);
	b[0] = (struct fg_seg){HDR(0), 16, false};
	b[1] = (struct fg_seg){DATA(0), 512, false};
	post_chain(t, 0, b, 2);
	notify(t);
	wait_used(t, 1);
	CHECK(u, fg_needs_reset(t->dev) && used(t)->idx == 0);
	CHECK(u, file_zero(t->path, 0, 512));

	/* After a reset the device works again. */
	fg_mmio_wr(t->dev, VIRTIO_MMIO_STATUS, 0);
	memset(gp(t, 0), 0, FG_BUF);
	drv_start(t);
	CHECK(u, !fg_needs_reset(t->dev));
	CHECK(u, do_req(t, 1, VIRTIO_BLK_T_FLUSH, 0, 0) == VIRTIO_BLK_S_OK);
	t_free(t);
}

/* --- flush ------------------------------------------------------------------------ */

static void t_flush(struct unit *u)
{
	struct t *t = t_new();
	struct virtio_blk_stats st;

	/*
	 * Writes, a flush, a read in one batch. The flush is a full barrier:
	 * answered after the writes, and the read (a page cache hit that
	 * would otherwise finish at once) waits for the fdatasync.
	 */
	for (unsigned h = 0; h < 4; h++) {
		fill_pattern(gp(t, DATA(h)), 4096, h);
		post_req(t, h, VIRTIO_BLK_T_OUT, h * 8, 4096);
	}
	post_req(t, 4, VIRTIO_BLK_T_FLUSH, 0, 0);
	post_req(t, 5, VIRTIO_BLK_T_IN, 0, 4096);
	notify(t);
	CHECK(u, wait_used(t, 6) == 6);
	CHECK(u, status(t, 4) == VIRTIO_BLK_S_OK && status(t, 5) == VIRTIO_BLK_S_OK);
	CHECK(u, used(t)->ring[4].id == 12 && used(t)->ring[5].id == 15);
	st = stats(t);
	CHECK(u, st.flushes == 1 && st.writes == 4 && st.reads == 1);
	t_free(t);

	/*
	 * The flush really calls fdatasync on the image: procfs files cannot
	 * be synced (EINVAL), and that must come back as IOERR.
	 */
	t = calloc(1, sizeof(*t));
	if (!t || fg_init(&t->fg) < 0 || ev_create(&t->ev) < 0)
		abort();
	CHECK(u, virtio_blk_create(&t->dev, &t->fg.gm, t->ev, "/proc/version", true, NULL) == 0);
	drv_start(t);
	CHECK(u, do_req(t, 0, VIRTIO_BLK_T_FLUSH, 0, 0) == VIRTIO_BLK_S_IOERR);
	CHECK(u, stats(t).flushes == 0 && stats(t).host_errors == 1);
	t_free(t);
}

/* --- discard and write zeroes -------------------------------------------------------- */

/* Post a DISCARD/WRITE_ZEROES at slot h with n segments. */
static void post_segs(struct t *t, unsigned h, uint32_t type, const struct virtio_blk_seg *s,
		      unsigned n)
{
	struct fg_seg b[3];

	set_hdr(t, h, type, 0);
	memcpy(gp(t, SEGS(h)), s, n * sizeof(*s));
	b[0] = (struct fg_seg){HDR(h), 16, false};
	b[1] = (struct fg_seg){SEGS(h), (uint32_t)(n * sizeof(*s)), false};
	b[2] = (struct fg_seg){STS(h), 1, true};
	post_chain(t, (uint16_t)(3 * h), b, 3);
}

static uint8_t do_segs(struct t *t, unsigned h, uint32_t type, const struct virtio_blk_seg *s,
		       unsigned n)
{
	uint16_t k = used(t)->idx;

	post_segs(t, h, type, s, n);
	notify(t);
	wait_used(t, (uint16_t)(k + 1));
	return status(t, h);
}

/* 1 MiB of data written by the host at the start of the image. */
static uint8_t *fill_image(struct t *t)
{
	uint8_t *data = malloc(1 << 20);

	if (!data)
		abort();
	fill_pattern(data, 1 << 20, 3);
	file_write(t->path, 0, data, 1 << 20);
	return data;
}

static void t_discard(struct unit *u)
{
	struct t *t = t_new();
	uint8_t *data = fill_image(t);
	long long before = file_blocks(t->path), after;
	struct virtio_blk_seg s[2] = {
	    {.sector = 256, .num_sectors = 512},  /* 128 KiB .. 384 KiB */
	    {.sector = 1024, .num_sectors = 256}, /* 512 KiB .. 640 KiB */
	};

	CHECK(u, before >= 2048);
	CHECK(u, do_segs(t, 0, VIRTIO_BLK_T_DISCARD, s, 2) == VIRTIO_BLK_S_OK);
	after = file_blocks(t->path);
	/* The sparse image gave back what was discarded. */
	CHECK(u, after <= before - 768);
	CHECK(u,
	      file_zero(t->path, 128 << 10, 256 << 10) && file_zero(t->path, 512 << 10, 128 << 10));
	CHECK(u, file_is(t->path, 0, data, 128 << 10));
	CHECK(u, file_is(t->path, 384 << 10, data + (384 << 10), 128 << 10));
	CHECK(u, file_is(t->path, 640 << 10, data + (640 << 10), 384 << 10));
	CHECK(u, stats(t).discards == 1);
	free(data);
	t_free(t);
}

static void t_discard_bad(struct unit *u)
{
	struct t *t = t_new();
	uint8_t *data = fill_image(t);
	uint32_t max_seg = cfg32(t, VIRTIO_BLK_CFG_MAX_DISCARD_SEG);
	uint32_t max_sec = cfg32(t, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS);
	static struct virtio_blk_seg many[64];
	struct virtio_blk_seg s;
	struct fg_seg b[3];

	/* More segments than max_discard_seg. */
	CHECK(u, max_seg < 64);
	for (unsigned i = 0; i < 64; i++)
		many[i] = (struct virtio_blk_seg){.sector = i * 8, .num_sectors = 8};
	CHECK(u, do_segs(t, 0, VIRTIO_BLK_T_DISCARD, many, max_seg + 1) == VIRTIO_BLK_S_IOERR);
	/* A segment past the end, one wrapping around, one too long. */
	s = (struct virtio_blk_seg){.sector = CAP - 4, .num_sectors = 8};
	CHECK(u, do_segs(t, 1, VIRTIO_BLK_T_DISCARD, &s, 1) == VIRTIO_BLK_S_IOERR);
	s = (struct virtio_blk_seg){.sector = UINT64_MAX - 2, .num_sectors = 8};
	CHECK(u, do_segs(t, 2, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1) == VIRTIO_BLK_S_IOERR);
	s = (struct virtio_blk_seg){.sector = 0, .num_sectors = max_sec + 1};
	CHECK(u, do_segs(t, 3, VIRTIO_BLK_T_DISCARD, &s, 1) == VIRTIO_BLK_S_IOERR);
	/* 5.2.6.2: unmap on a discard, unknown flags anywhere: UNSUPP. */
	s = (struct virtio_blk_seg){
	    .sector = 0, .num_sectors = 8, .flags = VIRTIO_BLK_WZ_FLAG_UNMAP};
	CHECK(u, do_segs(t, 4, VIRTIO_BLK_T_DISCARD, &s, 1) == VIRTIO_BLK_S_UNSUPP);
	s.flags = 2;
	CHECK(u, do_segs(t, 5, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1) == VIRTIO_BLK_S_UNSUPP);
	/* A payload that is not whole segments, and none at all. */
	set_hdr(t, 6, VIRTIO_BLK_T_DISCARD, 0);
	b[0] = (struct fg_seg){HDR(6), 16, false};
	b[1] = (struct fg_seg){SEGS(6), 24, false};
	b[2] = (struct fg_seg){STS(6), 1, true};
	post_chain(t, 18, b, 3);
	notify(t);
	CHECK(u, wait_used(t, 7) == 7 && status(t, 6) == VIRTIO_BLK_S_IOERR);
	CHECK(u, do_req(t, 7, VIRTIO_BLK_T_WRITE_ZEROES, 0, 0) == VIRTIO_BLK_S_IOERR);
	/* Nothing was touched, nothing reached the host kernel. */
	CHECK(u, file_is(t->path, 0, data, 1 << 20));
	CHECK(u, stats(t).host_errors == 0 && stats(t).max_inflight == 0);
	CHECK(u, !fg_needs_reset(t->dev));
	free(data);
	t_free(t);
}

static void t_write_zeroes(struct unit *u)
{
	struct t *t = t_new();
	uint8_t *data = fill_image(t);
	long long before = file_blocks(t->path);
	struct virtio_blk_seg s = {
	    .sector = 0, .num_sectors = 512, .flags = VIRTIO_BLK_WZ_FLAG_UNMAP};

	/* With unmap: a hole. */
	CHECK(u, do_segs(t, 0, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1) == VIRTIO_BLK_S_OK);
	CHECK(u, file_zero(t->path, 0, 256 << 10));
	CHECK(u, file_blocks(t->path) <= before - 512);
	CHECK(u, file_is(t->path, 256 << 10, data + (256 << 10), 768 << 10));
	/* Without: zeroes, allocation kept or not as the host fs does it. */
	s = (struct virtio_blk_seg){.sector = 600, .num_sectors = 100};
	CHECK(u, do_segs(t, 1, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1) == VIRTIO_BLK_S_OK);
	CHECK(u, file_zero(t->path, 600 * 512, 100 * 512));
	CHECK(u, file_is(t->path, 256 << 10, data + (256 << 10), (600 - 512) * 512));
	CHECK(u, file_is(t->path, 700 * 512, data + 700 * 512, (1 << 20) - 700 * 512));
	CHECK(u, stats(t).write_zeroes == 2);
	free(data);
	t_free(t);
}

/*
 * Where the host fs cannot zero a range in place (tmpfs), WRITE_ZEROES
 * without unmap punches a hole instead: the guest still reads zeroes.
 */
static void t_write_zeroes_fallback(struct unit *u)
{
	struct t *t = t_new_dev(false, false, NULL);
	struct virtio_blk_seg s = {.sector = 8, .num_sectors = 16};
	uint8_t *data;
	int fd;

	drv_start(t);
	unlink(t->path);
	snprintf(t->path, sizeof(t->path), "/dev/shm/lxs-test-blk-XXXXXX");
	fd = mkstemp(t->path);
	if (fd < 0) {
		/* No tmpfs here: nothing to test. */
		t->path[0] = 0;
		t_free(t);
		return;
	}
	CHECK(u, ftruncate(fd, IMG_MB << 20) == 0);
	close(fd);
	CHECK(u, virtio_blk_attach(t->dev, t->path, false, NULL) == 0);
	data = fill_image(t);
	CHECK(u, do_segs(t, 0, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1) == VIRTIO_BLK_S_OK);
	CHECK(u, file_zero(t->path, 8 * 512, 16 * 512));
	CHECK(u, file_is(t->path, 0, data, 8 * 512));
	CHECK(u, file_is(t->path, 24 * 512, data + 24 * 512, (1 << 20) - 24 * 512));
	/* Remembered: the next one goes straight to punching. */
	s.sector = 64;
	CHECK(u, do_segs(t, 1, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1) == VIRTIO_BLK_S_OK);
	CHECK(u, file_zero(t->path, 64 * 512, 16 * 512));
	CHECK(u, stats(t).write_zeroes == 2 && stats(t).host_errors == 0);
	free(data);
	t_free(t);
}

/* --- GET_ID -------------------------------------------------------------------------- */

static void t_get_id(struct unit *u)
{
	struct t *t = t_new();
	uint8_t *p = gp(t, DATA(0));

	memset(p, 0xcc, 32);
	CHECK(u, do_req(t, 0, VIRTIO_BLK_T_GET_ID, 0, 20) == VIRTIO_BLK_S_OK);
	CHECK(u, !memcmp(p, "lxs-serial-0123\0\0\0\0\0", 20) && p[20] == 0xcc);
	CHECK(u, used(t)->ring[0].len == 21);
	/* Too small a buffer for the 20 bytes. */
	CHECK(u, do_req(t, 1, VIRTIO_BLK_T_GET_ID, 0, 19) == VIRTIO_BLK_S_IOERR);
	t_free(t);

	/* Longer serials are cut to 20 bytes, without a terminator. */
	t = t_new_dev(true, false, "0123456789abcdefghijKLMNOP");
	drv_start(t);
	p = gp(t, DATA(0));
	memset(p, 0xcc, 32);
	CHECK(u, do_req(t, 0, VIRTIO_BLK_T_GET_ID, 0, 24) == VIRTIO_BLK_S_OK);
	CHECK(u, !memcmp(p, "0123456789abcdefghij", 20) && p[20] == 0xcc);
	t_free(t);
}

/* --- read-only --------------------------------------------------------------------- */

static void t_read_only(struct unit *u)
{
	struct t *t = t_new_dev(true, true, NULL);
	struct virtio_blk_seg s = {.sector = 0, .num_sectors = 8};
	uint8_t *data;

	CHECK(u, fg_dev_features(t->dev) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	drv_start(t);
	data = fill_image(t);
	memset(gp(t, DATA(0)), 0x11, 4096);
	CHECK(u, do_req(t, 0, VIRTIO_BLK_T_OUT, 0, 4096) == VIRTIO_BLK_S_IOERR);
	CHECK(u, do_segs(t, 1, VIRTIO_BLK_T_DISCARD, &s, 1) == VIRTIO_BLK_S_IOERR);
	s.flags = VIRTIO_BLK_WZ_FLAG_UNMAP;
	CHECK(u, do_segs(t, 2, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1) == VIRTIO_BLK_S_IOERR);
	CHECK(u, file_is(t->path, 0, data, 1 << 20));
	/* 5.2.6.2: refused by the device itself, nothing issued to the file. */
	CHECK(u, stats(t).max_inflight == 0 && stats(t).ioerr == 3);
	CHECK(u, do_req(t, 3, VIRTIO_BLK_T_IN, 0, 4096) == VIRTIO_BLK_S_OK);
	CHECK(u, !memcmp(gp(t, DATA(3)), data, 4096));
	CHECK(u, do_req(t, 4, VIRTIO_BLK_T_FLUSH, 0, 0) == VIRTIO_BLK_S_OK);
	CHECK(u, stats(t).read_only);
	/* A read-only slot cannot take an image writable. */
	CHECK(u, virtio_blk_detach(t->dev) == 0);
	CHECK(u, virtio_blk_attach(t->dev, t->path, false, NULL) == -EROFS);
	free(data);
	t_free(t);
}

/* --- hot attach and detach ----------------------------------------------------------- */

static void t_attach_detach(struct unit *u)
{
	struct t *t = t_new_dev(false, false, "empty");
	struct virtio_blk_stats st;
	uint32_t gen;
	int irqs;

	CHECK(u, cfg64(t, VIRTIO_BLK_CFG_CAPACITY) == 0);
	drv_start(t);
	CHECK(u, do_req(t, 0, VIRTIO_BLK_T_IN, 0, 512) == VIRTIO_BLK_S_IOERR);
	CHECK(u, do_req(t, 1, VIRTIO_BLK_T_FLUSH, 0, 0) == VIRTIO_BLK_S_OK);
	CHECK(u, virtio_blk_detach(t->dev) == -ENOMEDIUM);

	/* Attach: capacity, generation, config interrupt. */
	gen = fg_mmio_rd(t->dev, VIRTIO_MMIO_CONFIG_GENERATION);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_INTERRUPT_ACK,
		   fg_mmio_rd(t->dev, VIRTIO_MMIO_INTERRUPT_STATUS));
	irqs = t->irqs;
	CHECK(u, virtio_blk_attach(t->dev, "/nonexistent/image", false, NULL) == -ENOENT);
	CHECK(u, virtio_blk_attach(t->dev, t->path, false, "disk-1") == 0);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_CONFIG_GENERATION) == gen + 1);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	CHECK(u, t->irqs == irqs + 1);
	CHECK(u, cfg64(t, VIRTIO_BLK_CFG_CAPACITY) == CAP);
	CHECK(u, virtio_blk_attach(t->dev, t->path, false, NULL) == -EBUSY);
	memset(gp(t, DATA(2)), 0x42, 512);
	CHECK(u, do_req(t, 2, VIRTIO_BLK_T_OUT, CAP - 1, 512) == VIRTIO_BLK_S_OK);
	CHECK(u, do_req(t, 3, VIRTIO_BLK_T_GET_ID, 0, 20) == VIRTIO_BLK_S_OK);
	CHECK(u, !memcmp(gp(t, DATA(3)), "disk-1\0", 7));

	/*
	 * Detach with a flush in flight (fdatasync of fresh dirty data goes
	 * to an io_uring worker): it is waited for and answered.
	 */
	fill_pattern(gp(t, DATA(4)), DATA_MAX, 4);
	post_req(t, 4, VIRTIO_BLK_T_OUT, 64, DATA_MAX);
	post_req(t, 5, VIRTIO_BLK_T_FLUSH, 0, 0);
	notify(t);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_INTERRUPT_ACK,
		   fg_mmio_rd(t->dev, VIRTIO_MMIO_INTERRUPT_STATUS));
	irqs = t->irqs;
	CHECK(u, virtio_blk_detach(t->dev) == 0);
	st = stats(t);
	CHECK(u, st.inflight == 0 && !st.attached && st.capacity == 0);
	CHECK(u, used(t)->idx == 6);
	CHECK(u, status(t, 4) == VIRTIO_BLK_S_OK && status(t, 5) == VIRTIO_BLK_S_OK);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_CONFIG_GENERATION) == gen + 2);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	CHECK(u, t->irqs > irqs);
	CHECK(u, cfg64(t, VIRTIO_BLK_CFG_CAPACITY) == 0);
	CHECK(u, do_req(t, 6, VIRTIO_BLK_T_IN, 0, 512) == VIRTIO_BLK_S_IOERR);
	CHECK(u, file_is(t->path, (CAP - 1) * 512, gp(t, DATA(2)), 512));
	CHECK(u, file_is(t->path, 64 * 512, gp(t, DATA(4)), DATA_MAX));

	/* And in again, read-only this time: writes are refused. */
	CHECK(u, virtio_blk_attach(t->dev, t->path, true, NULL) == 0);
	CHECK(u, cfg64(t, VIRTIO_BLK_CFG_CAPACITY) == CAP);
	CHECK(u, do_req(t, 7, VIRTIO_BLK_T_IN, CAP - 1, 512) == VIRTIO_BLK_S_OK);
	CHECK(u, gp(t, DATA(7))[0] == 0x42);
	CHECK(u, do_req(t, 8, VIRTIO_BLK_T_OUT, 0, 512) == VIRTIO_BLK_S_IOERR);
	CHECK(u, stats(t).host_errors == 0);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* Two writers of one image are refused; readers may share it. */
static void t_image_lock(struct unit *u)
{
	struct t *t = t_new_dev(true, false, NULL);
	struct virtio_dev *d2 = NULL;

	CHECK(u, virtio_blk_create(&d2, &t->fg.gm, t->ev, t->path, false, NULL) == -EBUSY);
	CHECK(u, virtio_blk_create(&d2, &t->fg.gm, t->ev, t->path, true, NULL) == -EBUSY);
	CHECK(u, virtio_blk_detach(t->dev) == 0);
	CHECK(u, virtio_blk_attach(t->dev, t->path, true, NULL) == 0);
	CHECK(u, virtio_blk_create(&d2, &t->fg.gm, t->ev, t->path, true, NULL) == 0);
	virtio_blk_destroy(d2);
	t_free(t);
}

/* --- queue depth and reset ------------------------------------------------------------ */

/* More requests than slots: the device stops at 128 and resumes on completions. */
static void t_queue_full(struct unit *u)
{
	enum { N = 200 };
	struct t *t = t_new();
	struct virtio_blk_stats st;
	bool ok = true;

	for (unsigned h = 0; h < N; h++) {
		set_hdr(t, h, VIRTIO_BLK_T_FLUSH, 0);
		fg_set_desc(&t->fg, IND(h), 0, HDR(h), 16, VIRTQ_DESC_F_NEXT, 1);
		fg_set_desc(&t->fg, IND(h), 1, STS(h), 1, VIRTQ_DESC_F_WRITE, 0);
		fr_desc(&t->fg, &t->r, h, IND(h), 32, VIRTQ_DESC_F_INDIRECT, 0);
		fr_post(&t->fg, &t->r, (uint16_t)h);
	}
	notify(t);
	CHECK(u, wait_used(t, N) == N);
	for (unsigned h = 0; h < N; h++)
		ok &= status(t, h) == VIRTIO_BLK_S_OK;
	CHECK(u, ok);
	st = stats(t);
	CHECK(u, st.max_inflight == 128 && st.flushes == N && st.inflight == 0);
	t_free(t);
}

/* A reset waits for the I/O in flight and does not answer it afterwards. */
static void t_reset_drains(struct unit *u)
{
	struct t *t = t_new();
	struct virtio_blk_stats st;
	uint16_t idx;

	fill_pattern(gp(t, DATA(0)), DATA_MAX, 1);
	post_req(t, 0, VIRTIO_BLK_T_OUT, 0, DATA_MAX);
	post_req(t, 1, VIRTIO_BLK_T_FLUSH, 0, 0);
	notify(t);
	st = stats(t);
	idx = used(t)->idx;
	fg_mmio_wr(t->dev, VIRTIO_MMIO_STATUS, 0);
	CHECK(u, stats(t).inflight == 0);
	if (st.inflight) {
		/* The flush was still running: nothing was written for it. */
		CHECK(u, used(t)->idx == idx && status(t, 1) == 0xff);
	}
	/* Nothing is left for the event loop either. */
	ev_run_once(t->ev, 50);
	CHECK(u, used(t)->idx == idx);
	CHECK(u, file_is(t->path, 0, gp(t, DATA(0)), DATA_MAX));

	memset(gp(t, 0), 0, FG_BUF);
	drv_start(t);
	CHECK(u, do_req(t, 2, VIRTIO_BLK_T_IN, 0, 512) == VIRTIO_BLK_S_OK);
	CHECK(u, !memcmp(gp(t, DATA(2)), gp(t, DATA(0)), 512));
	t_free(t);
}

/* Requests posted before DRIVER_OK are taken when it comes. */
static void t_before_driver_ok(struct unit *u)
{
	struct t *t = t_new_dev(true, false, NULL);

	t->r = fr_make(0, QSIZE);
	post_req(t, 0, VIRTIO_BLK_T_IN, 0, 512);
	drv_start(t);
	CHECK(u, wait_used(t, 1) == 1 && status(t, 0) == VIRTIO_BLK_S_OK);
	t_free(t);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_config);
	RUN(&u, t_rw_many);
	RUN(&u, t_rw_framing);
	RUN(&u, t_rw_segments);
	RUN(&u, t_out_of_range);
	RUN(&u, t_bad_length);
	RUN(&u, t_wrong_direction);
	RUN(&u, t_unsupported);
	RUN(&u, t_malformed);
	RUN(&u, t_flush);
	RUN(&u, t_discard);
	RUN(&u, t_discard_bad);
	RUN(&u, t_write_zeroes);
	RUN(&u, t_write_zeroes_fallback);
	RUN(&u, t_get_id);
	RUN(&u, t_read_only);
	RUN(&u, t_attach_detach);
	RUN(&u, t_image_lock);
	RUN(&u, t_queue_full);
	RUN(&u, t_reset_drains);
	RUN(&u, t_before_driver_ok);
	return unit_done(&u);
}
