/*
 * fs.c - virtio-fs (device ID 26, VIRTIO 1.2 5.11) over the FUSE server in
 * src/fusesrv, sharing a host directory with the guest. See devices.h for
 * the API.
 *
 * What this file promises:
 *  - Queue 0 is the high-priority queue (the driver sends FORGET and
 *    BATCH_FORGET there, which have no reply), queue 1 the one request
 *    queue. Both are served by FSDEV_WORKERS threads, each holding at most
 *    one chain; a worker looks at the high-priority queue first, so the
 *    guest's forgets never wait behind slow requests. One request queue is
 *    enough: the guest's parallelism comes through the workers, and Linux
 *    spreads its requests over queues only to save its own locking.
 *  - A chain's buffers go to the server as they are (fsrv_handle() copies
 *    the header and arguments out of them once before checking them, and
 *    moves file data straight between the file and the guest's pages). The
 *    used length is the reply's length, never more than the writable part.
 *  - A chain that cannot hold a FUSE request at all (the server says so)
 *    marks the device needs-reset; every other fault is an error reply.
 *  - Reset and destroy wait, on the device lock's condition variable, until
 *    no worker holds a chain; a chain taken before a reset is never pushed
 *    after it (the epoch changed). A reset also starts the server's session
 *    afresh, so no node or handle survives into the next driver.
 *  - The workers confine themselves to the file-server filter before create
 *    returns, so no guest request reaches an unconfined thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fusesrv/fusesrv.h"
#include "hostfs/hostfs.h"
#include "vmm/devices.h"
#include "vmm/queue.h"
#include "vmm/sandbox.h"
#include "vmm/virtio.h"

#define FSDEV_HIPRIO   0
#define FSDEV_REQUESTS 1
#define FSDEV_QUEUES   2
/*
 * A request of 1 MiB of data is 256 pages plus its header and reply
 * buffers; the driver uses indirect descriptors, so this is the number of
 * requests in flight, not their size.
 */
#define FSDEV_QUEUE_MAX 1024
#define FSDEV_WORKERS   8
/* Config space (5.11.4): tag[36], then le32 num_request_queues. */
#define FSDEV_CONFIG_SIZE (VIRTIO_FS_TAG_MAX + 4)

struct fsdev;

struct fsworker {
	struct fsdev *d;
	pthread_t th;
	bool started;
	struct vq_chain chain;
};

struct fsdev {
	struct virtio_dev dev;
	struct hostfs *hfs;
	struct fsrv *srv;
	bool stop;           /* destroy: workers exit */
	uint64_t epoch;      /* bumped by reset: older chains are not pushed */
	unsigned busy;       /* workers holding a chain */
	pthread_cond_t work; /* with dev.lock: chains may be available, or stop */
	pthread_cond_t idle; /* with dev.lock: busy reached 0 */
	struct fsworker w[FSDEV_WORKERS];
	const struct sandbox *sb; /* NULL: workers run unconfined (unit tests) */
	unsigned entered;         /* workers past sandbox_enter */
	int enter_err;            /* the first one's error */
	pthread_cond_t ready;     /* with dev.lock: entered grew */
};

/* dev.lock held: a chain from the high-priority queue, else a request; 1, 0 (none) or -errno. */
static int take_chain(struct fsdev *d, struct vq_chain *c, unsigned *q)
{
	int r;

	for (unsigned i = 0; i < FSDEV_QUEUES; i++) {
		r = virtio_dev_pop(&d->dev, i, c);
		if (r != 0) {
			*q = i;
			return r;
		}
	}
	return 0;
}

/* dev.lock held: does any queue still hold a chain? */
static bool more_chains(struct fsdev *d)
{
	for (unsigned i = 0; i < FSDEV_QUEUES; i++)
		if (virtio_dev_more(&d->dev, i))
			return true;
	return false;
}

static void *worker_main(void *arg)
{
	struct fsworker *w = arg;
	struct fsdev *d = w->d;
	struct virtio_dev *dev = &d->dev;
	int err;

	pthread_setname_np(pthread_self(), "fs-worker");
	err = sandbox_enter(d->sb, SANDBOX_FS);
	virtio_dev_lock(dev);
	if (err < 0 && !d->enter_err)
		d->enter_err = err;
	d->entered++;
	pthread_cond_broadcast(&d->ready);
	while (!d->stop && err == 0) {
		uint64_t epoch = d->epoch;
		struct vq_chain *c = &w->chain;
		unsigned q = 0;
		ssize_t n;
		int r;

		r = take_chain(d, c, &q);
		if (r <= 0) {
			/* Empty, or broken (already marked): wait for a notify. */
			pthread_cond_wait(&d->work, &dev->lock);
			continue;
		}
		d->busy++;
		/*
		 * With EVENT_IDX the driver notifies only for a buffer past the
		 * avail_event we last set: requests queued behind this one came
		 * with no notify, so another worker is woken if there are any
		 * (p9dev.c has the same reasoning).
		 */
		if (more_chains(d))
			pthread_cond_signal(&d->work);
		virtio_dev_unlock(dev);

		n = fsrv_handle(d->srv, vq_chain_rd(c), c->n_rd, vq_chain_wr(c), c->n_wr);

		virtio_dev_lock(dev);
		if (d->epoch == epoch) {
			if (n < 0) {
				virtio_dev_set_needs_reset(
				    dev, n == -ENOBUFS ? "FUSE request without room for a reply"
						       : "FUSE request with broken framing");
			} else {
				virtio_dev_push(dev, q, c->head, (uint32_t)n);
				virtio_dev_signal(dev, q);
			}
		}
		if (--d->busy == 0)
			pthread_cond_broadcast(&d->idle);
	}
	virtio_dev_unlock(dev);
	return NULL;
}

