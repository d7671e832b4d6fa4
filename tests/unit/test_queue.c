/*
 * test_queue.c - split virtqueue checks (queue.c) against hand-built rings
 * in a fake guest. Each bad-input case sets up an otherwise good queue and
 * breaks exactly one thing, then expects that check's errno: removing the
 * check makes the case fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fake_guest.h"
#include "unit.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define ALL_FEATURES                                                                               \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |                     \
	 VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))
#define NO_EXTRAS VIRTIO_BIT(VIRTIO_F_VERSION_1)

#define ITAB 0x20000u /* an indirect table */

struct t {
	struct fake_guest fg;
	struct fake_ring r;
	struct virtqueue vq;
	struct vq_chain c;
};

/* A fresh guest with queue 0 of `size` entries programmed (not enabled). */
static struct t *t_new(uint16_t size)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fg_init(&t->fg) < 0)
		abort();
	t->r = fr_make(0, size);
	vq_init(&t->vq, 256);
	t->vq.num = size;
	t->vq.desc_gpa = t->r.desc;
	t->vq.avail_gpa = t->r.avail;
	t->vq.used_gpa = t->r.used;
	return t;
}

/* Same, enabled with `features`. */
static struct t *t_ready(uint16_t size, uint64_t features)
{
	struct t *t = t_new(size);

	if (vq_enable(&t->vq, &t->fg.gm, features) != 0)
		abort();
	return t;
}

static void t_free(struct t *t)
{
	fg_fini(&t->fg);
	free(t);
}

/* Post a one-descriptor chain at desc 0 and pop it. */
static int pop_one(struct t *t, uint64_t addr, uint32_t len, uint16_t flags)
{
	fr_desc(&t->fg, &t->r, 0, addr, len, flags, 0);
	fr_post(&t->fg, &t->r, 0);
	return vq_pop(&t->vq, &t->c);
}

/* --- good paths ------------------------------------------------------------ */

static void t_good_chain(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);
	struct vring_used *used = fr_used(&t->fg, &t->r);
	char buf[16];

	memcpy(fg_ptr(&t->fg, FG_BUF), "request-payload!", 16);
	fr_desc(&t->fg, &t->r, 3, FG_BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	fr_desc(&t->fg, &t->r, 5, FG_BUF + 0x1000, 32, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 6);
	fr_desc(&t->fg, &t->r, 6, FG_BUF + 0x2000, 8, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 3);

	CHECK(u, vq_pop(&t->vq, &t->c) == 1);
	CHECK(u, t->c.head == 3);
	CHECK(u, t->c.n_rd == 1 && t->c.n_wr == 2);
	CHECK(u, t->c.rd_bytes == 16 && t->c.wr_bytes == 40);
	CHECK(u, t->c.iov[0].iov_base == fg_ptr(&t->fg, FG_BUF) && t->c.iov[0].iov_len == 16);
	CHECK(u,
	      t->c.iov[1].iov_base == fg_ptr(&t->fg, FG_BUF + 0x1000) && t->c.iov[1].iov_len == 32);
	CHECK(u,
	      t->c.iov[2].iov_base == fg_ptr(&t->fg, FG_BUF + 0x2000) && t->c.iov[2].iov_len == 8);
	CHECK(u, vq_chain_wr(&t->c) == &t->c.iov[1]);

	/* Copy helpers cross buffer boundaries and stop at the part's end. */
	CHECK(u, vq_chain_read(&t->c, 8, buf, sizeof(buf)) == 8 && !memcmp(buf, "payload!", 8));
	CHECK(u, vq_chain_write(&t->c, 30, "abcdef", 6) == 6);
	CHECK(u, !memcmp(fg_ptr(&t->fg, FG_BUF + 0x1000 + 30), "ab", 2));
	CHECK(u, !memcmp(fg_ptr(&t->fg, FG_BUF + 0x2000), "cdef", 4));
	CHECK(u, vq_chain_write(&t->c, 38, "xyz", 3) == 2);

	CHECK(u, vq_pop(&t->vq, &t->c) == 0);
	vq_push(&t->vq, 3, 36);
	CHECK(u, used->idx == 1);
	CHECK(u, used->ring[0].id == 3 && used->ring[0].len == 36);
	t_free(t);
}

