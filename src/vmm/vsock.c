/*
 * vsock.c - virtio-vsock (device ID 19): the thin glue between the
 * virtqueues and the muxer (src/vsock/muxer.h), which owns connections,
 * flow control and every check of what the guest sends. See devices.h for
 * what the VMM is promised.
 *
 * Threads: vCPUs deliver notifications through the transport with dev.lock
 * held; the event loop calls vs_ready() for the muxer's sockets and timer
 * and takes the lock itself. The muxer is not thread-safe and is only ever
 * called under dev.lock.
 *
 * The event queue is never used: lxs-vm keeps its connection state for the
 * life of the driver, so there is never a transport reset to announce
 * (Linux only needs the queue to exist and be filled).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"
#include "vsock/muxer.h"
#include "vsock/packet.h"

#define VSOCK_QUEUE_MAX 256

struct vsock_dev {
	struct virtio_dev dev;
	struct evloop *ev;
	struct vsock_mux *mux;
	bool tx_waiting; /* the tx queue may hold packets we have not taken */

	struct vq_chain chain;
	uint8_t hdr[VSOCK_HDR_SIZE];
	uint8_t payload[VSOCK_MAX_PAYLOAD]; /* one packet at a time, under dev.lock */
};

/* --- queues ------------------------------------------------------------------ */

