// fuzz-link: src/vmm/queue.c
/*
 * fuzz_queue.c - libFuzzer target for the split virtqueue layer
 * (src/vmm/queue.c), the one place where a guest's rings and descriptor
 * chains are checked. No KVM: guest RAM is two malloc'd regions (64 KiB at
 * guest address 0 and, when flags bit 2 is set, 16 KiB at 4 GiB) wrapped in
 * a struct guest_mem, and the input plays the driver: it writes descriptors
 * (direct and into indirect tables), available ring entries and indexes,
 * arbitrary bytes anywhere in RAM, and reprograms the queue, interleaved
 * with the device's pops, pushes, unpops and notification checks.
 *
 * Checked with abort() (besides crashes, sanitizer reports and timeouts,
 * which would be a loop): every buffer vq_pop() hands out lies wholly in
 * one RAM region, readable before writable, at most VQ_MAX_IOV of them,
 * the byte counts add up, the head is in range; an enabled queue's rings
 * lie in RAM; an error is sticky until the queue is reset; vq_iov_slice()
 * stays within the chain it slices.
 *
 * Input: flags byte (bit 0 INDIRECT_DESC, bit 1 RING_EVENT_IDX, bit 2 high
 * RAM, bits 4-7 log2 of the queue size, mod 9), then records, each an op
 * byte (mod 10) and its arguments (missing bytes read as 0):
 *   0 desc  index[1] addr len flags[2] next[2]   into the descriptor table
 *   1 itab  index[1] addr len flags[2] next[2]   into the indirect area
 *   2 post  head[2]              add an available ring entry, bump idx
 *   3 idx   value[2]             set avail->idx to anything
 *   4 pop   count[1] off[2] len[2]  pop up to count%8+1 chains, copying
 *                                 and slicing each one
 *   5 push  written[4]           push the oldest popped head (else head 0)
 *   6 unpop
 *   7 notify flags[2] event[2]   set avail flags and used_event, then
 *                                 vq_needs_notify() and vq_more()
 *   8 poke  off[2] n[1] bytes[n] write raw bytes into low RAM
 *   9 reprogram num[2] desc avail used features[1], then vq_enable()
 * where addr is a selector byte then a low offset, a high offset, a raw
 * 64-bit value or an offset back from the end of low RAM, and len a
 * selector byte then 1, 2 or 4 bytes. With FUZZ_DEBUG set, each input's
 * chains and error are printed (for replays).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_queue"
#include "fuzz_util.h"
#include "vmm/guest_mem.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define LOW_SIZE  0x10000u
#define HIGH_SIZE 0x4000u
#define DESC_GPA  0x0000u
#define AVAIL_GPA 0x1000u
#define USED_GPA  0x2000u
#define ITAB_GPA  0x4000u
#define MAX_HEADS 1024

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vq_chain chain;
static struct iovec slice[VQ_MAX_IOV];
static uint8_t scratch[LOW_SIZE + HIGH_SIZE];

/* Whether [p, p + len) lies wholly in one RAM region. */
static int in_ram(const struct guest_mem *gm, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;

	if (a >= (uintptr_t)gm->low && a - (uintptr_t)gm->low <= gm->low_size &&
	    len <= gm->low_size - (a - (uintptr_t)gm->low))
		return 1;
	return gm->high && a >= (uintptr_t)gm->high && a - (uintptr_t)gm->high <= gm->high_size &&
	       len <= gm->high_size - (a - (uintptr_t)gm->high);
}

static uint64_t get_addr(struct fz *f)
{
	switch (fz_u8(f) % 4) {
	case 0:
		return fz_u16(f);
	case 1:
		return GM_HIGH_BASE + fz_u16(f);
	case 2:
		return fz_u64(f);
	default:
		return LOW_SIZE - fz_u8(f);
	}
}

static uint32_t get_len(struct fz *f)
{
	switch (fz_u8(f) % 4) {
	case 0:
		return fz_u8(f);
	case 1:
		return fz_u16(f);
	case 2:
		return fz_u32(f);
	default:
		return LOW_SIZE - fz_u16(f);
	}
}

static void put_desc(struct guest_mem *gm, uint64_t table, unsigned i, struct fz *f)
{
	struct vring_desc d;
	void *p = gm_ptr(gm, table + 16ull * i, sizeof(d));

	d.addr = get_addr(f);
	d.len = get_len(f);
	d.flags = fz_u16(f);
	d.next = fz_u16(f);
	if (p)
		memcpy(p, &d, sizeof(d));
}

static void check_rings(const struct virtqueue *vq, const struct guest_mem *gm)
{
	if (!vq->ready)
		return;
	CHECK(vq->size && !(vq->size & (vq->size - 1)) && vq->size <= vq->num_max);
	CHECK(in_ram(gm, vq->desc, VRING_DESC_BYTES(vq->size)));
	CHECK(in_ram(gm, vq->avail, VRING_AVAIL_BYTES(vq->size)));
	CHECK(in_ram(gm, vq->used, VRING_USED_BYTES(vq->size)));
}