/* Indices wrap at 2^16 and ring slots at the queue size. */
static void t_many_chains_wrap(struct unit *u)
{
	struct t *t = t_ready(4, ALL_FEATURES);
	struct vring_used *used = fr_used(&t->fg, &t->r);

	for (unsigned i = 0; i < 70000; i++) {
		uint16_t head = i % 4;

		fr_desc(&t->fg, &t->r, head, FG_BUF + head * 64, 64, 0, 0);
		fr_post(&t->fg, &t->r, head);
		if (vq_pop(&t->vq, &t->c) != 1 || t->c.head != head) {
			CHECK(u, !"pop failed");
			break;
		}
		vq_push(&t->vq, head, i);
		if (used->idx != (uint16_t)(i + 1) || used->ring[i % 4].id != head ||
		    used->ring[i % 4].len != i) {
			CHECK(u, !"used ring wrong");
			break;
		}
	}
	CHECK(u, vq_pop(&t->vq, &t->c) == 0);
	t_free(t);
}

static void t_full_ring(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);
	int n = 0;

	/* avail idx exactly `size` ahead is a full ring, not an error. */
	for (uint16_t i = 0; i < 8; i++) {
		fr_desc(&t->fg, &t->r, i, FG_BUF, 1, 0, 0);
		fr_post(&t->fg, &t->r, i);
	}
	while (vq_pop(&t->vq, &t->c) == 1)
		n++;
	CHECK(u, n == 8);
	CHECK(u, t->vq.error == 0);
	t_free(t);
}

static void t_unpop(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	fr_desc(&t->fg, &t->r, 2, FG_BUF, 4, 0, 0);
	fr_post(&t->fg, &t->r, 2);
	CHECK(u, vq_pop(&t->vq, &t->c) == 1 && t->c.head == 2);
	vq_unpop(&t->vq);
	CHECK(u, vq_pop(&t->vq, &t->c) == 1 && t->c.head == 2);
	CHECK(u, vq_pop(&t->vq, &t->c) == 0);
	t_free(t);
}

static void t_not_ready(struct unit *u)
{
	struct t *t = t_new(8);

	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, 0, 0);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == 0);
	t_free(t);
}

/* A chain copied out is not affected by the guest rewriting its descriptors. */
static void t_chain_is_a_copy(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	CHECK(u, pop_one(t, FG_BUF, 16, 0) == 1);
	fr_desc(&t->fg, &t->r, 0, ~0ULL, ~0u, VIRTQ_DESC_F_WRITE, 0);
	CHECK(u, t->c.iov[0].iov_base == fg_ptr(&t->fg, FG_BUF) && t->c.iov[0].iov_len == 16);
	CHECK(u, t->c.n_rd == 1 && t->c.n_wr == 0);
	t_free(t);
}

/* --- vq_enable: queue size and ring placement -------------------------------- */

static void t_queue_size(struct unit *u)
{
	static const uint32_t bad[] = {0, 3, 6, 255, 512, 65536, 0x80000000u};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct t *t = t_new(8);

		t->vq.num = bad[i];
		CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EINVAL);
		CHECK(u, !t->vq.ready);
		t_free(t);
	}
	for (uint32_t n = 1; n <= 256; n *= 2) {
		struct t *t = t_new(8);

		t->vq.num = n;
		CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == 0);
		CHECK(u, t->vq.ready && t->vq.size == n);
		t_free(t);
	}
}

