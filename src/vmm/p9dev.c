/*
 * p9dev.c - virtio 9P transport (device ID 9) over the 9P2000.L server in
 * src/p9. See devices.h for the API.
 *
 * What this file promises:
 *  - A request is the device-readable part of a chain, its reply goes into
 *    the device-writable part; both are copied through a flat per-worker
 *    buffer of P9DEV_BUF bytes, so the server decodes only our copy and a
 *    guest rewriting its buffers mid-request changes nothing we checked.
 *    The one exception is file data: a Tread's data is read from the file
 *    straight into the guest's pages and a Twrite's written from them
 *    (bytes nothing checks), bounded by the chain's validated buffers.
 *    The reply is never longer than the writable part: the server is given
 *    min(writable bytes, buffer) as its capacity and answers Rlerror when a
 *    reply does not fit.
 *  - A request longer than the buffer is answered Rlerror(EMSGSIZE) with its
 *    own tag. Only a chain that cannot be a 9P exchange at all (fewer than 7
 *    readable bytes, fewer than 11 writable ones for an Rlerror, or framing
 *    the server cannot find a tag in) marks the device needs-reset.
 *  - A read-only share refuses every request that would change the host
 *    (create, write, open for writing or truncation, setattr, link, rename,
 *    unlink, xattrcreate, ...) with EROFS before the server sees it.
 *  - Requests run on P9DEV_WORKERS threads, each holding at most one chain,
 *    so a slow file delays only its own worker and at most P9DEV_WORKERS
 *    chains are in flight. Workers take chains from the ring themselves
 *    (under the device lock) when the driver notifies; the server call runs
 *    with no lock held; the push and the interrupt happen under the lock.
 *  - Reset and destroy wait, on the device lock's condition variable, until
 *    no worker holds a chain; a chain taken before a reset is never pushed
 *    after it (the epoch changed). A reset also starts a new server
 *    connection, so no fid survives into the next driver's session.
 *  - A Tflush must be answered after the request it flushes (the client
 *    reuses the tag once Rflush arrives), but both may be taken by two
 *    workers at once and the Tflush reach the server first, which would
 *    answer it at once. So each worker notes the tag of the chain it holds,
 *    and one holding a Tflush waits until no worker holds an earlier chain
 *    with the flushed tag: by then that reply has been pushed.
 *
 * Open bug: twice in the rig, tests/vm/distro.sh's mount-option measurement
 * (LXS_9P_MEASURE=1: mount/umount of a second share with several cache
 * modes, find+stat, 100 MiB reads) stalled with one request in the
 * available ring that no worker took (taken == used, avail one ahead), the
 * guest waiting for it. Not found yet; a 100 ms poll by an idle worker did
 * not pick the request up either, so workers were not popping at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "p9/p9.h"
#include "p9/proto.h"
#include "vmm/devices.h"
#include "vmm/queue.h"
#include "vmm/sandbox.h"
#include "vmm/virtio.h"

/* Linux's virtio 9P client uses at most 128 buffers per request. */
#define P9DEV_QUEUE_MAX 128
#define P9DEV_WORKERS   8
/* Largest msize agreed. Linux 6.12's virtio transport stops at 500 KiB. */
#define P9DEV_BUF (1u << 20)
/*
 * Fids (each a host descriptor) per share: a guest's dentry cache keeps one
 * per entry it has seen, and a kernel tree has 80,000; beyond this the guest
 * gets errors, not lxs-vm's other devices.
 */
#define P9DEV_MAX_FIDS 100000 /* four shares stay under the usual hard limit, 524288 */

#define VIRTIO_9P_MOUNT_TAG 0

struct p9dev;

struct p9worker {
	struct p9dev *d;
	pthread_t th;
	bool started;
	uint8_t *req, *resp;
	struct vq_chain chain;
	struct iovec data[VQ_MAX_IOV]; /* a read's or write's data buffers (vq_iov_slice) */
	int tag;                       /* of the chain held, -1 if none (under dev.lock) */
};

struct p9dev {
	struct virtio_dev dev;
	struct p9_server *srv;
	struct p9_conn *conn;
	bool ro;
	bool stop;           /* destroy: workers exit */
	uint64_t epoch;      /* bumped by reset: older chains are not pushed */
	unsigned busy;       /* workers holding a chain */
	pthread_cond_t work; /* with dev.lock: chains may be available, or stop */
	pthread_cond_t idle; /* with dev.lock: busy reached 0 */
	pthread_cond_t done; /* with dev.lock: a worker let a chain go */
	struct p9worker w[P9DEV_WORKERS];
	const struct sandbox *sb; /* NULL: workers run unconfined (unit tests) */
	unsigned entered;         /* workers past sandbox_enter */
	int enter_err;            /* the first one's error */
	pthread_cond_t ready;     /* with dev.lock: entered grew */
};

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An Rlerror for tag into resp (P9_LERRORSZ bytes). */
static size_t lerror(uint8_t *resp, uint16_t tag, uint32_t err)
{
	put_u32(resp, P9_LERRORSZ);
	resp[4] = P9_RLERROR;
	put_u16(resp + 5, tag);
	put_u32(resp + 7, err);
	return P9_LERRORSZ;
}

