/*
 * blk.c - virtio block device (device ID 2, VIRTIO 1.2 5.2) over an image
 * file, with many requests in flight through io_uring. See devices.h for
 * the API.
 *
 * What this file promises:
 *  - Every request is checked before any I/O starts: the 16-byte header and
 *    DISCARD/WRITE_ZEROES segments are copied out of guest memory once (a
 *    guest rewriting them cannot change a checked value), sector ranges are
 *    compared with the capacity without overflow, IN/OUT lengths must be
 *    multiples of 512, IN data goes only into device-writable buffers and
 *    OUT data comes only from device-readable ones. Descriptor framing is
 *    free (2.6.4): the header, data and status may share or split buffers.
 *  - A request that can be answered is answered: IOERR for bad ranges,
 *    lengths, directions, segment lists, writes to a read-only image and
 *    host I/O errors; UNSUPP for unknown types and flags. Only a chain that
 *    is not a block request at all - fewer than 16 readable bytes for the
 *    header, or no writable byte for the status - marks the device
 *    needs-reset, since there is no status byte to answer through or no
 *    request to answer.
 *  - Data moves between the image and guest memory directly (readv/writev
 *    on the chain's host iovecs), up to BLK_NREQ requests at once. When all
 *    slots are busy the device stops taking chains and resumes when one
 *    completes. Short transfers are continued; each request has at most one
 *    operation in the kernel at a time.
 *  - FLUSH is fdatasync (IORING_FSYNC_DATASYNC) issued with IOSQE_IO_DRAIN:
 *    it starts only after every request submitted before it completed, so
 *    an OK covers every write the guest saw complete, and requests after it
 *    wait for it (a full barrier; Linux sends flushes sparingly).
 *  - DISCARD and WRITE_ZEROES with unmap punch holes; WRITE_ZEROES without
 *    unmap uses FALLOC_FL_ZERO_RANGE, or punches a hole where the host file
 *    system cannot zero a range (the range reads back as zeroes either way).
 *    Where the host cannot punch holes either, the request gets UNSUPP (and
 *    Linux falls back to writing zeroes itself).
 *  - Device reset, detach and destroy wait for the requests in flight, so
 *    that no I/O touches guest memory or the file afterwards. After a reset
 *    nothing is written to the old requests' status bytes or used ring.
 *
 * Threads: the thread that delivers a notification through the transport
 * (a vCPU, or the event loop when the VMM uses ioeventfd; dev->lock held)
 * submits the new requests itself and reaps whatever completed inline
 * (page cache hits); the event loop reaps the rest when the ring's eventfd
 * fires; attach/detach come from any thread. The ring and all state below
 * are protected by dev->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <sys/syscall.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"
#include "common/le.h"

#define BLK_QUEUE_MAX 256
/* Requests in the kernel at once; also the ring's size (one SQE each). */
#define BLK_NREQ 128
/* Data buffers per request the guest is told it may use (QEMU: queue size - 2). */
#define BLK_SEG_MAX (BLK_QUEUE_MAX - 2)
/* Header and status sharing data buffers can add two slices. */
#define BLK_REQ_IOV (BLK_SEG_MAX + 2)
#define BLK_MAX_SEG 32
/* Per segment; 2 GiB keeps one fallocate call short. */
#define BLK_MAX_SEG_SECTORS (1u << 22)
/* Hole punching works in file system blocks: tell the guest 4 KiB. */
#define BLK_DISCARD_ALIGN 8

#define BLK_FEATURES                                                                               \
	(VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |                    \
	 VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |                      \
	 VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES))

enum blk_op { OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD, OP_ZEROES };