static void t_ring_misaligned(struct unit *u)
{
	struct t *t;

	t = t_new(8);
	t->vq.desc_gpa += 8;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EINVAL);
	t_free(t);

	t = t_new(8);
	t->vq.avail_gpa += 1;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EINVAL);
	t_free(t);

	t = t_new(8);
	t->vq.used_gpa += 2;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EINVAL);
	t_free(t);

	/* The lesser alignments are enough. */
	t = t_new(8);
	t->vq.avail_gpa += 2;
	t->vq.used_gpa += 4;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == 0);
	t_free(t);
}

static void t_ring_outside_ram(struct unit *u)
{
	struct t *t;

	/* Descriptor table running off the end of RAM by one entry. */
	t = t_new(8);
	t->vq.desc_gpa = FG_RAM - 16 * 7;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EFAULT);
	CHECK(u, !t->vq.ready);
	t_free(t);

	/* Available ring whose used_event field is the only part outside. */
	t = t_new(8);
	t->vq.avail_gpa = FG_RAM - (4 + 2 * 8);
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EFAULT);
	t_free(t);

	/* Used ring whose avail_event field is the only part outside. */
	t = t_new(8);
	t->vq.used_gpa = FG_RAM - (4 + 8 * 8);
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EFAULT);
	t_free(t);

	/* Far away, and at the very top of the address space. */
	t = t_new(8);
	t->vq.used_gpa = 0x100000000ULL;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EFAULT);
	t_free(t);

	t = t_new(8);
	t->vq.desc_gpa = ~0ULL - 15;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == -EFAULT);
	t_free(t);

	/* Ending exactly at the end of RAM is fine. */
	t = t_new(8);
	t->vq.avail_gpa = FG_RAM - (6 + 2 * 8);
	t->vq.used_gpa = FG_RAM - 0x1000 - (6 + 8 * 8) - 2;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == 0);
	t_free(t);
}

/* --- vq_pop: the chain ---------------------------------------------------------- */

static void t_desc_outside_ram(struct unit *u)
{
	struct t *t;

	t = t_ready(8, ALL_FEATURES);
	CHECK(u, pop_one(t, FG_RAM, 1, 0) == -EFAULT);
	t_free(t);

	/* Starts inside, ends outside. */
	t = t_ready(8, ALL_FEATURES);
	CHECK(u, pop_one(t, FG_RAM - 8, 16, 0) == -EFAULT);
	t_free(t);

	/* In the hole between low RAM and 4 GiB. */
	t = t_ready(8, ALL_FEATURES);
	CHECK(u, pop_one(t, 0xfee00000, 4, VIRTQ_DESC_F_WRITE) == -EFAULT);
	t_free(t);

	/* Ends exactly at the end of RAM: fine. */
	t = t_ready(8, ALL_FEATURES);
	CHECK(u, pop_one(t, FG_RAM - 16, 16, 0) == 1);
	t_free(t);
}

/* addr + len wraps around 2^64: must not look like a small address. */
static void t_desc_wraps(struct unit *u)
{
	static uint8_t high[0x10000] __attribute__((aligned(4096)));
	struct t *t = t_ready(8, ALL_FEATURES);

	/* With high RAM present, so the high-region branch is exercised too. */
	t->fg.gm.high = high;
	t->fg.gm.high_size = sizeof(high);
	CHECK(u, pop_one(t, ~0ULL - 7, 16, 0) == -EFAULT);
	CHECK(u, t->vq.last_avail == 0); /* consumed nothing */
	t_free(t);

	t = t_ready(8, ALL_FEATURES);
	t->fg.gm.high = high;
	t->fg.gm.high_size = sizeof(high);
	CHECK(u, pop_one(t, 0xfffffffffffff000ULL, 0x2000, VIRTQ_DESC_F_WRITE) == -EFAULT);
	t_free(t);

	t = t_ready(8, ALL_FEATURES);
	t->fg.gm.high = high;
	t->fg.gm.high_size = sizeof(high);
	CHECK(u, pop_one(t, GM_HIGH_BASE + sizeof(high) - 4, 8, 0) == -EFAULT);
	t_free(t);

	t = t_ready(8, ALL_FEATURES);
	t->fg.gm.high = high;
	t->fg.gm.high_size = sizeof(high);
	CHECK(u, pop_one(t, GM_HIGH_BASE + 16, 32, 0) == 1);
	CHECK(u, t->c.iov[0].iov_base == high + 16);
	t_free(t);
}