/*
 * Whether a read-only share must refuse this request. Tremove is rewritten
 * into a Tclunk by the caller (the fid is gone either way in 9P).
 */
static bool changes_host(const uint8_t *req, size_t len)
{
	switch (req[4]) {
	case P9_TLCREATE:
	case P9_TSYMLINK:
	case P9_TMKNOD:
	case P9_TRENAME:
	case P9_TSETATTR:
	case P9_TXATTRCREATE:
	case P9_TLINK:
	case P9_TMKDIR:
	case P9_TRENAMEAT:
	case P9_TUNLINKAT:
	case P9_TWRITE:
		return true;
	case P9_TLOPEN:
		/* size[4] type[1] tag[2] fid[4] flags[4]; short ones the server refuses. */
		if (len >= 15) {
			uint32_t fl = get_u32(req + 11);

			return (fl & O_ACCMODE) != O_RDONLY ||
			       (fl & (O_TRUNC | O_CREAT | O_APPEND));
		}
		return false;
	default:
		return false;
	}
}

/*
 * Serve one chain with no lock held. Returns the reply length, or -1:
 * needs-reset; *in_resp is how much of it is in w->resp (the rest, a read's
 * data, is in the chain already).
 */
static long serve(struct p9worker *w, struct p9_conn *conn, bool ro, const char **why,
		  size_t *in_resp)
{
	struct vq_chain *c = &w->chain;
	struct p9_bulk bulk = {.iov = w->data};
	size_t len, cap, rlen = 0;
	bool remove_ro = false;
	uint16_t tag;
	int r;

	if (c->rd_bytes < 7) {
		*why = "9P request shorter than its header";
		return -1;
	}
	if (c->wr_bytes < P9_LERRORSZ) {
		*why = "9P request without room for a reply";
		return -1;
	}
	/*
	 * The header first, then, by its type, the rest (read once: a guest
	 * rewriting it meanwhile cannot make us act on two different types). A
	 * Twrite's data stays in the guest's pages.
	 */
	if (vq_chain_read(c, 0, w->req, P9_HDRSZ) != P9_HDRSZ) {
		*why = "9P request shorter than its chain said";
		return -1;
	}
	if (w->req[4] == P9_TWRITE && c->rd_bytes > P9_TWRITE_HDRSZ) {
		/*
		 * The data's buffers (Linux's zero-copy writes put the header in
		 * a buffer of its own and the data in the writer's pages; any
		 * split works). w->data holds as many as a chain has.
		 */
		len = P9_TWRITE_HDRSZ;
		bulk.len = c->rd_bytes - len;
		bulk.iovcnt =
		    vq_iov_slice(w->data, VQ_MAX_IOV, vq_chain_rd(c), c->n_rd, len, bulk.len);
	} else {
		len = c->rd_bytes < P9DEV_BUF ? (size_t)c->rd_bytes : P9DEV_BUF;
	}
	if (vq_chain_read(c, P9_HDRSZ, w->req + P9_HDRSZ, len - P9_HDRSZ) != len - P9_HDRSZ) {
		*why = "9P request shorter than its chain said";
		return -1;
	}
	tag = (uint16_t)(w->req[5] | w->req[6] << 8);
	cap = c->wr_bytes < P9DEV_BUF ? (size_t)c->wr_bytes : P9DEV_BUF;
	if (c->rd_bytes > P9DEV_BUF)
		return (long)lerror(w->resp, tag, EMSGSIZE);
	if (ro) {
		if (changes_host(w->req, len))
			return (long)lerror(w->resp, tag, EROFS);
		if (w->req[4] == P9_TREMOVE) {
			/* Same layout (size tag fid): drop the fid, refuse the removal. */
			w->req[4] = P9_TCLUNK;
			remove_ro = true;
		}
	}
	if (w->req[4] == P9_TREAD) /* the reply's buffers past the Rread header */
		bulk.iovcnt = vq_iov_slice(w->data, VQ_MAX_IOV, vq_chain_wr(c), c->n_wr, P9_IOHDRSZ,
					   c->wr_bytes - P9_IOHDRSZ);
	r = p9_handle_bulk(conn, w->req, len, w->resp, cap, bulk.iovcnt ? &bulk : NULL, &rlen);
	if (r == -EBADMSG) {
		*why = "9P request with broken framing";
		return -1;
	}
	if (r < 0) /* -ENOBUFS cannot happen: cap >= P9_LERRORSZ */
		return (long)lerror(w->resp, tag, EIO);
	if (remove_ro && rlen >= 5 && w->resp[4] != P9_RLERROR)
		return (long)lerror(w->resp, tag, EROFS);
	*in_resp = rlen - bulk.got;
	return (long)rlen;
}