struct blk_req {
	struct blk_req *next_free;
	uint16_t head;
	uint8_t op;
	uint8_t *status;   /* last writable byte of the chain (guest memory) */
	uint32_t used_len; /* the chain's writable bytes, reported in the used ring */
	uint64_t off;      /* read/write: file offset of the next byte */
	uint64_t left;     /* read/write: bytes still to move */
	uint64_t bytes;    /* read/write: the request's data length */
	unsigned first, n; /* read/write: iov[first, n) still to move */
	unsigned seg, nseg;
	int mode; /* discard/zeroes: fallocate mode of the current segment */
	union {
		struct iovec iov[BLK_REQ_IOV];
		struct virtio_blk_seg segs[BLK_MAX_SEG];
	};
};

struct blk {
	struct virtio_dev dev;
	struct evloop *ev;
	struct io_uring ring;
	int efd; /* the ring's completion eventfd, watched on ev */

	int fd;             /* the image, -1 when the slot is empty */
	bool ro_slot;       /* F_RO offered */
	bool ro;            /* the image is attached read-only */
	bool no_zero_range; /* the host fs refused FALLOC_FL_ZERO_RANGE */
	bool abort_io;      /* reset/destroy: finish requests without answering */
	bool io_warned;
	uint64_t capacity; /* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];

	unsigned inflight; /* requests with an SQE prepared or in the kernel */
	struct blk_req *free;
	struct virtio_blk_stats st;

	struct vq_chain chain; /* scratch: the chain being parsed */
	struct blk_req reqs[BLK_NREQ];
};

/* --- little helpers ----------------------------------------------------------- */

/* [sector, sector + nsec) lies within the disk; never overflows. */
static bool range_ok(const struct blk *blk, uint64_t sector, uint64_t nsec)
{
	return sector <= blk->capacity && nsec <= blk->capacity - sector;
}

/* The chain's last device-writable byte, where the status goes. */
static uint8_t *status_byte(struct vq_chain *c)
{
	struct iovec *w = vq_chain_wr(c);

	for (unsigned i = c->n_wr; i-- > 0;)
		if (w[i].iov_len)
			return (uint8_t *)w[i].iov_base + w[i].iov_len - 1;
	return NULL;
}

/* Host I/O trouble is worth one line, not one per request. */
static void io_warn(struct blk *blk, const char *what, int err)
{
	blk->st.host_errors++;
	if (blk->io_warned)
		return;
	blk->io_warned = true;
	errno = -err;
	log_warn("virtio-blk: %s failed, answering IOERR", what);
}

/* --- request slots and completion ------------------------------------------------ */

static struct blk_req *req_get(struct blk *blk)
{
	struct blk_req *req = blk->free;

	if (req)
		blk->free = req->next_free;
	return req;
}

static void req_put(struct blk *blk, struct blk_req *req)
{
	req->next_free = blk->free;
	blk->free = req;
}

static void count_done(struct blk *blk, const struct blk_req *req, uint8_t status, uint64_t bytes)
{
	struct virtio_blk_stats *st = &blk->st;

	if (status == VIRTIO_BLK_S_IOERR) {
		st->ioerr++;
		return;
	}
	if (status == VIRTIO_BLK_S_UNSUPP) {
		st->unsupp++;
		return;
	}
	switch (req->op) {
	case OP_READ:
		st->reads++;
		st->bytes_read += bytes;
		break;
	case OP_WRITE:
		st->writes++;
		st->bytes_written += bytes;
		break;
	case OP_FLUSH:
		st->flushes++;
		break;
	case OP_DISCARD:
		st->discards++;
		break;
	case OP_ZEROES:
		st->write_zeroes++;
		break;
	}
}

/*
 * Answer a chain. After a reset (abort_io) or with the queue switched off,
 * its buffers are no longer ours: leave them alone.
 */
static void answer(struct blk *blk, uint16_t head, uint8_t *status, uint32_t used_len, uint8_t val)
{
	if (blk->abort_io || !blk->dev.vqs[0].ready)
		return;
	__atomic_store_n(status, val, __ATOMIC_RELAXED);
	virtio_dev_push(&blk->dev, 0, head, used_len);
}