static void t_head_out_of_range(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, 0, 0);
	fr_post(&t->fg, &t->r, 8);
	CHECK(u, vq_pop(&t->vq, &t->c) == -EINVAL);
	t_free(t);

	t = t_ready(8, ALL_FEATURES);
	fr_post(&t->fg, &t->r, 0xffff);
	CHECK(u, vq_pop(&t->vq, &t->c) == -EINVAL);
	t_free(t);
}

static void t_next_out_of_range(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, VIRTQ_DESC_F_NEXT, 8);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == -EINVAL);
	t_free(t);

	t = t_ready(8, ALL_FEATURES);
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, VIRTQ_DESC_F_NEXT, 0xffff);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == -EINVAL);
	t_free(t);
}

static void t_loop(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&t->fg, &t->r, 1, FG_BUF, 4, VIRTQ_DESC_F_NEXT, 0);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == -ELOOP);
	t_free(t);

	/* Self loop, with zero-length buffers (nothing else would stop it). */
	t = t_ready(8, ALL_FEATURES);
	fr_desc(&t->fg, &t->r, 5, FG_BUF, 0, VIRTQ_DESC_F_NEXT, 5);
	fr_post(&t->fg, &t->r, 5);
	CHECK(u, vq_pop(&t->vq, &t->c) == -ELOOP);
	t_free(t);

	/* The longest legal chain uses every descriptor once. */
	t = t_ready(8, ALL_FEATURES);
	for (uint16_t i = 0; i < 8; i++)
		fr_desc(&t->fg, &t->r, i, FG_BUF, 4, i < 7 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == 1 && t->c.n_rd == 8);
	t_free(t);
}

static void t_readable_after_writable(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&t->fg, &t->r, 1, FG_BUF + 64, 4, 0, 0);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == -EINVAL);
	t_free(t);
}

static void t_avail_idx_ahead(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);
	struct vring_avail *a = fr_avail(&t->fg, &t->r);

	for (uint16_t i = 0; i < 8; i++)
		fr_desc(&t->fg, &t->r, i, FG_BUF, 4, 0, 0);
	a->idx = 9;
	CHECK(u, vq_pop(&t->vq, &t->c) == -EINVAL);
	t_free(t);

	/* Running ahead after a few good entries, and "behind" (wrapped). */
	t = t_ready(8, ALL_FEATURES);
	a = fr_avail(&t->fg, &t->r);
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, 0, 0);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == 1);
	a->idx = 0;
	CHECK(u, vq_pop(&t->vq, &t->c) == -EINVAL);
	t_free(t);
}

/* Errors stick until the queue is reset and set up again. */
static void t_error_is_sticky(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	CHECK(u, pop_one(t, FG_RAM, 4, 0) == -EFAULT);
	CHECK(u, t->vq.why != NULL);
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, 0, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == -EFAULT);

	vq_reset(&t->vq);
	CHECK(u, vq_pop(&t->vq, &t->c) == 0);
	t->vq.num = 8;
	t->vq.desc_gpa = t->r.desc;
	t->vq.avail_gpa = t->r.avail;
	t->vq.used_gpa = t->r.used;
	memset(fg_ptr(&t->fg, t->r.avail), 0, 0x1000);
	t->r.avail_idx = 0;
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == 0);
	CHECK(u, pop_one(t, FG_BUF, 4, 0) == 1);
	t_free(t);
}