/* Fill the guest's receive buffers with what the muxer has. */
static void rx_run(struct vsock_dev *vs)
{
	struct virtio_dev *dev = &vs->dev;
	struct vq_chain *c = &vs->chain;
	struct vsock_hdr h;
	bool pushed = false;
	size_t cap;

	while (vsock_mux_has_rx(vs->mux)) {
		if (virtio_dev_pop(dev, VIRTIO_VSOCK_RXQ, c) <= 0)
			break;
		if (c->wr_bytes < VSOCK_HDR_SIZE) {
			virtio_dev_set_needs_reset(dev,
						   "vsock receive buffer smaller than a header");
			break;
		}
		cap = c->wr_bytes - VSOCK_HDR_SIZE;
		if (cap > VSOCK_MAX_PAYLOAD)
			cap = VSOCK_MAX_PAYLOAD;
		if (!vsock_mux_rx(vs->mux, &h, vs->payload, cap)) {
			vq_unpop(&dev->vqs[VIRTIO_VSOCK_RXQ]);
			break;
		}
		vsock_hdr_encode(&h, vs->hdr);
		vq_chain_write(c, 0, vs->hdr, VSOCK_HDR_SIZE);
		vq_chain_write(c, VSOCK_HDR_SIZE, vs->payload, h.len);
		virtio_dev_push(dev, VIRTIO_VSOCK_RXQ, c->head, VSOCK_HDR_SIZE + h.len);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(dev, VIRTIO_VSOCK_RXQ);
}

/* Hand the guest's packets to the muxer while it can queue the answers. */
static void tx_run(struct vsock_dev *vs)
{
	struct virtio_dev *dev = &vs->dev;
	struct vq_chain *c = &vs->chain;
	struct vsock_hdr h;
	bool pushed = false;
	uint64_t plen;
	size_t n;
	int r;

	while (vs->tx_waiting) {
		if (!vsock_mux_tx_ready(vs->mux))
			break;
		r = virtio_dev_pop(dev, VIRTIO_VSOCK_TXQ, c);
		if (r <= 0) {
			vs->tx_waiting = false;
			break;
		}
		if (c->rd_bytes < VSOCK_HDR_SIZE) {
			virtio_dev_set_needs_reset(dev, "vsock packet shorter than its header");
			vs->tx_waiting = false;
			break;
		}
		vq_chain_read(c, 0, vs->hdr, VSOCK_HDR_SIZE);
		vsock_hdr_decode(vs->hdr, &h);
		/* Copy no more than the header claims; the muxer checks the claim. */
		plen = c->rd_bytes - VSOCK_HDR_SIZE;
		n = plen < h.len ? (size_t)plen : h.len;
		if (n > VSOCK_MAX_PAYLOAD)
			n = VSOCK_MAX_PAYLOAD;
		vq_chain_read(c, VSOCK_HDR_SIZE, vs->payload, n);
		vsock_mux_tx(vs->mux, &h, vs->payload, plen);
		/* Transmit buffers are only read: nothing written back. */
		virtio_dev_push(dev, VIRTIO_VSOCK_TXQ, c->head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(dev, VIRTIO_VSOCK_TXQ);
}

/*
 * Move everything that can move. rx first: it frees the room in the
 * muxer that tx answers need, and tx may queue more rx.
 */
static void pump(struct vsock_dev *vs)
{
	for (;;) {
		rx_run(vs);
		if (!vs->tx_waiting || !vsock_mux_tx_ready(vs->mux))
			break;
		tx_run(vs);
	}
}

/* --- event loop and transport callbacks -------------------------------------- */

static void vs_ready(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct vsock_dev *vs = arg;

	(void)ev;
	virtio_dev_lock(&vs->dev);
	vsock_mux_ready(vs->mux, fd, events);
	pump(vs);
	virtio_dev_unlock(&vs->dev);
}

/* The muxer's watch callback; runs under dev.lock, like every muxer call. */
static int vs_watch(void *opaque, int fd, uint32_t old_events, uint32_t events)
{
	struct vsock_dev *vs = opaque;

	if (!old_events)
		return ev_add(vs->ev, fd, events, vs_ready, vs);
	if (!events)
		return ev_del(vs->ev, fd);
	return ev_mod(vs->ev, fd, events);
}

static void vs_notify(struct virtio_dev *dev, unsigned q)
{
	struct vsock_dev *vs = dev->priv;

	/* The event queue's buffers are left with us until needed: never. */
	if (q == VIRTIO_VSOCK_TXQ)
		vs->tx_waiting = true;
	if (q == VIRTIO_VSOCK_TXQ || q == VIRTIO_VSOCK_RXQ)
		pump(vs);
}

static int vs_activate(struct virtio_dev *dev)
{
	struct vsock_dev *vs = dev->priv;

	/* Buffers posted before DRIVER_OK were not notified: look now. */
	vs->tx_waiting = true;
	pump(vs);
	return 0;
}

static void vs_reset(struct virtio_dev *dev)
{
	struct vsock_dev *vs = dev->priv;

	/* The driver forgot every connection: so do we, without RSTs. */
	vsock_mux_reset(vs->mux);
	vs->tx_waiting = false;
}

static void vs_dump(struct virtio_dev *dev)
{
	struct vsock_dev *vs = dev->priv;

	vsock_mux_dump(vs->mux);
}

static const struct virtio_dev_ops vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .features = VIRTIO_BIT(VIRTIO_VSOCK_F_STREAM),
    .num_queues = 3,
    .queue_max = VSOCK_QUEUE_MAX,
    .config_size = VIRTIO_VSOCK_CFG_SIZE,
    .queue_notify = vs_notify,
    .reset = vs_reset,
    .activate = vs_activate,
    .dump = vs_dump,
    .destroy = virtio_vsock_destroy,
};

/* --- life cycle ------------------------------------------------------------------ */

int virtio_vsock_create_limits(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
			       uint64_t guest_cid, const char *uds_prefix,
			       const struct vsock_limits *lim)
{
	struct vsock_dev *vs;
	int r;

	if (!ev)
		return -EINVAL;
	if (!guest_cid)
		guest_cid = VIRTIO_VSOCK_DEFAULT_CID;
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->ev = ev;
	r = virtio_dev_init(&vs->dev, &vsock_ops, gm, vs);
	if (r < 0)
		goto err_free;
	memcpy(vs->dev.config + VIRTIO_VSOCK_CFG_GUEST_CID, &guest_cid, sizeof(guest_cid));
	/* No vCPU runs yet, but the muxer's contract is "under the lock". */
	virtio_dev_lock(&vs->dev);
	r = vsock_mux_create(&vs->mux, guest_cid, uds_prefix, lim, vs_watch, vs);
	virtio_dev_unlock(&vs->dev);
	if (r < 0)
		goto err_dev;
	*out = &vs->dev;
	return 0;

err_dev:
	virtio_dev_fini(&vs->dev);
err_free:
	free(vs);
	return r;
}

int virtio_vsock_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
			uint64_t guest_cid, const char *uds_prefix)
{
	return virtio_vsock_create_limits(out, gm, ev, guest_cid, uds_prefix, NULL);
}

void virtio_vsock_destroy(struct virtio_dev *dev)
{
	struct vsock_dev *vs;

	if (!dev)
		return;
	vs = dev->priv;
	virtio_dev_lock(dev);
	vsock_mux_destroy(vs->mux);
	virtio_dev_unlock(dev);
	virtio_dev_fini(dev);
	free(vs);
}

void virtio_vsock_get_stats(struct virtio_dev *dev, struct vsock_stats *st)
{
	struct vsock_dev *vs = dev->priv;

	virtio_dev_lock(dev);
	vsock_mux_stats(vs->mux, st);
	virtio_dev_unlock(dev);
}
