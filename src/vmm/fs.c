/*
 * fs.c - virtio-fs (device ID 26, VIRTIO 1.2 5.11) over the FUSE server in
 * src/fusesrv, sharing a host directory with the guest. See devices.h for
 * the API.
 *
 * What this file promises:
 *  - Queue 0 is the high-priority queue (the driver sends FORGET and
 *    BATCH_FORGET there, which have no reply), then, when the driver takes
 *    VIRTIO_FS_F_NOTIFICATION, queue 1 is the notification queue and queue
 *    2 the one request queue; without it queue 1 is the request queue. Both are served by
 * FSDEV_WORKERS threads, each holding at most one chain; a worker looks at the high-priority queue
 * first, so the guest's forgets never wait behind slow requests. One request queue is enough: the
 * guest's parallelism comes through the workers, and Linux spreads its requests over queues only to
 * save its own locking.
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
 *  - Notifications (fusesrv.h: a host change the guest should drop from
 *    its caches) are written by one notifier thread into the buffers the
 *    guest posts on the notification queue, each read once and checked by
 *    the driver (kernel/patches/0001-*). With no buffer posted, the next
 *    message waits in `held` and the server's queue fills; past its bound
 *    the server tells every node stale instead. Without the feature the
 *    server gives only its short timeouts (fsrv_watch_enable(false)).
 *  - Forgets come one request each (Linux's driver sends no BATCH_FORGET),
 *    one per file the guest deletes or drops from its cache. While requests
 *    flow, the driver notifies once per FSDEV_FORGET_BATCH of them (every
 *    worker looks at that queue before each request anyway) and a run of
 *    them ends with one interrupt. When the device goes idle, one worker
 *    waits FSDEV_FORGET_IDLE_MS, takes what was held back and asks for a
 *    notify per forget again: an unmount waits for every forget it sent.
 *  - The workers and the notifier confine themselves to the file-server
 *    filter before create returns, so no guest request reaches an
 *    unconfined thread.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fusesrv/fusesrv.h"
#include "hostfs/hostfs.h"
#include "vmm/devices.h"
#include "vmm/queue.h"
#include "vmm/sandbox.h"
#include "vmm/virtio.h"

#define FSDEV_HIPRIO 0
#define FSDEV_NOTIFY 1 /* with the feature; else the request queue */
#define FSDEV_QUEUES 3
/* VIRTIO_FS_F_NOTIFICATION (5.11.3): not in every host's linux/virtio_fs.h. */
#define FSDEV_F_NOTIFICATION 0
/*
 * A request of 1 MiB of data is 256 pages plus its header and reply
 * buffers; the driver uses indirect descriptors, so this is the number of
 * requests in flight, not their size.
 */
#define FSDEV_QUEUE_MAX      1024
#define FSDEV_WORKERS        8
#define FSDEV_FORGET_BATCH   32
#define FSDEV_FORGET_IDLE_MS 10
/* Config space (5.11.4): tag[36], le32 num_request_queues, le32 notify_buf_size. */
#define FSDEV_CONFIG_SIZE (VIRTIO_FS_TAG_MAX + 8)
/* The driver's buffers must hold an INVAL_ENTRY of its longest name (1024). */
#define FSDEV_NOTIFY_BUF (16 + 16 + 1024 + 8)

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
	pthread_cond_t work; /* with dev.lock: chains may be available, or stop (CLOCK_MONOTONIC) */
	bool forgets_batched; /* the high-priority queue notifies per FSDEV_FORGET_BATCH */
	bool forget_waiter;   /* a worker is in wait_forgets() */
	pthread_cond_t idle;  /* with dev.lock: busy reached 0 */
	struct fsworker w[FSDEV_WORKERS];
	pthread_t notifier;
	bool notifier_started;
	int wake;                      /* eventfd: the guest posted notification buffers, or stop */
	uint8_t held[FSRV_NOTIFY_MAX]; /* the notifier's: a message waiting for a buffer */
	size_t held_len;
	const struct sandbox *sb; /* NULL: workers run unconfined (unit tests) */
	unsigned entered;         /* workers past sandbox_enter */
	int enter_err;            /* the first one's error */
	pthread_cond_t ready;     /* with dev.lock: entered grew */
};

/* dev.lock held: the request queue's index, which the features decide. */
static unsigned request_queue(struct fsdev *d)
{
	return virtio_dev_has_feature(&d->dev, FSDEV_F_NOTIFICATION) ? FSDEV_NOTIFY + 1
								     : FSDEV_NOTIFY;
}