static void fsdev_notify(struct virtio_dev *dev, unsigned q)
{
	struct fsdev *d = dev->priv;

	(void)q;
	/* One worker; it wakes the next if it finds more than one chain. */
	pthread_cond_signal(&d->work);
}

static int fsdev_activate(struct virtio_dev *dev)
{
	struct fsdev *d = dev->priv;

	/* Buffers posted before DRIVER_OK were not notified. */
	pthread_cond_broadcast(&d->work);
	return 0;
}

/* dev->lock held. Waits (releasing the lock) until no worker holds a chain. */
static void wait_idle(struct fsdev *d)
{
	while (d->busy)
		pthread_cond_wait(&d->idle, &d->dev.lock);
}

static void fsdev_reset(struct virtio_dev *dev)
{
	struct fsdev *d = dev->priv;

	d->epoch++;
	wait_idle(d);
	/* The next driver starts with no nodes or handles, at FUSE_INIT. */
	fsrv_reset(d->srv);
}

static const struct virtio_dev_ops fsdev_ops = {
    .name = "fs",
    .device_id = VIRTIO_ID_FS,
    .features = 0, /* no VIRTIO_FS_F_NOTIFICATION: Linux has no driver for it */
    .num_queues = FSDEV_QUEUES,
    .queue_max = FSDEV_QUEUE_MAX,
    .config_size = FSDEV_CONFIG_SIZE,
    .queue_notify = fsdev_notify,
    .reset = fsdev_reset,
    .activate = fsdev_activate,
    .destroy = virtio_fs_destroy,
};

int virtio_fs_create(struct virtio_dev **out, struct guest_mem *gm, const char *tag,
		     const char *dir, bool read_only, const struct hfs_opts *opts,
		     uint32_t cache_ms, const struct sandbox *sb)
{
	struct fsrv_config cfg = {
	    .read_only = read_only, .entry_ms = cache_ms, .attr_ms = cache_ms};
	size_t tlen = tag ? strlen(tag) : 0;
	struct fsdev *d;
	int r;

	if (!tlen || tlen > VIRTIO_FS_TAG_MAX)
		return -EINVAL;
	if (opts)
		cfg.opts = *opts;
	else
		hfs_opts_default(&cfg.opts);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->sb = sb;
	pthread_cond_init(&d->ready, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->idle, NULL);
	r = hfs_open(dir, &d->hfs);
	if (r < 0)
		goto fail_cond;
	r = fsrv_new(d->hfs, &cfg, &d->srv);
	if (r < 0)
		goto fail_hfs;
	r = virtio_dev_init(&d->dev, &fsdev_ops, gm, d);
	if (r < 0)
		goto fail_srv;
	/* The tag NUL-padded; one of exactly 36 bytes has no NUL (5.11.4). */
	memcpy(d->dev.config, tag, tlen);
	d->dev.config[VIRTIO_FS_TAG_MAX] = 1; /* le32 num_request_queues */
	for (int i = 0; i < FSDEV_WORKERS; i++) {
		struct fsworker *w = &d->w[i];

		w->d = d;
		r = -pthread_create(&w->th, NULL, worker_main, w);
		if (r < 0)
			goto fail_workers;
		w->started = true;
	}
	/* No guest request reaches a worker that is not confined yet. */
	virtio_dev_lock(&d->dev);
	while (d->entered < FSDEV_WORKERS)
		pthread_cond_wait(&d->ready, &d->dev.lock);
	r = d->enter_err;
	virtio_dev_unlock(&d->dev);
	if (r < 0)
		goto fail_workers;
	*out = &d->dev;
	return 0;

fail_workers:
	virtio_fs_destroy(&d->dev);
	return r;
fail_srv:
	fsrv_free(d->srv);
fail_hfs:
	hfs_free(d->hfs);
fail_cond:
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
	pthread_cond_destroy(&d->ready);
	free(d);
	return r;
}

void virtio_fs_set_opts(struct virtio_dev *dev, const struct hfs_opts *opts)
{
	struct fsdev *d = dev->priv;

	fsrv_set_opts(d->srv, opts);
}

void virtio_fs_destroy(struct virtio_dev *dev)
{
	struct fsdev *d;

	if (!dev)
		return;
	d = dev->priv;
	virtio_dev_lock(dev);
	d->stop = true;
	d->epoch++;
	pthread_cond_broadcast(&d->work);
	wait_idle(d);
	virtio_dev_unlock(dev);
	for (int i = 0; i < FSDEV_WORKERS; i++)
		if (d->w[i].started)
			pthread_join(d->w[i].th, NULL);
	virtio_dev_fini(dev); /* zeroes dev, priv included */
	fsrv_free(d->srv);
	hfs_free(d->hfs);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
	pthread_cond_destroy(&d->ready);
	free(d);
}