/* The tag of a chain's request, or -1; for a Tflush, *oldtag too (else -1). */
static int peek_tag(const struct vq_chain *c, int *oldtag)
{
	uint8_t h[9];
	size_t n = vq_chain_read(c, 0, h, sizeof(h));

	*oldtag = n == 9 && h[4] == P9_TFLUSH ? h[7] | h[8] << 8 : -1;
	return n >= 7 ? h[5] | h[6] << 8 : -1;
}

/* dev.lock held: another worker holds a chain tagged tag (taken before ours). */
static bool tag_in_flight(const struct p9dev *d, const struct p9worker *self, int tag)
{
	for (int i = 0; i < P9DEV_WORKERS; i++)
		if (&d->w[i] != self && d->w[i].tag == tag)
			return true;
	return false;
}

static void *worker_main(void *arg)
{
	struct p9worker *w = arg;
	struct p9dev *d = w->d;
	struct virtio_dev *dev = &d->dev;
	int err = 0;

	pthread_setname_np(pthread_self(), "p9-worker");
	err = sandbox_enter(d->sb, SANDBOX_P9);
	virtio_dev_lock(dev);
	if (err < 0 && !d->enter_err)
		d->enter_err = err;
	d->entered++;
	pthread_cond_broadcast(&d->ready);
	while (!d->stop && err == 0) {
		struct p9_conn *conn = d->conn;
		uint64_t epoch = d->epoch;
		const char *why = NULL;
		long n;
		int r;

		r = conn ? virtio_dev_pop(dev, 0, &w->chain) : 0;
		if (r <= 0) {
			/* Empty, stopped or broken (already marked): wait for a notify. */
			pthread_cond_wait(&d->work, &dev->lock);
			continue;
		}
		d->busy++;
		/*
		 * With EVENT_IDX the driver notifies only for a buffer past the
		 * avail_event we last set, which is where a worker last found
		 * the ring empty: requests queued behind this one came with no
		 * notify. So another worker is woken if there are any (else they
		 * would wait for this one to finish, and one slow file would hold
		 * up all); if there are none, avail_event now asks for the next
		 * one's notify, which wakes one worker. A serial client thus
		 * wakes one thread per request, not all of them.
		 */
		if (virtio_dev_more(dev, 0))
			pthread_cond_signal(&d->work);
		int oldtag;
		w->tag = peek_tag(&w->chain, &oldtag);
		/*
		 * A chain with the flushed tag held now was taken before this
		 * Tflush (the client sent them in that order); one taken later
		 * would be a new request reusing the tag, which the client may
		 * not send before our Rflush.
		 */
		while (oldtag >= 0 && tag_in_flight(d, w, oldtag))
			pthread_cond_wait(&d->done, &dev->lock);
		virtio_dev_unlock(dev);

		size_t in_resp = SIZE_MAX; /* unless serve() says otherwise, all of it */
		n = serve(w, conn, d->ro, &why, &in_resp);
		if (n > 0 && in_resp > (size_t)n)
			in_resp = (size_t)n;
		if (n > 0 && vq_chain_write(&w->chain, 0, w->resp, in_resp) != in_resp)
			n = -1, why = "9P reply buffers shorter than their chain said";

		virtio_dev_lock(dev);
		if (d->epoch == epoch) {
			if (n < 0) {
				virtio_dev_set_needs_reset(dev, why);
			} else {
				virtio_dev_push(dev, 0, w->chain.head, (uint32_t)n);
				virtio_dev_signal(dev, 0);
			}
		}
		w->tag = -1;
		pthread_cond_broadcast(&d->done);
		if (--d->busy == 0)
			pthread_cond_broadcast(&d->idle);
	}
	virtio_dev_unlock(dev);
	return NULL;
}

static void p9dev_notify(struct virtio_dev *dev, unsigned q)
{
	struct p9dev *d = dev->priv;

	(void)q;
	/* One worker; it wakes the next if it finds more than one chain. */
	pthread_cond_signal(&d->work);
}