static void req_finish(struct blk *blk, struct blk_req *req, uint8_t status, uint64_t bytes)
{
	count_done(blk, req, status, bytes);
	answer(blk, req->head, req->status, req->used_len, status);
	req_put(blk, req);
}

/* --- submission ----------------------------------------------------------------- */

static void eventfd_drain(int fd)
{
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing was signalled. */
	}
}

static struct io_uring_sqe *get_sqe(struct blk *blk)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&blk->ring);

	/* The ring holds one SQE per slot, so this is only a safety net. */
	if (!sqe && io_uring_submit(&blk->ring) >= 0)
		sqe = io_uring_get_sqe(&blk->ring);
	return sqe;
}

static void submit(struct blk *blk)
{
	int r;

	/*
	 * What the kernel did not take (-EAGAIN/-EBUSY) stays in the ring and
	 * goes with the next submit: the next completion or notification.
	 */
	if (!io_uring_sq_ready(&blk->ring))
		return;
	do
		r = io_uring_submit(&blk->ring);
	while (r == -EINTR);
	if (r < 0 && r != -EAGAIN && r != -EBUSY)
		io_warn(blk, "io_uring submission", r);
}

/* Queue the request's next operation. 0, or -EBUSY without an SQE. */
static int req_issue(struct blk *blk, struct blk_req *req)
{
	struct io_uring_sqe *sqe = get_sqe(blk);
	struct virtio_blk_seg *s;
	struct iovec *v;

	if (!sqe)
		return -EBUSY;
	switch (req->op) {
	case OP_READ:
	case OP_WRITE:
		v = &req->iov[req->first];
		/* One buffer (the usual 4 KiB page): no iovec to import. */
		if (req->n - req->first == 1 && req->op == OP_READ)
			io_uring_prep_read(sqe, blk->fd, v->iov_base, (unsigned)v->iov_len,
					   req->off);
		else if (req->n - req->first == 1)
			io_uring_prep_write(sqe, blk->fd, v->iov_base, (unsigned)v->iov_len,
					    req->off);
		else if (req->op == OP_READ)
			io_uring_prep_readv(sqe, blk->fd, v, req->n - req->first, req->off);
		else
			io_uring_prep_writev(sqe, blk->fd, v, req->n - req->first, req->off);
		break;
	case OP_FLUSH:
		io_uring_prep_fsync(sqe, blk->fd, IORING_FSYNC_DATASYNC);
		sqe->flags |= IOSQE_IO_DRAIN;
		break;
	case OP_DISCARD:
	case OP_ZEROES:
		s = &req->segs[req->seg];
		io_uring_prep_fallocate(sqe, blk->fd, req->mode,
					(off_t)(s->sector * VIRTIO_BLK_SECTOR_SIZE),
					(off_t)((uint64_t)s->num_sectors * VIRTIO_BLK_SECTOR_SIZE));
		break;
	}
	io_uring_sqe_set_data(sqe, req);
	blk->inflight++;
	if (blk->inflight > blk->st.max_inflight)
		blk->st.max_inflight = blk->inflight;
	return 0;
}

static void req_start(struct blk *blk, struct blk_req *req)
{
	if (req_issue(blk, req) < 0) {
		io_warn(blk, "getting an io_uring entry", -EBUSY);
		req_finish(blk, req, VIRTIO_BLK_S_IOERR, 0);
	}
}

/* --- completion ------------------------------------------------------------------ */

/* Drop n transferred bytes from the front of the request. */
static void req_advance(struct blk_req *req, uint64_t n)
{
	req->off += n;
	req->left -= n;
	while (n && req->first < req->n) {
		struct iovec *v = &req->iov[req->first];
		uint64_t k = n < v->iov_len ? n : v->iov_len;

		v->iov_base = (uint8_t *)v->iov_base + k;
		v->iov_len -= k;
		n -= k;
		if (!v->iov_len)
			req->first++;
	}
}