/* dev.lock held: a chain from the high-priority queue, else a request; 1, 0 (none) or -errno. */
static int take_chain(struct fsdev *d, struct vq_chain *c, unsigned *q)
{
	unsigned qs[2] = {FSDEV_HIPRIO, request_queue(d)};
	int r;

	for (unsigned i = 0; i < 2; i++) {
		r = virtio_dev_pop(&d->dev, qs[i], c);
		if (r != 0) {
			*q = qs[i];
			return r;
		}
	}
	return 0;
}

/* dev.lock held: does either queue still hold a chain? */
static bool more_chains(struct fsdev *d)
{
	return virtio_dev_more(&d->dev, FSDEV_HIPRIO) || virtio_dev_more(&d->dev, request_queue(d));
}

/*
 * A new thread of the device confines itself and tells create (which waits
 * for all of them); its error, with dev.lock held.
 */
static int thread_enter(struct fsdev *d, const char *name)
{
	int err;

	pthread_setname_np(pthread_self(), name);
	err = sandbox_enter(d->sb, SANDBOX_FS);
	virtio_dev_lock(&d->dev);
	if (err < 0 && !d->enter_err)
		d->enter_err = err;
	d->entered++;
	pthread_cond_broadcast(&d->ready);
	return err;
}

/*
 * dev.lock held, no chain found: one worker's wait while forgets are
 * batched. Idle for FSDEV_FORGET_IDLE_MS, forgets held back in the driver
 * are taken (the caller looks again) and each new one notifies.
 */
static void wait_forgets(struct fsdev *d)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += FSDEV_FORGET_IDLE_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	d->forget_waiter = true;
	r = pthread_cond_timedwait(&d->work, &d->dev.lock, &ts);
	d->forget_waiter = false;
	if (r != ETIMEDOUT || !d->forgets_batched)
		return;
	vq_set_notify_batch(&d->dev.vqs[FSDEV_HIPRIO], 1);
	d->forgets_batched = false;
}

static void *worker_main(void *arg)
{
	struct fsworker *w = arg;
	struct fsdev *d = w->d;
	struct virtio_dev *dev = &d->dev;
	int err = thread_enter(d, "fs-worker");

	while (!d->stop && err == 0) {
		uint64_t epoch = d->epoch;
		struct vq_chain *c = &w->chain;
		unsigned q = 0;
		ssize_t n;
		int r;

		r = take_chain(d, c, &q);
		if (r <= 0) {
			/* Empty, or broken (already marked): wait for a notify. */
			if (d->forgets_batched && !d->forget_waiter && r == 0)
				wait_forgets(d);
			else
				pthread_cond_wait(&d->work, &dev->lock);
			continue;
		}
		if (q != FSDEV_HIPRIO && !d->forgets_batched) {
			vq_set_notify_batch(&dev->vqs[FSDEV_HIPRIO], FSDEV_FORGET_BATCH);
			d->forgets_batched = true;
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
				/* A run of forgets ends with one interrupt. */
				if (q != FSDEV_HIPRIO || !virtio_dev_more(dev, FSDEV_HIPRIO))
					virtio_dev_signal(dev, q);
			}
		}
		if (--d->busy == 0)
			pthread_cond_broadcast(&d->idle);
	}
	virtio_dev_unlock(dev);
	return NULL;
}

static void wake_notifier(struct fsdev *d)
{
	uint64_t one = 1;

	(void)!write(d->wake, &one, sizeof(one));
}

/* dev.lock held: the held message into the guest's next notification buffer; false if none. */
static bool deliver_held(struct fsdev *d)
{
	struct virtio_dev *dev = &d->dev;
	struct vq_chain c;
	size_t done = 0;

	if (!virtio_dev_running(dev) || !virtio_dev_has_feature(dev, FSDEV_F_NOTIFICATION) ||
	    virtio_dev_pop(dev, FSDEV_NOTIFY, &c) <= 0)
		return false;
	/* A chain with readable buffers or too little room is the guest's fault: dropped. */
	if (c.n_rd == 0) {
		const struct iovec *v = vq_chain_wr(&c);

		for (unsigned i = 0; i < c.n_wr && done < d->held_len; i++) {
			size_t n =
			    v[i].iov_len < d->held_len - done ? v[i].iov_len : d->held_len - done;

			memcpy(v[i].iov_base, d->held + done, n);
			done += n;
		}
	}
	virtio_dev_push(dev, FSDEV_NOTIFY, c.head, done == d->held_len ? (uint32_t)done : 0);
	virtio_dev_signal(dev, FSDEV_NOTIFY);
	return true;
}

/*
 * The notifier: host changes in, notifications out, as far as the guest
 * has buffers; a guest that posts none only stalls this thread.
 */