static int p9dev_activate(struct virtio_dev *dev)
{
	struct p9dev *d = dev->priv;

	/* Buffers posted before DRIVER_OK were not notified. */
	pthread_cond_broadcast(&d->work);
	return 0;
}

/* dev->lock held. Waits (releasing the lock) until no worker holds a chain. */
static void wait_idle(struct p9dev *d)
{
	while (d->busy)
		pthread_cond_wait(&d->idle, &d->dev.lock);
}

static void p9dev_reset(struct virtio_dev *dev)
{
	struct p9dev *d = dev->priv;
	struct p9_conn *conn;

	d->epoch++;
	wait_idle(d);
	/* A fresh connection: the next driver starts with no fids. */
	if (p9_conn_new(d->srv,
			&(struct p9_limits){.max_msize = P9DEV_BUF, .max_fids = P9DEV_MAX_FIDS},
			&conn) == 0) {
		if (d->conn)
			p9_conn_free(d->conn);
		d->conn = conn;
	}
}

static const struct virtio_dev_ops p9dev_ops = {
    .name = "9p",
    .device_id = VIRTIO_ID_9P,
    .features = VIRTIO_BIT(VIRTIO_9P_MOUNT_TAG),
    .num_queues = 1,
    .queue_max = P9DEV_QUEUE_MAX,
    .config_size = 2 + VIRTIO_9P_TAG_MAX,
    .queue_notify = p9dev_notify,
    .reset = p9dev_reset,
    .activate = p9dev_activate,
    .destroy = virtio_9p_destroy,
};

int virtio_9p_create(struct virtio_dev **out, struct guest_mem *gm, const char *tag,
		     const char *dir, bool read_only, const struct hfs_opts *opts,
		     const struct sandbox *sb)
{
	struct p9dev *d;
	size_t tlen = tag ? strlen(tag) : 0;
	int r;

	if (!tlen || tlen > VIRTIO_9P_TAG_MAX)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->ro = read_only;
	d->sb = sb;
	pthread_cond_init(&d->ready, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->idle, NULL);
	pthread_cond_init(&d->done, NULL);
	r = p9_server_open(dir, opts, &d->srv);
	if (r < 0)
		goto fail_cond;
	r = p9_conn_new(d->srv,
			&(struct p9_limits){.max_msize = P9DEV_BUF, .max_fids = P9DEV_MAX_FIDS},
			&d->conn);
	if (r < 0)
		goto fail_srv;
	r = virtio_dev_init(&d->dev, &p9dev_ops, gm, d);
	if (r < 0)
		goto fail_conn;
	put_u16(d->dev.config, (uint16_t)tlen);
	memcpy(d->dev.config + 2, tag, tlen);
	for (int i = 0; i < P9DEV_WORKERS; i++) {
		struct p9worker *w = &d->w[i];

		w->d = d;
		w->tag = -1;
		w->req = malloc(P9DEV_BUF);
		w->resp = malloc(P9DEV_BUF);
		if (!w->req || !w->resp) {
			r = -ENOMEM;
			goto fail_workers;
		}
		r = -pthread_create(&w->th, NULL, worker_main, w);
		if (r < 0)
			goto fail_workers;
		w->started = true;
	}
	/* No guest request reaches a worker that is not confined yet. */
	virtio_dev_lock(&d->dev);
	while (d->entered < P9DEV_WORKERS)
		pthread_cond_wait(&d->ready, &d->dev.lock);
	r = d->enter_err;
	virtio_dev_unlock(&d->dev);
	if (r < 0)
		goto fail_workers;
	*out = &d->dev;
	return 0;

fail_workers:
	virtio_9p_destroy(&d->dev);
	return r;
fail_conn:
	p9_conn_free(d->conn);
fail_srv:
	p9_server_free(d->srv);
fail_cond:
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
	pthread_cond_destroy(&d->done);
	pthread_cond_destroy(&d->ready);
	free(d);
	return r;
}

void virtio_9p_destroy(struct virtio_dev *dev)
{
	struct p9dev *d;

	if (!dev)
		return;
	d = dev->priv;
	virtio_dev_lock(dev);
	d->stop = true;
	d->epoch++;
	pthread_cond_broadcast(&d->work);
	wait_idle(d);
	virtio_dev_unlock(dev);
	for (int i = 0; i < P9DEV_WORKERS; i++) {
		if (d->w[i].started)
			pthread_join(d->w[i].th, NULL);
		free(d->w[i].req);
		free(d->w[i].resp);
	}
	virtio_dev_fini(dev); /* zeroes dev, priv included */
	if (d->conn)
		p9_conn_free(d->conn);
	p9_server_free(d->srv);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
	pthread_cond_destroy(&d->done);
	pthread_cond_destroy(&d->ready);
	free(d);
}