/* Skip empty segments; false when none is left. */
static bool seg_next(struct blk *blk, struct blk_req *req)
{
	while (req->seg < req->nseg && !req->segs[req->seg].num_sectors)
		req->seg++;
	if (req->seg == req->nseg)
		return false;
	if (req->op == OP_DISCARD || (req->segs[req->seg].flags & VIRTIO_BLK_WZ_FLAG_UNMAP) ||
	    blk->no_zero_range)
		req->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	else
		req->mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	return true;
}

static void fallocate_done(struct blk *blk, struct blk_req *req, int res)
{
	if (res == -EOPNOTSUPP && (req->mode & FALLOC_FL_ZERO_RANGE)) {
		/* Some file systems (tmpfs) only punch: a hole reads as zeroes too. */
		blk->no_zero_range = true;
		req->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		req_start(blk, req);
		return;
	}
	if (res == -EOPNOTSUPP) {
		req_finish(blk, req, VIRTIO_BLK_S_UNSUPP, 0);
		return;
	}
	if (res < 0) {
		io_warn(blk, req->op == OP_DISCARD ? "discard" : "write zeroes", res);
		req_finish(blk, req, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	req->seg++;
	if (seg_next(blk, req))
		req_start(blk, req);
	else
		req_finish(blk, req, VIRTIO_BLK_S_OK, 0);
}

static void req_done(struct blk *blk, struct blk_req *req, int res)
{
	if (blk->abort_io) {
		req_put(blk, req);
		return;
	}
	switch (req->op) {
	case OP_READ:
	case OP_WRITE:
		if (res <= 0 || (uint64_t)res > req->left) {
			/* 0: the file shrank under us; there is nothing to read. */
			io_warn(blk, req->op == OP_READ ? "image read" : "image write",
				res < 0 ? res : -EIO);
			req_finish(blk, req, VIRTIO_BLK_S_IOERR, 0);
			return;
		}
		req_advance(req, (uint64_t)res);
		if (req->left) {
			req_start(blk, req);
			return;
		}
		req_finish(blk, req, VIRTIO_BLK_S_OK, req->bytes);
		return;
	case OP_FLUSH:
		if (res < 0) {
			io_warn(blk, "flush (fdatasync)", res);
			req_finish(blk, req, VIRTIO_BLK_S_IOERR, 0);
		} else {
			req_finish(blk, req, VIRTIO_BLK_S_OK, 0);
		}
		return;
	case OP_DISCARD:
	case OP_ZEROES:
		fallocate_done(blk, req, res);
		return;
	}
}

/* Handle every completion posted so far. Returns how many. */
static unsigned reap(struct blk *blk)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&blk->ring, head, cqe)
	{
		struct blk_req *req = io_uring_cqe_get_data(cqe);

		n++;
		blk->inflight--;
		req_done(blk, req, cqe->res);
	}
	io_uring_cq_advance(&blk->ring, n);
	return n;
}

/*
 * Wait until nothing is in flight. Blocks the calling thread (a vCPU during
 * reset) for at most the longest outstanding I/O, as a real disk's reset
 * would.
 */
static void drain(struct blk *blk)
{
	int r;

	while (blk->inflight) {
		r = io_uring_submit_and_wait(&blk->ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			io_warn(blk, "waiting for I/O", r);
			break;
		}
		reap(blk);
	}
}

/* --- parsing ------------------------------------------------------------------- */

