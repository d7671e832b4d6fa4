/*
 * fake_guest.h - a pretend guest for virtio unit tests: RAM is a malloc'd
 * buffer wrapped in a struct guest_mem, and the test plays the driver by
 * writing descriptors and rings into it by hand.
 *
 * Fixed layout of a test queue (size <= 256): descriptor table at desc,
 * available ring at avail, used ring at used; buffers from FG_BUF up.
 *
 * The fg_mmio_* and fg_driver_* helpers play the driver's side of the
 * virtio-mmio transport (VIRTIO 1.2, 3.1.1 and 4.2.3) against a device.
 */
#ifndef LXS_TEST_FAKE_GUEST_H
#define LXS_TEST_FAKE_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/guest_mem.h"
#include "vmm/mmio.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define FG_RAM (1u << 20) /* 1 MiB of guest RAM */
#define FG_BUF 0x40000u   /* where test buffers start */

struct fake_guest {
	struct guest_mem gm;
	uint8_t *ram;
};

struct fake_ring {
	uint64_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx; /* the driver's next avail->idx */
};

static inline int fg_init(struct fake_guest *fg)
{
	memset(fg, 0, sizeof(*fg));
	fg->ram = aligned_alloc(4096, FG_RAM);
	if (!fg->ram)
		return -1;
	memset(fg->ram, 0, FG_RAM);
	fg->gm.low = fg->ram;
	fg->gm.low_size = FG_RAM;
	return 0;
}

static inline void fg_fini(struct fake_guest *fg)
{
	free(fg->ram);
	fg->ram = NULL;
}

/* Host pointer to guest address gpa (the test's own addresses: in RAM). */
static inline void *fg_ptr(struct fake_guest *fg, uint64_t gpa)
{
	return fg->ram + gpa;
}

/* Ring number n of a test: 0x4000 bytes apart from 0x1000. */
static inline struct fake_ring fr_make(unsigned n, uint16_t size)
{
	uint64_t base = 0x1000 + (uint64_t)n * 0x4000;
	struct fake_ring r = {
	    .desc = base,
	    .avail = base + 0x1000,
	    .used = base + 0x2000,
	    .size = size,
	};
	return r;
}

/* Write a descriptor into any table (the ring's, or an indirect one). */
static inline void fg_set_desc(struct fake_guest *fg, uint64_t table, unsigned i, uint64_t addr,
			       uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(fg_ptr(fg, table + 16ULL * i), &d, sizeof(d));
}

static inline void fr_desc(struct fake_guest *fg, struct fake_ring *r, unsigned i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	fg_set_desc(fg, r->desc, i, addr, len, flags, next);
}

static inline struct vring_avail *fr_avail(struct fake_guest *fg, struct fake_ring *r)
{
	return fg_ptr(fg, r->avail);
}

static inline struct vring_used *fr_used(struct fake_guest *fg, struct fake_ring *r)
{
	return fg_ptr(fg, r->used);
}

/* Make chain `head` available, as a driver does. */
static inline void fr_post(struct fake_guest *fg, struct fake_ring *r, uint16_t head)
{
	struct vring_avail *a = fr_avail(fg, r);

	a->ring[r->avail_idx % r->size] = head;
	r->avail_idx++;
	__atomic_store_n(&a->idx, r->avail_idx, __ATOMIC_RELEASE);
}

/* One buffer of a test chain: guest address, length, device-writable. */
struct fg_seg {
	uint64_t gpa;
	uint32_t len;
	bool wr;
};

/* Chain s[0, n) through descriptors head, head + 1, ... and make it available. */
static inline void fr_post_chain(struct fake_guest *fg, struct fake_ring *r, uint16_t head,
				 const struct fg_seg *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)(head + i);
		uint16_t fl =
		    (s[i].wr ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

		fr_desc(fg, r, d, s[i].gpa, s[i].len, fl, (uint16_t)(d + 1));
	}
	fr_post(fg, r, head);
}

static inline uint16_t *fr_used_event(struct fake_guest *fg, struct fake_ring *r)
{
	return &fr_avail(fg, r)->ring[r->size];
}

static inline uint16_t *fr_avail_event(struct fake_guest *fg, struct fake_ring *r)
{
	return (uint16_t *)&fr_used(fg, r)->ring[r->size];
}

/* Zero a ring's three parts, as a new driver finds them. */
static inline void fr_clear(struct fake_guest *fg, struct fake_ring *r)
{
	memset(fg_ptr(fg, r->desc), 0, r->used + 0x1000 - r->desc);
}

/* --- the driver's side of the mmio transport ------------------------------ */

static inline uint32_t fg_mmio_rd(struct virtio_dev *dev, uint64_t off)
{
	/* Not 0: a read that left the value alone must not pass for a 0. */
	uint32_t v = 0xdeadbeef;

	virtio_mmio_read(dev, off, &v, 4);
	return v;
}

static inline void fg_mmio_wr(struct virtio_dev *dev, uint64_t off, uint32_t v)
{
	virtio_mmio_write(dev, off, &v, 4);
}

static inline bool fg_needs_reset(struct virtio_dev *dev)
{
	return fg_mmio_rd(dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

static inline uint64_t fg_dev_features(struct virtio_dev *dev)
{
	uint64_t f;

	fg_mmio_wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = fg_mmio_rd(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	fg_mmio_wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)fg_mmio_rd(dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/*
 * ACKNOWLEDGE, DRIVER, the features, FEATURES_OK. No reset first: tests
 * reset by hand where the reset itself is under test. The device may refuse
 * FEATURES_OK; the caller reads the status where that matters.
 */
static inline void fg_driver_features(struct virtio_dev *dev, uint64_t features)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE;

	fg_mmio_wr(dev, VIRTIO_MMIO_STATUS, st);
	fg_mmio_wr(dev, VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_DRIVER);
	fg_mmio_wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fg_mmio_wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	fg_mmio_wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fg_mmio_wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	fg_mmio_wr(dev, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK);
}

/* Queue q's size and ring addresses, not yet QueueReady (tests pass bad ones). */
static inline void fg_queue_regs(struct virtio_dev *dev, unsigned q, uint16_t num, uint64_t desc,
				 uint64_t avail, uint64_t used)
{
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_SEL, q);
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_NUM, num);
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
}

static inline void fg_driver_queue(struct virtio_dev *dev, unsigned q, const struct fake_ring *r)
{
	fg_queue_regs(dev, q, r->size, r->desc, r->avail, r->used);
	fg_mmio_wr(dev, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Read back and add to the status, so that a refused step stays refused. */
static inline void fg_driver_ok(struct virtio_dev *dev)
{
	fg_mmio_wr(dev, VIRTIO_MMIO_STATUS,
		   fg_mmio_rd(dev, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

/*
 * Everything up to DRIVER_OK, queue q on ring r[q] for q < nq. Ring memory
 * is left as it is: tests post buffers before DRIVER_OK on purpose.
 */
static inline void fg_driver_setup(struct virtio_dev *dev, uint64_t features,
				   const struct fake_ring *r, unsigned nq)
{
	fg_driver_features(dev, features);
	for (unsigned q = 0; q < nq; q++)
		fg_driver_queue(dev, q, &r[q]);
}

static inline void fg_driver_start(struct virtio_dev *dev, uint64_t features,
				   const struct fake_ring *r, unsigned nq)
{
	fg_driver_setup(dev, features, r, nq);
	fg_driver_ok(dev);
}

#endif