/* Everything a popped chain promises, then use it as a device would. */
static void check_chain(const struct virtqueue *vq, const struct guest_mem *gm, uint64_t off,
			uint64_t len)
{
	struct vq_chain *c = &chain;
	uint64_t rd = 0, wr = 0;
	unsigned n = c->n_rd + c->n_wr;
	int k;

	CHECK(c->head < vq->size);
	CHECK(n <= VQ_MAX_IOV);
	for (unsigned i = 0; i < n; i++) {
		CHECK(in_ram(gm, c->iov[i].iov_base, c->iov[i].iov_len));
		*(i < c->n_rd ? &rd : &wr) += c->iov[i].iov_len;
	}
	CHECK(rd == c->rd_bytes && wr == c->wr_bytes);
	CHECK(rd + wr <= VQ_MAX_CHAIN_BYTES);

	/* Bytes in and out: ASan sees any access beyond the regions. */
	CHECK(vq_chain_read(c, (size_t)off, scratch, sizeof(scratch)) ==
	      (off < rd ? (rd - off < sizeof(scratch) ? rd - off : sizeof(scratch)) : 0));
	memset(scratch, 0xa5, sizeof(scratch));
	vq_chain_write(c, (size_t)off, scratch, (size_t)len);

	k = vq_iov_slice(slice, VQ_MAX_IOV, vq_chain_wr(c), c->n_wr, off, len);
	CHECK(k >= 0 && (unsigned)k <= c->n_wr);
	uint64_t got = 0;
	for (int i = 0; i < k; i++) {
		CHECK(slice[i].iov_len > 0);
		CHECK(in_ram(gm, slice[i].iov_base, slice[i].iov_len));
		got += slice[i].iov_len;
	}
	CHECK(got == (off < wr ? (wr - off < len ? wr - off : len) : 0));
}