/* Slice the data part of an IN or OUT request into req->iov. */
static uint8_t setup_rw(struct blk *blk, struct blk_req *req, struct vq_chain *c,
			const struct virtio_blk_req_hdr *h)
{
	uint64_t len;
	int n;

	if (req->op == OP_READ) {
		/* The header is the only readable part; data only to writable buffers. */
		if (c->rd_bytes != sizeof(*h))
			return VIRTIO_BLK_S_IOERR;
		len = c->wr_bytes - 1;
		n = vq_iov_slice(req->iov, BLK_REQ_IOV, vq_chain_wr(c), c->n_wr, 0, len);
	} else {
		/* The status is the only writable part; data only from readable ones. */
		if (c->wr_bytes != 1)
			return VIRTIO_BLK_S_IOERR;
		if (blk->ro)
			return VIRTIO_BLK_S_IOERR;
		len = c->rd_bytes - sizeof(*h);
		n = vq_iov_slice(req->iov, BLK_REQ_IOV, vq_chain_rd(c), c->n_rd, sizeof(*h), len);
	}
	if (n < 0 || len % VIRTIO_BLK_SECTOR_SIZE ||
	    !range_ok(blk, h->sector, len / VIRTIO_BLK_SECTOR_SIZE))
		return VIRTIO_BLK_S_IOERR;
	req->first = 0;
	req->n = (unsigned)n;
	req->off = h->sector * VIRTIO_BLK_SECTOR_SIZE;
	req->left = len;
	req->bytes = len;
	return VIRTIO_BLK_S_OK;
}