/* Total above 2^32 bytes needs more RAM than a buffer: map 3 GiB lazily. */
static void t_total_length_overflow(struct unit *u)
{
	const uint64_t ram = 3ULL << 30, two_gib = 2ULL << 30;
	struct t *t = t_new(8);
	uint8_t *big;

	big = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (big == MAP_FAILED) {
		printf("# t_total_length_overflow: cannot map 3 GiB, skipped\n");
		t_free(t);
		return;
	}
	free(t->fg.ram);
	t->fg.gm.low = big;
	t->fg.gm.low_size = ram;
	t->fg.ram = big; /* fg_ptr() into the big mapping */
	CHECK(u, vq_enable(&t->vq, &t->fg.gm, ALL_FEATURES) == 0);

	/* Exactly 4 GiB is allowed ... */
	fr_desc(&t->fg, &t->r, 0, FG_BUF, (uint32_t)two_gib, VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&t->fg, &t->r, 1, FG_BUF, (uint32_t)two_gib, 0, 0);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == 1 && t->c.rd_bytes == 4ULL << 30);

	/* ... one byte more is not. */
	fr_desc(&t->fg, &t->r, 2, FG_BUF, (uint32_t)two_gib, VIRTQ_DESC_F_NEXT, 3);
	fr_desc(&t->fg, &t->r, 3, FG_BUF, (uint32_t)two_gib, VIRTQ_DESC_F_NEXT, 4);
	fr_desc(&t->fg, &t->r, 4, FG_BUF, 1, 0, 0);
	fr_post(&t->fg, &t->r, 2);
	CHECK(u, vq_pop(&t->vq, &t->c) == -EOVERFLOW);

	munmap(big, ram);
	t->fg.ram = NULL;
	free(t);
}

/* --- indirect descriptors ---------------------------------------------------- */

static void t_indirect_good(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	/* One direct buffer, then an indirect table of three. */
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 10, VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&t->fg, &t->r, 1, ITAB, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	fg_set_desc(&t->fg, ITAB, 0, FG_BUF + 0x100, 20, VIRTQ_DESC_F_NEXT, 2);
	fg_set_desc(&t->fg, ITAB, 2, FG_BUF + 0x200, 30, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	fg_set_desc(&t->fg, ITAB, 1, FG_BUF + 0x300, 40, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 0);

	CHECK(u, vq_pop(&t->vq, &t->c) == 1);
	CHECK(u, t->c.head == 0 && t->c.n_rd == 2 && t->c.n_wr == 2);
	CHECK(u, t->c.rd_bytes == 30 && t->c.wr_bytes == 70);
	CHECK(u, t->c.iov[1].iov_base == fg_ptr(&t->fg, FG_BUF + 0x100));
	CHECK(u, t->c.iov[2].iov_base == fg_ptr(&t->fg, FG_BUF + 0x200));
	CHECK(u,
	      t->c.iov[3].iov_base == fg_ptr(&t->fg, FG_BUF + 0x300) && t->c.iov[3].iov_len == 40);
	t_free(t);
}

/* Set desc 0 to an indirect descriptor and pop it. */
static int pop_indirect(struct t *t, uint64_t addr, uint32_t len, uint16_t extra_flags)
{
	return pop_one(t, addr, len, VIRTQ_DESC_F_INDIRECT | extra_flags);
}

static void t_indirect_bad_len(struct unit *u)
{
	static const uint32_t bad[] = {0, 8, 24, 47};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct t *t = t_ready(8, ALL_FEATURES);

		fg_set_desc(&t->fg, ITAB, 0, FG_BUF, 4, 0, 0);
		CHECK(u, pop_indirect(t, ITAB, bad[i], 0) == -EINVAL);
		t_free(t);
	}
}

static void t_indirect_outside_ram(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	CHECK(u, pop_indirect(t, FG_RAM - 16, 32, 0) == -EFAULT);
	t_free(t);

	t = t_ready(8, ALL_FEATURES);
	CHECK(u, pop_indirect(t, ~0ULL - 15, 32, 0) == -EFAULT);
	t_free(t);
}