static void write_seeds(const char *dir)
{
	/* size 8, indirect + event idx: a two-buffer chain, popped and pushed */
	static const uint8_t good[] = {
	    0x33, /* flags: size 8, INDIRECT, EVENT_IDX */
	    0,    3,    0, 0x00, 0x50, 1, 0x10, 0x00, 0x01, 0x00, 5, 0, /* desc 3 -> 5 */
	    0,    5,    0, 0x00, 0x60, 1, 0x20, 0x00, 0x02, 0x00, 0, 0, /* desc 5, writable */
	    2,    3,    0,                                              /* post head 3 */
	    4,    0,    0, 0,    0x10, 0,                               /* pop */
	    5,    0x10, 0, 0,    0,                                     /* push 16 bytes */
	    7,    0,    0, 0,    0,                                     /* notify */
	};
	/* an indirect table of three descriptors behind desc 0 */
	static const uint8_t indirect[] = {
	    0x31, 1,    0,    0,    0x00, 0x80, 1,    0x08, 0x00, 0x01, 0x00, 1, 0,
	    1,    1,    0,    0x00, 0x90, 1,    0x08, 0x00, 0x01, 0x00, 2,    0, 1,
	    2,    0,    0x00, 0xa0, 1,    0x40, 0x00, 0x02, 0x00, 0,    0,    0, 0,
	    0,    0x00, 0x40, 1,    0x30, 0x00, 0x04, 0x00, 0,    0,    2,    0, 0,
	    4,    0,    0,    0,    0,    0,    5,    0,    0,    0,    0,
	};
	/* a loop, then a reprogrammed queue in high RAM */
	static const uint8_t loop_then_high[] = {
	    0x24, 0, 0,    0,    0x00, 0x50, 1,    0x10, 0x00, 0x01, 0x00, 1,    0, 0,
	    1,    0, 0x00, 0x50, 1,    0x10, 0x00, 0x01, 0x00, 0,    0,    2,    0, 0,
	    4,    1, 0,    0,    0,    0,    9,    4,    0,    1,    0x00, 0x00, 1, 0x00,
	    0x10, 1, 0x00, 0x20, 0x30, 4,    0,    0,    0,    0,    0,
	};
	/* many chains of one buffer, wrapping the ring */
	uint8_t wrap[1 + 12 + 32 * 14];
	size_t n = 0;

	wrap[n++] = 0x20; /* size 4 */
	const uint8_t d0[] = {0, 0, 0, 0x00, 0x50, 1, 0x10, 0x00, 0x02, 0x00, 0, 0};
	memcpy(wrap + n, d0, sizeof(d0));
	n += sizeof(d0);
	for (int i = 0; i < 32; i++) {
		const uint8_t r[] = {2, 0, 0, 4, 0, 0, 0, 0, 0, 5, 8, 0, 0, 0};

		memcpy(wrap + n, r, sizeof(r));
		n += sizeof(r);
	}
	fz_write_seed(dir, "good", good, sizeof(good));
	fz_write_seed(dir, "indirect", indirect, sizeof(indirect));
	fz_write_seed(dir, "loop-then-high", loop_then_high, sizeof(loop_then_high));
	fz_write_seed(dir, "wrap", wrap, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fz_seed_dir();

	(void)argc, (void)argv;
	if (dir)
		write_seeds(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size, 0};
	struct guest_mem gm = {0};
	struct virtqueue vq;
	uint16_t heads[MAX_HEADS];
	unsigned nheads = 0, hfirst = 0;
	uint8_t flags = fz_u8(&f);
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	uint16_t drv_idx = 0;
	int err = 0;
	unsigned pops = 0;
	bool popped = false; /* the previous record popped a chain: unpop is allowed */

	gm.low = calloc(1, LOW_SIZE);
	gm.low_size = LOW_SIZE;
	if (flags & 4) {
		gm.high = calloc(1, HIGH_SIZE);
		gm.high_size = HIGH_SIZE;
	}
	if (!gm.low || ((flags & 4) && !gm.high))
		abort();
	if (flags & 1)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (flags & 2)
		features |= VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);

	vq_init(&vq, 256);
	vq.num = 1u << ((flags >> 4) % 9);
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	CHECK(vq_enable(&vq, &gm, features) == 0);

	while (fz_left(&f)) {
		uint8_t op = fz_u8(&f) % 10;

		bool was_popped = popped;

		popped = false;
		check_rings(&vq, &gm);
		switch (op) {
		case 0:
			put_desc(&gm, vq.desc_gpa, fz_u8(&f), &f);
			break;
		case 1:
			put_desc(&gm, ITAB_GPA, fz_u8(&f), &f);
			break;
		case 2: {
			uint16_t head = fz_u16(&f);

			if (vq.ready) {
				vq.avail->ring[drv_idx % vq.size] = head;
				drv_idx++;
				__atomic_store_n(&vq.avail->idx, drv_idx, __ATOMIC_RELEASE);
			}
			break;
		}
		case 3:
			drv_idx = fz_u16(&f);
			if (vq.ready)
				__atomic_store_n(&vq.avail->idx, drv_idx, __ATOMIC_RELEASE);
			break;
		case 4: {
			unsigned count = fz_u8(&f) % 8 + 1;
			uint64_t off = fz_u16(&f), len = fz_u16(&f);

			for (unsigned i = 0; i < count; i++) {
				int r = vq_pop(&vq, &chain);

				if (err) {
					CHECK(r == err); /* sticky */
					break;
				}
				if (r < 0) {
					CHECK(vq.why &&
					      (r == -EINVAL || r == -EFAULT || r == -ELOOP ||
					       r == -E2BIG || r == -EOVERFLOW));
					err = r;
					break;
				}
				if (r == 0)
					break;
				CHECK(r == 1);
				check_chain(&vq, &gm, off, len);
				pops++;
				if (nheads < MAX_HEADS)
					heads[(hfirst + nheads++) % MAX_HEADS] = chain.head;
				popped = i + 1 == count;
			}
			break;
		}
		case 5: {
			uint32_t written = fz_u32(&f);
			uint16_t head = 0;

			if (nheads) {
				head = heads[hfirst];
				hfirst = (hfirst + 1) % MAX_HEADS;
				nheads--;
			}
			vq_push(&vq, head, written);
			break;
		}
		case 6:
			if (was_popped && nheads) {
				/* only the last pop may be given back */
				vq_unpop(&vq);
				nheads--;
			}
			break;
		case 7: {
			uint16_t fl = fz_u16(&f), ev = fz_u16(&f);

			if (vq.ready) {
				vq.avail->flags = fl;
				vq.avail->ring[vq.size] = ev;
			}
			vq_needs_notify(&vq);
			CHECK(!vq_more(&vq) || (!err && vq.ready));
			break;
		}
		case 8: {
			uint16_t off = fz_u16(&f);
			unsigned n = fz_u8(&f);

			for (unsigned i = 0; i < n; i++)
				gm.low[(off + i) % LOW_SIZE] = fz_u8(&f);
			break;
		}
		default: {
			int r;

			vq_reset(&vq);
			vq.num = fz_u16(&f);
			vq.desc_gpa = get_addr(&f);
			vq.avail_gpa = get_addr(&f);
			vq.used_gpa = get_addr(&f);
			features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
			uint8_t fb = fz_u8(&f);
			if (fb & 1)
				features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
			if (fb & 2)
				features |= VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
			r = vq_enable(&vq, &gm, features);
			CHECK(r == 0 || (!vq.ready && vq.why && (r == -EINVAL || r == -EFAULT)));
			err = 0;
			nheads = hfirst = 0;
			drv_idx = 0;
			break;
		}
		}
	}
	check_rings(&vq, &gm);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "%u chains popped, error %d (%s)\n", pops, err, err ? vq.why : "");
	free(gm.low);
	free(gm.high);
	return 0;
}
