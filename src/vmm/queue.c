/*
 * queue.c - split virtqueues: every guest-controlled ring value is checked
 * here, once, and nowhere else. See queue.h for the contract.
 *
 * Memory ordering follows 2.7.13 and 2.7.7: avail->idx is loaded with
 * acquire so that the ring entries and descriptors the driver wrote before
 * bumping it are visible; used->idx is stored with release so that the data
 * and used element we wrote are visible before the driver sees the new
 * index; a full fence separates "publish" from "read the other side's
 * suppression field" in both directions, which is the classic store/load
 * race that loses wake-ups otherwise.
 */
#include "common/posix_const.h"
#include "vmm/queue.h"

#include <errno.h>
#include <string.h>

#include "vmm/guest_mem.h"
#include "vmm/virtio.h"

static int vq_fail(struct virtqueue *vq, int err, const char *why)
{
	vq->error = err;
	vq->why = why;
	return err;
}

/*
 * Copy one descriptor out of guest memory. The guest can rewrite the table
 * while we walk it; the compiler barrier stops the compiler from dropping
 * our copy and re-reading guest memory after the checks (a TOCTOU the
 * compiler would otherwise be allowed to introduce).
 */
static void read_desc(const uint8_t *table, uint32_t i, struct vring_desc *d)
{
	memcpy(d, table + (size_t)i * sizeof(*d), sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
}

static uint16_t *used_event_ptr(const struct virtqueue *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event_ptr(const struct virtqueue *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

void vq_init(struct virtqueue *vq, uint16_t num_max)
{
	memset(vq, 0, sizeof(*vq));
	vq->num_max = num_max;
	vq->num = num_max;
}

void vq_reset(struct virtqueue *vq)
{
	vq_init(vq, vq->num_max);
}

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

int vq_enable(struct virtqueue *vq, const struct guest_mem *gm, uint64_t features)
{
	uint32_t n = vq->num;
	void *desc, *avail, *used;

	vq_disable(vq);
	if (!is_pow2(n) || n > vq->num_max || n > VIRTQ_SIZE_MAX)
		return vq_fail(vq, -EINVAL, "queue size not a power of two within QueueNumMax");
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
		return vq_fail(vq, -EINVAL, "misaligned virtqueue ring address");
	desc = gm_ptr(gm, vq->desc_gpa, VRING_DESC_BYTES(n));
	avail = gm_ptr(gm, vq->avail_gpa, VRING_AVAIL_BYTES(n));
	used = gm_ptr(gm, vq->used_gpa, VRING_USED_BYTES(n));
	if (!desc || !avail || !used)
		return vq_fail(vq, -EFAULT, "virtqueue ring outside guest RAM");

	vq->gm = gm;
	vq->size = (uint16_t)n;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->event_idx = features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	vq->indirect = features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	vq->last_avail = vq->avail_idx = vq->used_idx = vq->signalled_used = 0;

	/* The used ring is ours: start it from a known state. */
	__atomic_store_n(&vq->used->flags, 0, __ATOMIC_RELAXED);
	__atomic_store_n(avail_event_ptr(vq), 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->used->idx, 0, __ATOMIC_RELEASE);
	vq->ready = true;
	return 0;
}

void vq_disable(struct virtqueue *vq)
{
	vq->ready = false;
	vq->error = 0;
	vq->why = NULL;
	vq->gm = NULL;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->size = 0;
}

/*
 * Read the driver's avail->idx. Returns 1 if entries are available, 0 if
 * not, or an error if the driver claims more entries than the ring holds.
 */
static int refresh_avail(struct virtqueue *vq)
{
	uint16_t idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);

	if (idx == vq->last_avail && vq->event_idx) {
		/*
		 * Ask for a notification on the next buffer, then look again:
		 * the driver may have added one after our first load but read
		 * the old avail_event, and would then not notify us.
		 */
		uint16_t batch = vq->notify_batch < vq->size / 2 ? vq->notify_batch : vq->size / 2;

		__atomic_store_n(avail_event_ptr(vq),
				 (uint16_t)(vq->last_avail + (batch > 1 ? batch - 1 : 0)),
				 __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	}
	if ((uint16_t)(idx - vq->last_avail) > vq->size)
		return vq_fail(vq, -EINVAL, "available index more than the queue size ahead");
	vq->avail_idx = idx;
	return idx != vq->last_avail;
}

bool vq_more(struct virtqueue *vq)
{
	if (vq->error || !vq->ready)
		return false;
	return vq->last_avail != vq->avail_idx || refresh_avail(vq) > 0;
}

/* Append one checked buffer to the chain. */
static int add_buf(struct virtqueue *vq, struct vq_chain *c, const struct vring_desc *d,
		   uint64_t *total)
{
	bool wr = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;
	unsigned n = c->n_rd + c->n_wr;

	/* gm_ptr() is overflow-safe: addr + len wrapping past 2^64 fails too. */
	p = gm_ptr(vq->gm, d->addr, d->len);
	if (!p)
		return vq_fail(vq, -EFAULT, "descriptor buffer outside guest RAM");
	if (!wr && c->n_wr)
		return vq_fail(vq, -EINVAL, "device-readable descriptor after a writable one");
	if (n >= VQ_MAX_IOV)
		return vq_fail(vq, -E2BIG, "descriptor chain has too many buffers");
	*total += d->len;
	if (*total > VQ_MAX_CHAIN_BYTES)
		return vq_fail(vq, -EOVERFLOW, "descriptor chain longer than 4 GiB");

	c->iov[n].iov_base = p;
	c->iov[n].iov_len = d->len;
	if (wr) {
		c->n_wr++;
		c->wr_bytes += d->len;
	} else {
		c->n_rd++;
		c->rd_bytes += d->len;
	}
	return 0;
}

/*
 * Walk the chain starting at `head`: zero or more direct descriptors,
 * optionally ending in one indirect descriptor whose table is walked in turn.
 * Loops are caught by counting: a chain cannot be longer than the table it
 * lives in.
 */
static int walk_chain(struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
	const uint8_t *table = (const uint8_t *)vq->desc;
	uint32_t table_n = vq->size;
	uint32_t i = head, steps = 0;
	bool indirect = false;
	uint64_t total = 0;
	struct vring_desc d;
	int r;

	c->head = head;
	c->n_rd = c->n_wr = 0;
	c->rd_bytes = c->wr_bytes = 0;
	if (head >= vq->size)
		return vq_fail(vq, -EINVAL, "available ring entry out of range");

	for (;;) {
		if (++steps > table_n)
			return vq_fail(vq, -ELOOP, "descriptor chain longer than its table (loop)");
		read_desc(table, i, &d);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return vq_fail(vq, -EINVAL, "indirect descriptor not negotiated");
			if (indirect)
				return vq_fail(vq, -EINVAL, "nested indirect descriptor");
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return vq_fail(vq, -EINVAL, "indirect descriptor with NEXT");
			if (d.len == 0 || d.len % sizeof(struct vring_desc))
				return vq_fail(vq, -EINVAL,
					       "indirect table length not a multiple of 16");
			table = gm_ptr(vq->gm, d.addr, d.len);
			if (!table)
				return vq_fail(vq, -EFAULT, "indirect table outside guest RAM");
			table_n = d.len / sizeof(struct vring_desc);
			indirect = true;
			i = 0;
			steps = 0;
			continue;
		}

		r = add_buf(vq, c, &d, &total);
		if (r < 0)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= table_n)
			return vq_fail(vq, -EINVAL, "descriptor next index out of range");
		i = d.next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	uint16_t head;
	int r;

	if (vq->error)
		return vq->error;
	if (!vq->ready)
		return 0;
	if (vq->last_avail == vq->avail_idx) {
		r = refresh_avail(vq);
		if (r <= 0)
			return r;
	}
	head = __atomic_load_n(&vq->avail->ring[vq->last_avail & (vq->size - 1)], __ATOMIC_RELAXED);
	r = walk_chain(vq, head, c);
	if (r < 0)
		return r;
	vq->last_avail++;
	return 1;
}

void vq_set_notify_batch(struct virtqueue *vq, uint16_t n)
{
	vq->notify_batch = n;
}

void vq_unpop(struct virtqueue *vq)
{
	if (vq->ready)
		vq->last_avail--;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	struct vring_used_elem *e;

	/* head comes from a chain we popped; a bad one is a device bug. */
	if (!vq->ready || head >= vq->size)
		return;
	e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, written, __ATOMIC_RELAXED);
	vq->used_idx++;
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool vq_needs_notify(struct virtqueue *vq)
{
	uint16_t old, new, event;

	if (!vq->ready)
		return false;
	/* Our used->idx store must be visible before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	old = vq->signalled_used;
	new = vq->used_idx;
	vq->signalled_used = new;
	if (old == new)
		return false; /* nothing used since the last time */
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	/* 2.7.10: interrupt iff used_event lies in [old, new). */
	event = __atomic_load_n(used_event_ptr(vq), __ATOMIC_RELAXED);
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

int vq_iov_slice(struct iovec *dst, unsigned max, const struct iovec *src, unsigned n, uint64_t off,
		 uint64_t len)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		uint64_t l = src[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		if (k == max)
			return -1;
		dst[k].iov_base = (uint8_t *)src[i].iov_base + off;
		dst[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return (int)k;
}

/* Copy between buf and the bytes from off on of iov[0, n); to_iov says which way. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, uint8_t *buf, size_t len,
		       bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		const struct iovec *v = &iov[i];
		size_t k;

		if (off >= v->iov_len) {
			off -= v->iov_len;
			continue;
		}
		k = v->iov_len - off;
		if (k > len - done)
			k = len - done;
		if (to_iov)
			memcpy((uint8_t *)v->iov_base + off, buf + done, k);
		else
			memcpy(buf + done, (const uint8_t *)v->iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vq_chain_read(const struct vq_chain *c, size_t off, void *buf, size_t len)
{
	return iov_copy(c->iov, c->n_rd, off, buf, len, false);
}

size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *buf, size_t len)
{
	/* buf is only read: the loop is shared with vq_chain_read. */
	return iov_copy(c->iov + c->n_rd, c->n_wr, off, iov_const(buf), len, true);
}