static void t_indirect_nested(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	fg_set_desc(&t->fg, ITAB, 0, FG_BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	fg_set_desc(&t->fg, ITAB, 1, ITAB + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fg_set_desc(&t->fg, ITAB + 0x100, 0, FG_BUF, 4, 0, 0);
	CHECK(u, pop_indirect(t, ITAB, 32, 0) == -EINVAL);
	t_free(t);
}

static void t_indirect_with_next(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	fg_set_desc(&t->fg, ITAB, 0, FG_BUF, 4, 0, 0);
	fr_desc(&t->fg, &t->r, 1, FG_BUF, 4, 0, 0);
	fr_desc(&t->fg, &t->r, 0, ITAB, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == -EINVAL);
	t_free(t);
}

static void t_indirect_not_negotiated(struct unit *u)
{
	struct t *t = t_ready(8, NO_EXTRAS);

	fg_set_desc(&t->fg, ITAB, 0, FG_BUF, 4, 0, 0);
	CHECK(u, pop_indirect(t, ITAB, 16, 0) == -EINVAL);
	t_free(t);
}

static void t_indirect_loop_and_range(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);

	fg_set_desc(&t->fg, ITAB, 0, FG_BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	fg_set_desc(&t->fg, ITAB, 1, FG_BUF, 4, VIRTQ_DESC_F_NEXT, 0);
	CHECK(u, pop_indirect(t, ITAB, 32, 0) == -ELOOP);
	t_free(t);

	/* next must stay inside the indirect table, not the ring's table. */
	t = t_ready(8, ALL_FEATURES);
	fg_set_desc(&t->fg, ITAB, 0, FG_BUF, 4, VIRTQ_DESC_F_NEXT, 2);
	fg_set_desc(&t->fg, ITAB, 1, FG_BUF, 4, 0, 0);
	CHECK(u, pop_indirect(t, ITAB, 32, 0) == -EINVAL);
	t_free(t);
}

/* A linear chain of VQ_MAX_IOV buffers is fine; one more is too many. */
static void t_too_many_buffers(struct unit *u)
{
	for (unsigned n = VQ_MAX_IOV; n <= VQ_MAX_IOV + 1; n++) {
		struct t *t = t_ready(8, ALL_FEATURES);
		int r;

		for (unsigned i = 0; i < n; i++)
			fg_set_desc(&t->fg, ITAB, i, FG_BUF, 1, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0,
				    (uint16_t)(i + 1));
		r = pop_indirect(t, ITAB, 16 * n, 0);
		if (n == VQ_MAX_IOV)
			CHECK(u, r == 1 && t->c.n_rd == VQ_MAX_IOV);
		else
			CHECK(u, r == -E2BIG);
		t_free(t);
	}
}

/* --- notification suppression ------------------------------------------------- */

static void t_event_idx(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);
	uint16_t *used_event = fr_used_event(&t->fg, &t->r);

	for (uint16_t i = 0; i < 4; i++) {
		fr_desc(&t->fg, &t->r, i, FG_BUF, 4, 0, 0);
		fr_post(&t->fg, &t->r, i);
	}
	*used_event = 0; /* interrupt when used idx passes 0 */
	CHECK(u, vq_pop(&t->vq, &t->c) == 1);
	vq_push(&t->vq, t->c.head, 0);
	CHECK(u, vq_needs_notify(&t->vq));
	CHECK(u, vq_pop(&t->vq, &t->c) == 1);
	vq_push(&t->vq, t->c.head, 0);
	CHECK(u, !vq_needs_notify(&t->vq)); /* already past used_event */

	*used_event = 3; /* wants to hear when entry 3 is used */
	CHECK(u, vq_pop(&t->vq, &t->c) == 1);
	vq_push(&t->vq, t->c.head, 0); /* idx 3: not yet */
	CHECK(u, !vq_needs_notify(&t->vq));
	CHECK(u, vq_pop(&t->vq, &t->c) == 1);
	vq_push(&t->vq, t->c.head, 0); /* idx 4: entry 3 used */
	CHECK(u, vq_needs_notify(&t->vq));
	t_free(t);
}

/* With EVENT_IDX, finding the ring empty asks for a notification. */
static void t_avail_event(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);
	uint16_t *avail_event = fr_avail_event(&t->fg, &t->r);

	for (uint16_t i = 0; i < 3; i++) {
		fr_desc(&t->fg, &t->r, i, FG_BUF, 4, 0, 0);
		fr_post(&t->fg, &t->r, i);
	}
	while (vq_pop(&t->vq, &t->c) == 1)
		;
	CHECK(u, *avail_event == 3);
	t_free(t);
}

