/*
 * queue.h - split virtqueues (VIRTIO 1.2, 2.7): the one place where the
 * guest's rings and descriptor chains are checked.
 *
 * What this header promises:
 *  - vq_enable() accepts a queue only if its size is a nonzero power of two
 *    no larger than the device's maximum, and the descriptor table, the
 *    available ring and the used ring (event fields included) are aligned as
 *    the spec requires and lie wholly inside guest RAM.
 *  - vq_pop() hands a device a chain whose every buffer is inside guest RAM,
 *    already translated to host iovecs: first the device-readable buffers,
 *    then the device-writable ones. It rejects, without touching anything
 *    outside RAM: an available index more than the queue size ahead, a head
 *    or next index out of range, a descriptor whose address + length
 *    overflows or leaves RAM, a chain longer than its table (a loop), more
 *    than VQ_MAX_IOV buffers, a total length above 2^32, a readable buffer
 *    after a writable one, and bad indirect tables (feature not negotiated,
 *    length not a nonzero multiple of 16, outside RAM, nested, INDIRECT with
 *    NEXT). Descriptors are copied once before use, so a guest rewriting
 *    them concurrently cannot make a checked value change (no TOCTOU).
 *  - After the first error a queue stays broken (every vq_pop returns the
 *    same error) until vq_reset()/vq_disable(): the caller marks the device
 *    needs-reset.
 *  - vq_push() publishes a used element with release ordering; avail idx is
 *    read with acquire ordering; VIRTIO_F_RING_EVENT_IDX is honoured in both
 *    directions (vq_needs_notify() and the avail_event the device writes).
 *
 * Not thread-safe: the caller serialises all calls on one queue (the device
 * lock, see virtio.h). Assumes a little-endian host (checked in virtio.h).
 */
#ifndef LXS_VMM_QUEUE_H
#define LXS_VMM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;

/* Guest-memory layouts of a split virtqueue (2.7.5, 2.7.6, 2.7.8). */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then uint16_t used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* [size], then uint16_t avail_event */
};

/* Bytes of each part for a queue of `size` entries, event fields included. */
#define VRING_DESC_BYTES(size)  (16ULL * (size))
#define VRING_AVAIL_BYTES(size) (6ULL + 2ULL * (size))
#define VRING_USED_BYTES(size)  (6ULL + 8ULL * (size))

/* Most buffers one chain may have (direct and indirect descriptors). */
#define VQ_MAX_IOV 1024
/* Most bytes one chain may describe (2.7.5: "longer than 2^32 bytes"). */
#define VQ_MAX_CHAIN_BYTES (1ULL << 32)

/* A popped chain. iov[0, n_rd) are device-readable, then n_wr writable. */
struct vq_chain {
	uint16_t head;     /* pass back to vq_push() */
	unsigned n_rd;     /* device-readable buffers (driver -> device) */
	unsigned n_wr;     /* device-writable buffers (device -> driver) */
	uint64_t rd_bytes; /* total bytes of the readable part */
	uint64_t wr_bytes; /* total bytes of the writable part */
	struct iovec iov[VQ_MAX_IOV];
};

static inline struct iovec *vq_chain_rd(struct vq_chain *c)
{
	return c->iov;
}

static inline struct iovec *vq_chain_wr(struct vq_chain *c)
{
	return c->iov + c->n_rd;
}

struct virtqueue {
	/* Programmed by the driver through the transport while not ready. */
	uint32_t num; /* QueueNum as written; checked by vq_enable() */
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Fixed by the device. */
	uint16_t num_max;

	/* Valid while ready. */
	bool ready;
	bool event_idx; /* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint16_t size;
	const struct guest_mem *gm;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;     /* next available ring entry to take */
	uint16_t avail_idx;      /* last avail->idx read (validated) */
	uint16_t used_idx;       /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when vq_needs_notify() last ran */
	uint16_t notify_batch;   /* see vq_set_notify_batch(); 0 or 1: every buffer */

	/* First bad-input error and why; sticky until reset. */
	int error;
	const char *why;
};

/* Put vq in its reset state for a device whose QueueNumMax is num_max. */
void vq_init(struct virtqueue *vq, uint16_t num_max);
/* Device reset: forget everything the driver programmed. */
void vq_reset(struct virtqueue *vq);

/*
 * The driver wrote QueueReady=1: check the programmed size and addresses
 * against gm and start using the rings. `features` are the negotiated ones.
 * Returns 0, or -EINVAL (bad size or alignment) / -EFAULT (a ring not in
 * RAM) with vq->why set and the queue left not ready.
 */
int vq_enable(struct virtqueue *vq, const struct guest_mem *gm, uint64_t features);
/* The driver wrote QueueReady=0: stop using the rings. */
void vq_disable(struct virtqueue *vq);

/*
 * Take the next available chain. Returns 1 with *c filled, 0 if the queue
 * is empty or not ready, or a negative errno with vq->why set when the
 * guest's ring is bad:
 *   -EINVAL    malformed: index out of range, avail idx too far ahead,
 *              readable after writable, bad indirect descriptor
 *   -EFAULT    a buffer or indirect table not wholly in guest RAM
 *   -ELOOP     chain longer than its descriptor table (a loop)
 *   -E2BIG     more than VQ_MAX_IOV buffers
 *   -EOVERFLOW more than VQ_MAX_CHAIN_BYTES in total
 * When the queue is empty and EVENT_IDX was negotiated, asks the driver to
 * notify on the next buffer (avail_event) before reporting it empty.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/*
 * Whether a vq_pop() now would find a buffer. When it would not, EVENT_IDX's
 * avail_event is set as vq_pop() sets it, so the driver's next buffer comes
 * with a notification: a device whose workers take chains on their own can
 * wake a second worker only when there is work for it.
 */
bool vq_more(struct virtqueue *vq);
/* Give back the chain the last vq_pop() returned, unused. */
void vq_unpop(struct virtqueue *vq);
/*
 * With EVENT_IDX: let the driver add n buffers to an empty queue before it
 * notifies (the avail_event written when the queue is next found empty),
 * for a device that also looks at this queue when it works on another, so
 * the driver exits once per n buffers rather than per buffer. n is kept
 * within half the ring; 0 or 1 asks for a notify per buffer, as after a
 * reset.
 */
void vq_set_notify_batch(struct virtqueue *vq, uint16_t n);
/* Return chain `head` to the driver with `written` bytes written to it. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written);
/*
 * After pushes: whether the driver wants an interrupt for the buffers used
 * since the previous call (never when there are none).
 */
bool vq_needs_notify(struct virtqueue *vq);

/*
 * Fill dst with the pieces of src[0, n) covering bytes [off, off + len),
 * leaving out empty buffers: a chain part's bytes past a header, for I/O
 * straight to or from guest memory. Returns how many, or -1 if more than max.
 */
int vq_iov_slice(struct iovec *dst, unsigned max, const struct iovec *src, unsigned n, uint64_t off,
		 uint64_t len);

/*
 * Copy between a chain and a flat buffer, starting `off` bytes into the
 * chain's readable (vq_chain_read) or writable (vq_chain_write) part.
 * Return the bytes copied, which is less than len if the part is shorter.
 */
size_t vq_chain_read(const struct vq_chain *c, size_t off, void *buf, size_t len);
size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *buf, size_t len);

#endif
