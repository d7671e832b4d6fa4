/*
 * fake_guest.h - a pretend guest for virtio unit tests: RAM is a malloc'd
 * buffer wrapped in a struct guest_mem, and the test plays the driver by
 * writing descriptors and rings into it by hand.
 *
 * Fixed layout of a test queue (size <= 256): descriptor table at desc,
 * available ring at avail, used ring at used; buffers from FG_BUF up.
 */
#ifndef LXS_TEST_FAKE_GUEST_H
#define LXS_TEST_FAKE_GUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/guest_mem.h"
#include "vmm/queue.h"

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

static inline uint16_t *fr_used_event(struct fake_guest *fg, struct fake_ring *r)
{
	return &fr_avail(fg, r)->ring[r->size];
}

static inline uint16_t *fr_avail_event(struct fake_guest *fg, struct fake_ring *r)
{
	return (uint16_t *)&fr_used(fg, r)->ring[r->size];
}

#endif