/* A notify batch moves avail_event ahead by the batch, within half the ring. */
static void t_notify_batch(struct unit *u)
{
	struct t *t = t_ready(8, ALL_FEATURES);
	uint16_t *avail_event = fr_avail_event(&t->fg, &t->r);

	vq_set_notify_batch(&t->vq, 3);
	CHECK(u, !vq_more(&t->vq) && *avail_event == 2); /* the third buffer notifies */
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 4, 0, 0);
	fr_post(&t->fg, &t->r, 0);
	CHECK(u, vq_pop(&t->vq, &t->c) == 1 && vq_pop(&t->vq, &t->c) == 0);
	CHECK(u, *avail_event == 1 + 2);
	vq_set_notify_batch(&t->vq, 1000); /* more than half of 8 */
	CHECK(u, vq_pop(&t->vq, &t->c) == 0 && *avail_event == 1 + 3);
	vq_set_notify_batch(&t->vq, 1);
	CHECK(u, vq_pop(&t->vq, &t->c) == 0 && *avail_event == 1);
	vq_set_notify_batch(&t->vq, 5);
	vq_reset(&t->vq); /* a reset: a notify per buffer again */
	CHECK(u, t->vq.notify_batch <= 1);
	t_free(t);
}

static void t_no_interrupt_flag(struct unit *u)
{
	struct t *t = t_ready(8, NO_EXTRAS);
	struct vring_avail *a = fr_avail(&t->fg, &t->r);

	CHECK(u, pop_one(t, FG_BUF, 4, 0) == 1);
	vq_push(&t->vq, t->c.head, 0);
	a->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	CHECK(u, !vq_needs_notify(&t->vq));
	a->flags = 0;
	CHECK(u, !vq_needs_notify(&t->vq)); /* nothing new since */
	CHECK(u, pop_one(t, FG_BUF, 4, 0) == 1);
	vq_push(&t->vq, t->c.head, 0);
	CHECK(u, vq_needs_notify(&t->vq));
	t_free(t);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_good_chain);
	RUN(&u, t_many_chains_wrap);
	RUN(&u, t_full_ring);
	RUN(&u, t_unpop);
	RUN(&u, t_not_ready);
	RUN(&u, t_chain_is_a_copy);
	RUN(&u, t_queue_size);
	RUN(&u, t_ring_misaligned);
	RUN(&u, t_ring_outside_ram);
	RUN(&u, t_desc_outside_ram);
	RUN(&u, t_desc_wraps);
	RUN(&u, t_head_out_of_range);
	RUN(&u, t_next_out_of_range);
	RUN(&u, t_loop);
	RUN(&u, t_readable_after_writable);
	RUN(&u, t_avail_idx_ahead);
	RUN(&u, t_error_is_sticky);
	RUN(&u, t_total_length_overflow);
	RUN(&u, t_indirect_good);
	RUN(&u, t_indirect_bad_len);
	RUN(&u, t_indirect_outside_ram);
	RUN(&u, t_indirect_nested);
	RUN(&u, t_indirect_with_next);
	RUN(&u, t_indirect_not_negotiated);
	RUN(&u, t_indirect_loop_and_range);
	RUN(&u, t_too_many_buffers);
	RUN(&u, t_event_idx);
	RUN(&u, t_avail_event);
	RUN(&u, t_notify_batch);
	RUN(&u, t_no_interrupt_flag);
	return unit_done(&u);
}
