/*
 * rng.c - virtio entropy device (device ID 4, VIRTIO 1.2 5.4). See
 * devices.h for the API.
 *
 * What this file promises: each request's device-writable buffers are
 * filled from getrandom(2) - the host kernel's CSPRNG, the same source
 * /dev/urandom reads - up to VIRTIO_RNG_MAX_REQ bytes, and returned with
 * the number of bytes filled. The work happens on the thread that delivers
 * the notification (the event loop, which every device shares, when the
 * VMM uses ioeventfd), holding the device lock; the per-request bound and
 * the small queue keep one notify under about 2 ms (8 x 64 KiB at the
 * ~300 MB/s getrandom gives here). Linux keeps one small request in flight,
 * so 8 entries cost a real driver nothing.
 * getrandom blocks only until the host's pool is first initialised, which
 * is long past by the time a VM runs. A device-readable buffer in the queue
 * breaks 5.4.6.1 and marks the device needs-reset.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/uio.h>

#include "common/log.h"
#include "vmm/devices.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define RNG_QUEUE_MAX 8

struct rng {
	struct virtio_dev dev;
	bool warned;
	struct vq_chain chain;
};

/* Fill the chain's writable buffers, at most max bytes. Returns the bytes filled. */
static size_t fill(struct rng *rng, const struct vq_chain *c, size_t max)
{
	const struct iovec *w = c->iov + c->n_rd;
	size_t done = 0;

	for (unsigned i = 0; i < c->n_wr && done < max; i++) {
		uint8_t *p = w[i].iov_base;
		size_t len = w[i].iov_len < max - done ? w[i].iov_len : max - done;
		size_t got = 0;
		ssize_t n;

		while (got < len) {
			/* Large requests may come back short (signals): continue. */
			n = getrandom(p + got, len - got, 0);
			if (n > 0) {
				got += (size_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (!rng->warned) {
				rng->warned = true;
				log_warn("virtio-rng: getrandom");
			}
			/* Report only what is really random. */
			return done + got;
		}
		done += got;
	}
	return done;
}

static void rng_run(struct rng *rng)
{
	struct virtio_dev *dev = &rng->dev;
	struct vq_chain *c = &rng->chain;
	bool pushed = false;

	while (virtio_dev_pop(dev, 0, c) > 0) {
		if (c->n_rd) {
			virtio_dev_set_needs_reset(dev,
						   "entropy request with a device-readable buffer");
			break;
		}
		virtio_dev_push(dev, 0, c->head, (uint32_t)fill(rng, c, VIRTIO_RNG_MAX_REQ));
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(dev, 0);
}

static void rng_notify(struct virtio_dev *dev, unsigned q)
{
	(void)q;
	rng_run(dev->priv);
}

static int rng_activate(struct virtio_dev *dev)
{
	/* Buffers posted before DRIVER_OK were not notified. */
	rng_run(dev->priv);
	return 0;
}

static void rng_reset(struct virtio_dev *dev)
{
	(void)dev;
}

static const struct virtio_dev_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .features = 0,
    .num_queues = 1,
    .queue_max = RNG_QUEUE_MAX,
    .config_size = 0,
    .queue_notify = rng_notify,
    .reset = rng_reset,
    .activate = rng_activate,
    .destroy = virtio_rng_destroy,
};

int virtio_rng_create(struct virtio_dev **out, struct guest_mem *gm)
{
	struct rng *rng;
	int r;

	rng = calloc(1, sizeof(*rng));
	if (!rng)
		return -ENOMEM;
	r = virtio_dev_init(&rng->dev, &rng_ops, gm, rng);
	if (r < 0) {
		free(rng);
		return r;
	}
	*out = &rng->dev;
	return 0;
}

void virtio_rng_destroy(struct virtio_dev *dev)
{
	struct rng *rng;

	if (!dev)
		return;
	rng = dev->priv;
	virtio_dev_fini(dev); /* zeroes dev, priv included */
	free(rng);
}