/* Copy and check the segments of a DISCARD or WRITE_ZEROES request. */
static uint8_t setup_segs(struct blk *blk, struct blk_req *req, struct vq_chain *c)
{
	uint64_t len = c->rd_bytes - sizeof(struct virtio_blk_req_hdr);
	uint32_t allowed = req->op == OP_ZEROES ? VIRTIO_BLK_WZ_FLAG_UNMAP : 0;

	if (blk->ro || c->wr_bytes != 1)
		return VIRTIO_BLK_S_IOERR;
	if (len == 0 || len % sizeof(struct virtio_blk_seg) ||
	    len / sizeof(struct virtio_blk_seg) > BLK_MAX_SEG)
		return VIRTIO_BLK_S_IOERR;
	req->nseg = (unsigned)(len / sizeof(struct virtio_blk_seg));
	req->seg = 0;
	/* Copied once: the guest may rewrite its copy while we work. */
	vq_chain_read(c, sizeof(struct virtio_blk_req_hdr), req->segs, len);
	for (unsigned i = 0; i < req->nseg; i++) {
		const struct virtio_blk_seg *s = &req->segs[i];

		/* 5.2.6.2: unknown flags, and unmap on a discard, are UNSUPP. */
		if (s->flags & ~allowed)
			return VIRTIO_BLK_S_UNSUPP;
		if (s->num_sectors > BLK_MAX_SEG_SECTORS ||
		    !range_ok(blk, s->sector, s->num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Start the request in chain c. Returns 0, or -EINVAL when the chain is not
 * a block request (the device is then marked needs-reset).
 */
static int start_request(struct blk *blk, struct vq_chain *c)
{
	struct virtio_blk_req_hdr h;
	struct blk_req *req;
	uint8_t *status = status_byte(c);
	uint8_t st;

	if (!status) {
		virtio_dev_set_needs_reset(&blk->dev, "block request without a status byte");
		return -EINVAL;
	}
	if (c->rd_bytes < sizeof(h)) {
		virtio_dev_set_needs_reset(&blk->dev, "block request header shorter than 16 bytes");
		return -EINVAL;
	}
	vq_chain_read(c, 0, &h, sizeof(h));

	req = req_get(blk); /* the caller made sure there is one */
	req->head = c->head;
	req->status = status;
	req->used_len = c->wr_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)c->wr_bytes;

	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		req->op = h.type == VIRTIO_BLK_T_IN ? OP_READ : OP_WRITE;
		st = setup_rw(blk, req, c, &h);
		if (st == VIRTIO_BLK_S_OK && !req->left) {
			req_finish(blk, req, VIRTIO_BLK_S_OK, 0);
			return 0;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		req->op = OP_FLUSH;
		if (blk->fd < 0) {
			/* Nothing attached, nothing to make durable. */
			req_finish(blk, req, VIRTIO_BLK_S_OK, 0);
			return 0;
		}
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		/* Answered at once: 20 bytes, NUL-padded, no terminator if full. */
		req->op = OP_READ;
		if (c->wr_bytes - 1 < VIRTIO_BLK_ID_BYTES) {
			req_finish(blk, req, VIRTIO_BLK_S_IOERR, 0);
		} else {
			vq_chain_write(c, 0, blk->serial, VIRTIO_BLK_ID_BYTES);
			blk->st.get_ids++;
			answer(blk, req->head, req->status, req->used_len, VIRTIO_BLK_S_OK);
			req_put(blk, req);
		}
		return 0;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		req->op = h.type == VIRTIO_BLK_T_DISCARD ? OP_DISCARD : OP_ZEROES;
		st = setup_segs(blk, req, c);
		if (st == VIRTIO_BLK_S_OK && !seg_next(blk, req)) {
			req_finish(blk, req, VIRTIO_BLK_S_OK, 0);
			return 0;
		}
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (st != VIRTIO_BLK_S_OK)
		req_finish(blk, req, st, 0);
	else
		req_start(blk, req);
	return 0;
}

/*
 * Take new requests while there are free slots, submit them, handle what
 * completed inline; repeat while completions free slots or continue
 * requests. Then interrupt the driver once.
 */
static void blk_run(struct blk *blk)
{
	int r;

	for (;;) {
		while (blk->free) {
			r = virtio_dev_pop(&blk->dev, 0, &blk->chain);
			if (r <= 0 || start_request(blk, &blk->chain) < 0)
				break;
		}
		submit(blk);
		/*
		 * Completions done inline at submission (page-cache hits)
		 * signalled the ring's eventfd too; they are reaped right
		 * below, so take the signal now rather than pay a loop turn
		 * for it. Emptying it before reaping keeps the one signal
		 * that matters: a completion posted after this read signals
		 * again.
		 */
		eventfd_drain(blk->efd);
		if (!reap(blk))
			break;
	}
	virtio_dev_signal(&blk->dev, 0);
}

/* --- transport and event loop callbacks ----------------------------------------- */

static void blk_ready(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct blk *blk = arg;

	(void)ev;
	(void)events;
	/* Empty the counter first: completions after this re-arm it. */
	eventfd_drain(fd);
	virtio_dev_lock(&blk->dev);
	blk_run(blk);
	virtio_dev_unlock(&blk->dev);
}

static void blk_notify(struct virtio_dev *dev, unsigned q)
{
	(void)q;
	blk_run(dev->priv);
}

static int blk_activate(struct virtio_dev *dev)
{
	/* Requests queued before DRIVER_OK were not notified. */
	blk_run(dev->priv);
	return 0;
}

static void blk_reset(struct virtio_dev *dev)
{
	struct blk *blk = dev->priv;

	blk->abort_io = true;
	drain(blk);
	blk->abort_io = false;
}

static const struct virtio_dev_ops blk_ops = {
    .name = "blk",
    .device_id = VIRTIO_ID_BLOCK,
    .features = BLK_FEATURES,
    .num_queues = 1,
    .queue_max = BLK_QUEUE_MAX,
    .config_size = VIRTIO_BLK_CFG_SIZE,
    .queue_notify = blk_notify,
    .reset = blk_reset,
    .activate = blk_activate,
    .destroy = virtio_blk_destroy,
};

/* --- images ---------------------------------------------------------------------- */

/* Open and lock an image; returns the fd and its size in sectors, or -errno. */
static int open_image(const char *path, bool read_only, uint64_t *sectors)
{
	struct stat sb;
	uint64_t bytes;
	int fd, r;

	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto err;
	}
	if (S_ISREG(sb.st_mode)) {
		bytes = (uint64_t)sb.st_size;
	} else if (S_ISBLK(sb.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			r = -errno;
			goto err;
		}
	} else {
		r = -EINVAL;
		goto err;
	}
	/* Two writers of one image corrupt it: refuse, as QEMU does. */
	if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto err;
	}
	/* A partial last sector is unreachable. */
	*sectors = bytes / VIRTIO_BLK_SECTOR_SIZE;
	return fd;

err:
	close(fd);
	return r;
}

static void set_serial(struct blk *blk, const char *serial)
{
	size_t n = serial ? strnlen(serial, VIRTIO_BLK_ID_BYTES) : 0;

	memset(blk->serial, 0, sizeof(blk->serial));
	memcpy(blk->serial, serial ? serial : "", n);
}

/* Caller holds the lock. */
static void set_image(struct blk *blk, int fd, uint64_t sectors, bool read_only)
{
	blk->fd = fd;
	blk->ro = read_only;
	blk->capacity = sectors;
	blk->no_zero_range = false;
	le_put64(blk->dev.config + VIRTIO_BLK_CFG_CAPACITY, sectors);
}

static void init_config(struct blk *blk)
{
	uint8_t *cfg = blk->dev.config;

	le_put32(cfg + VIRTIO_BLK_CFG_SEG_MAX, BLK_SEG_MAX);
	le_put32(cfg + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR_SIZE);
	/* 512-byte sectors on 4 KiB pages: the guest aligns to the page cache. */
	cfg[VIRTIO_BLK_CFG_PHYS_BLOCK_EXP] = 3;
	le_put16(cfg + VIRTIO_BLK_CFG_MIN_IO_SIZE, 8);
	le_put32(cfg + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_SEG_SECTORS);
	le_put32(cfg + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_SEG);
	le_put32(cfg + VIRTIO_BLK_CFG_DISCARD_ALIGN, BLK_DISCARD_ALIGN);
	le_put32(cfg + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_SEG_SECTORS);
	le_put32(cfg + VIRTIO_BLK_CFG_MAX_WZ_SEG, BLK_MAX_SEG);
	cfg[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

/*
 * io_uring's requests never pass through seccomp, so a ring that could open
 * or connect would undo the sandbox (sandbox.c): the ring starts disabled and
 * is limited to what a disk does with the image it already holds.
 */
static int restrict_ring(struct io_uring *ring)
{
	static const uint8_t ops[] = {IORING_OP_READ,   IORING_OP_WRITE, IORING_OP_READV,
				      IORING_OP_WRITEV, IORING_OP_FSYNC, IORING_OP_FALLOCATE};
	struct io_uring_restriction res[sizeof(ops) + 1];
	unsigned n = 0;
	int r;

	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < sizeof(ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_IO_DRAIN; /* flushes (see the top of this file) */
	/* Debian 12's liburing declares but does not export the two wrappers. */
	r = (int)syscall(SYS_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res,
			 n);
	if (r == 0)
		r = (int)syscall(SYS_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS,
				 NULL, 0);
	return r < 0 ? -errno : 0;
}

static int setup_ring(struct blk *blk)
{
	struct io_uring_params p;
	int r;

	memset(&p, 0, sizeof(p));
	/* A bad SQE must not hold back the ones behind it (5.18+). */
	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED;
	r = io_uring_queue_init_params(BLK_NREQ, &blk->ring, &p);
	if (r == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_R_DISABLED;
		r = io_uring_queue_init_params(BLK_NREQ, &blk->ring, &p);
	}
	if (r < 0)
		return r;
	blk->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (blk->efd < 0) {
		r = -errno;
		goto err_ring;
	}
	/*
	 * Not io_uring_register_eventfd_async(): it signals only completions
	 * posted by io-wq workers, and a buffered read that waited for a page
	 * completes through task work in this thread instead: no signal, and
	 * the request would never be answered.
	 */
	r = io_uring_register_eventfd(&blk->ring, blk->efd);
	if (r < 0)
		goto err_efd;
	r = restrict_ring(&blk->ring);
	if (r < 0)
		goto err_efd;
	r = ev_add(blk->ev, blk->efd, EPOLLIN, blk_ready, blk);
	if (r < 0)
		goto err_efd;
	return 0;

err_efd:
	close(blk->efd);
err_ring:
	io_uring_queue_exit(&blk->ring);
	return r;
}

/* --- life cycle ------------------------------------------------------------------- */

int virtio_blk_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
		      const char *path, bool read_only, const char *serial)
{
	uint64_t sectors = 0;
	struct blk *blk;
	int fd = -1, r;

	if (!ev || !gm)
		return -EINVAL;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	blk->ev = ev;
	blk->fd = -1;
	blk->efd = -1;
	blk->ro_slot = read_only;
	set_serial(blk, serial);
	for (unsigned i = BLK_NREQ; i-- > 0;)
		req_put(blk, &blk->reqs[i]);

	r = virtio_dev_init(&blk->dev, &blk_ops, gm, blk);
	if (r < 0)
		goto err_free;
	/* The guest reads F_RO once, at probe: a slot's mode is fixed from here on. */
	if (read_only)
		virtio_dev_offer(&blk->dev, VIRTIO_BIT(VIRTIO_BLK_F_RO));
	init_config(blk);
	if (path) {
		fd = open_image(path, read_only, &sectors);
		if (fd < 0) {
			r = fd;
			goto err_dev;
		}
		set_image(blk, fd, sectors, read_only);
	}
	r = setup_ring(blk);
	if (r < 0)
		goto err_fd;
	*out = &blk->dev;
	return 0;

err_fd:
	if (fd >= 0)
		close(fd);
err_dev:
	virtio_dev_fini(&blk->dev);
err_free:
	free(blk);
	return r;
}

int virtio_blk_attach(struct virtio_dev *dev, const char *path, bool read_only, const char *serial)
{
	struct blk *blk = dev->priv;
	uint64_t sectors;
	int fd, r = 0;

	if (!path)
		return -EINVAL;
	/* ro_slot never changes: no lock needed to read it. */
	if (blk->ro_slot && !read_only)
		return -EROFS;
	/* Open outside the lock: a slow file system must not stall the vCPUs. */
	fd = open_image(path, read_only, &sectors);
	if (fd < 0)
		return fd;
	virtio_dev_lock(dev);
	if (blk->fd >= 0) {
		r = -EBUSY;
	} else {
		set_image(blk, fd, sectors, read_only);
		if (serial)
			set_serial(blk, serial);
		virtio_dev_config_changed(dev);
	}
	virtio_dev_unlock(dev);
	if (r < 0)
		close(fd);
	return r;
}

int virtio_blk_detach(struct virtio_dev *dev)
{
	struct blk *blk = dev->priv;
	int fd;

	virtio_dev_lock(dev);
	fd = blk->fd;
	if (fd < 0) {
		virtio_dev_unlock(dev);
		return -ENOMEDIUM;
	}
	/* Requests in flight complete normally (their answers are pushed). */
	drain(blk);
	set_image(blk, -1, 0, blk->ro_slot);
	virtio_dev_config_changed(dev);
	/*
	 * Requests left in the ring while all slots were busy got no notify
	 * of their own: answer them now (IOERR, no medium).
	 */
	blk_run(blk);
	virtio_dev_unlock(dev);
	close(fd);
	return 0;
}

void virtio_blk_get_stats(struct virtio_dev *dev, struct virtio_blk_stats *st)
{
	struct blk *blk = dev->priv;

	virtio_dev_lock(dev);
	*st = blk->st;
	st->inflight = blk->inflight;
	st->capacity = blk->capacity;
	st->attached = blk->fd >= 0;
	st->read_only = blk->ro;
	virtio_dev_unlock(dev);
}

void virtio_blk_destroy(struct virtio_dev *dev)
{
	struct blk *blk;

	if (!dev)
		return;
	blk = dev->priv;
	ev_del(blk->ev, blk->efd);
	virtio_dev_lock(dev);
	blk->abort_io = true;
	drain(blk);
	virtio_dev_unlock(dev);
	io_uring_queue_exit(&blk->ring);
	close(blk->efd);
	if (blk->fd >= 0)
		close(blk->fd);
	virtio_dev_fini(dev);
	free(blk);
}
