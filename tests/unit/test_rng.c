/*
 * test_rng.c - the virtio entropy device (rng.c) driven through the mmio
 * transport with a fake guest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_guest.h"
#include "unit.h"
#include "vmm/devices.h"
#include "vmm/mmio.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define QSIZE 8
#define BIG   (VIRTIO_RNG_MAX_REQ + 4096)

struct t {
	struct fake_guest fg;
	struct fake_ring r;
	struct virtio_dev *dev;
	int irqs;
};

static void count_irq(void *opaque)
{
	((struct t *)opaque)->irqs++;
}

static void drv_start(struct t *t)
{
	t->r = fr_make(0, QSIZE);
	fg_driver_start(t->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1), &t->r, 1);
}

static struct t *t_new(void)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fg_init(&t->fg) < 0 || virtio_rng_create(&t->dev, &t->fg.gm) < 0)
		abort();
	virtio_dev_set_irq(t->dev, count_irq, t);
	return t;
}

static void t_free(struct t *t)
{
	virtio_rng_destroy(t->dev);
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

/* Whether [p, p + len) is all `v`. */
static bool all(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void t_identity(struct unit *u)
{
	struct t *t = t_new();

	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_RNG);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	/* Small: one notify may fill at most this many 64 KiB requests. */
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_QUEUE_NUM_MAX) == 8);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
	t_free(t);
}

/* A chain of three writable buffers is filled completely. */
static void t_fill(struct unit *u)
{
	struct t *t = t_new();
	uint32_t len[3] = {100, 200, 50};
	uint64_t gpa = FG_BUF;

	drv_start(t);
	memset(gp(t, FG_BUF), 0, 0x1000);
	for (unsigned i = 0; i < 3; i++) {
		fr_desc(&t->fg, &t->r, i, gpa, len[i],
			VIRTQ_DESC_F_WRITE | (i < 2 ? VIRTQ_DESC_F_NEXT : 0), (uint16_t)(i + 1));
		gpa += len[i] + 16; /* gaps stay untouched */
	}
	fr_post(&t->fg, &t->r, 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, used(t)->idx == 1 && used(t)->ring[0].id == 0 && used(t)->ring[0].len == 350);
	/* Random bytes: no run of 16 zero bytes in any buffer (p ~ 2^-128). */
	gpa = FG_BUF;
	for (unsigned i = 0; i < 3; i++) {
		for (uint32_t k = 0; k + 16 <= len[i]; k += 16)
			CHECK(u, !all(gp(t, gpa + k), 16, 0));
		CHECK(u, all(gp(t, gpa + len[i]), 16, 0));
		gpa += len[i] + 16;
	}
	CHECK(u, t->irqs == 1);

	/* Two requests get different bytes. */
	fr_desc(&t->fg, &t->r, 3, FG_BUF + 0x1000, 32, VIRTQ_DESC_F_WRITE, 0);
	fr_desc(&t->fg, &t->r, 4, FG_BUF + 0x1100, 32, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 3);
	fr_post(&t->fg, &t->r, 4);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, used(t)->idx == 3);
	CHECK(u, memcmp(gp(t, FG_BUF + 0x1000), gp(t, FG_BUF + 0x1100), 32) != 0);
	t_free(t);
}

/* A request bigger than the cap gets exactly the cap; the rest is untouched. */
static void t_cap(struct unit *u)
{
	struct t *t = t_new();
	uint8_t *p = gp(t, FG_BUF);

	drv_start(t);
	memset(p, 0xa5, BIG);
	/* Split so that the cap falls inside the second buffer. */
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 40000, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&t->fg, &t->r, 1, FG_BUF + 40000, BIG - 40000, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, used(t)->idx == 1 && used(t)->ring[0].len == VIRTIO_RNG_MAX_REQ);
	CHECK(u, all(p + VIRTIO_RNG_MAX_REQ, BIG - VIRTIO_RNG_MAX_REQ, 0xa5));
	CHECK(u, !all(p + VIRTIO_RNG_MAX_REQ - 16, 16, 0xa5));
	t_free(t);
}

/* Empty writable buffers come back with nothing; the device goes on. */
static void t_empty(struct unit *u)
{
	struct t *t = t_new();

	drv_start(t);
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 0, VIRTQ_DESC_F_WRITE, 0);
	fr_desc(&t->fg, &t->r, 1, FG_BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 0);
	fr_post(&t->fg, &t->r, 1);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, used(t)->idx == 2 && used(t)->ring[0].len == 0 && used(t)->ring[1].len == 8);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* 5.4.6.1: a device-readable buffer is a broken driver. */
static void t_readable(struct unit *u)
{
	struct t *t = t_new();

	drv_start(t);
	memset(gp(t, FG_BUF), 0x5a, 64);
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 32, VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&t->fg, &t->r, 1, FG_BUF + 32, 32, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, fg_needs_reset(t->dev));
	CHECK(u, used(t)->idx == 0 && all(gp(t, FG_BUF), 64, 0x5a));
	/* Stopped until reset. */
	fr_desc(&t->fg, &t->r, 2, FG_BUF + 64, 8, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 2);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, used(t)->idx == 0);
	/* After a reset it works again. */
	fg_mmio_wr(t->dev, VIRTIO_MMIO_STATUS, 0);
	memset(gp(t, 0), 0, FG_BUF);
	drv_start(t);
	fr_desc(&t->fg, &t->r, 0, FG_BUF + 64, 8, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, used(t)->idx == 1 && used(t)->ring[0].len == 8);
	t_free(t);
}

/* Buffers posted before DRIVER_OK are filled when it comes. */
static void t_before_driver_ok(struct unit *u)
{
	struct t *t = t_new();

	t->r = fr_make(0, QSIZE);
	fr_desc(&t->fg, &t->r, 0, FG_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r, 0);
	drv_start(t);
	CHECK(u, used(t)->idx == 1 && used(t)->ring[0].len == 16);
	t_free(t);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_identity);
	RUN(&u, t_fill);
	RUN(&u, t_cap);
	RUN(&u, t_empty);
	RUN(&u, t_readable);
	RUN(&u, t_before_driver_ok);
	return unit_done(&u);
}