static void *notifier_main(void *arg)
{
	struct fsdev *d = arg;
	struct virtio_dev *dev = &d->dev;
	struct pollfd p[2] = {{.fd = fsrv_watch_fd(d->srv), .events = POLLIN},
			      {.fd = d->wake, .events = POLLIN}};
	int err = thread_enter(d, "fs-notify");

	virtio_dev_unlock(dev);
	while (err == 0) {
		uint64_t n;
		bool stop;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents & POLLIN)
			(void)!read(d->wake, &n, sizeof(n));
		if (p[0].revents & POLLIN)
			fsrv_watch_read(d->srv);
		virtio_dev_lock(dev);
		stop = d->stop;
		while (!stop) {
			ssize_t len;

			if (!d->held_len) {
				len = fsrv_notify_next(d->srv, d->held, sizeof(d->held));
				if (len <= 0)
					break;
				d->held_len = (size_t)len;
			}
			if (!deliver_held(d))
				break;
			d->held_len = 0;
		}
		virtio_dev_unlock(dev);
		if (stop)
			break;
	}
	return NULL;
}

static void fsdev_notify(struct virtio_dev *dev, unsigned q)
{
	struct fsdev *d = dev->priv;

	if (q == FSDEV_NOTIFY && virtio_dev_has_feature(dev, FSDEV_F_NOTIFICATION)) {
		wake_notifier(d); /* buffers for what waits */
		return;
	}
	/* One worker; it wakes the next if it finds more than one chain. */
	pthread_cond_signal(&d->work);
}

static int fsdev_activate(struct virtio_dev *dev)
{
	struct fsdev *d = dev->priv;

	/* A driver without the notification queue gets the short timeouts only. */
	fsrv_watch_enable(d->srv, virtio_dev_has_feature(dev, FSDEV_F_NOTIFICATION));
	/* Buffers posted before DRIVER_OK were not notified. */
	pthread_cond_broadcast(&d->work);
	wake_notifier(d);
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
	d->held_len = 0;            /* the notifier touches it only under dev.lock */
	d->forgets_batched = false; /* the queues' reset set a notify per buffer */
}

static const struct virtio_dev_ops fsdev_ops = {
    .name = "fs",
    .device_id = VIRTIO_ID_FS,
    .features = 1ull << FSDEV_F_NOTIFICATION,
    .num_queues = FSDEV_QUEUES,
    .queue_max = FSDEV_QUEUE_MAX,
    .config_size = FSDEV_CONFIG_SIZE,
    .queue_notify = fsdev_notify,
    .reset = fsdev_reset,
    .activate = fsdev_activate,
    .destroy = virtio_fs_destroy,
};

int virtio_fs_create(struct virtio_dev **out, struct guest_mem *gm, const char *tag,
		     const char *dir, const struct fsrv_config *cfg, const struct sandbox *sb)
{
	size_t tlen = tag ? strlen(tag) : 0;
	struct fsdev *d;
	uint32_t bufsz = FSDEV_NOTIFY_BUF;
	pthread_condattr_t ca;
	int r;

	if (!tlen || tlen > VIRTIO_FS_TAG_MAX)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->sb = sb;
	d->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->wake < 0) {
		free(d);
		return -errno;
	}
	pthread_cond_init(&d->ready, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&d->idle, NULL);
	r = hfs_open(dir, &d->hfs);
	if (r < 0)
		goto fail_cond;
	r = fsrv_new(d->hfs, cfg, &d->srv);
	if (r < 0)
		goto fail_hfs;
	r = virtio_dev_init(&d->dev, &fsdev_ops, gm, d);
	if (r < 0)
		goto fail_srv;
	/* The tag NUL-padded; one of exactly 36 bytes has no NUL (5.11.4). */
	memcpy(d->dev.config, tag, tlen);
	d->dev.config[VIRTIO_FS_TAG_MAX] = 1; /* le32 num_request_queues */
	for (int i = 0; i < 4; i++)           /* le32 notify_buf_size */
		d->dev.config[VIRTIO_FS_TAG_MAX + 4 + i] = (uint8_t)(bufsz >> (8 * i));
	if (fsrv_watch_fd(d->srv) >= 0) {
		r = -pthread_create(&d->notifier, NULL, notifier_main, d);
		if (r < 0)
			goto fail_workers;
		d->notifier_started = true;
	}
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
	while (d->entered < FSDEV_WORKERS + (d->notifier_started ? 1u : 0u))
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
	close(d->wake);
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
	wake_notifier(d);
	for (int i = 0; i < FSDEV_WORKERS; i++)
		if (d->w[i].started)
			pthread_join(d->w[i].th, NULL);
	if (d->notifier_started)
		pthread_join(d->notifier, NULL);
	close(d->wake);
	virtio_dev_fini(dev); /* zeroes dev, priv included */
	fsrv_free(d->srv);
	hfs_free(d->hfs);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
	pthread_cond_destroy(&d->ready);
	free(d);
}
