/*
 * mmio.c - the virtio-mmio transport (version 2) and the generic device
 * state machine behind it. See mmio.h and virtio.h for the contracts.
 *
 * Everything a driver can write is either checked here (register widths,
 * queue select, status order, features) or handed to queue.c (rings and
 * chains). The device models never see an unchecked guest value.
 */
#include "vmm/mmio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "vmm/guest_mem.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

/* --- generic device ---------------------------------------------------- */

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

int virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops,
		    const struct guest_mem *gm, void *priv)
{
	int r;

	memset(dev, 0, sizeof(*dev));
	if (!ops || !gm || !ops->queue_notify || !ops->reset || !ops->name)
		return -EINVAL;
	if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	if (!is_pow2(ops->queue_max) || ops->queue_max > VIRTQ_SIZE_MAX)
		return -EINVAL;
	if (ops->config_size > VIRTIO_CONFIG_MAX)
		return -EINVAL;

	dev->vqs = calloc(ops->num_queues, sizeof(*dev->vqs));
	if (!dev->vqs)
		return -ENOMEM;
	if (ops->config_size) {
		dev->config = calloc(1, ops->config_size);
		if (!dev->config) {
			r = -ENOMEM;
			goto err_vqs;
		}
	}
	r = pthread_mutex_init(&dev->lock, NULL);
	if (r) {
		r = -r;
		goto err_config;
	}
	for (unsigned q = 0; q < ops->num_queues; q++)
		vq_init(&dev->vqs[q], ops->queue_max);
	dev->ops = ops;
	dev->gm = gm;
	dev->priv = priv;
	dev->device_features = ops->features | VIRTIO_COMMON_FEATURES;
	return 0;

err_config:
	free(dev->config);
err_vqs:
	free(dev->vqs);
	memset(dev, 0, sizeof(*dev));
	return r;
}

void virtio_dev_offer(struct virtio_dev *dev, uint64_t features)
{
	dev->device_features |= features;
}

void virtio_dev_destroy(struct virtio_dev *dev)
{
	dev->ops->destroy(dev);
}

void virtio_dev_fini(struct virtio_dev *dev)
{
	if (!dev->ops)
		return;
	pthread_mutex_destroy(&dev->lock);
	free(dev->config);
	free(dev->vqs);
	memset(dev, 0, sizeof(*dev));
}

void virtio_dev_set_irq(struct virtio_dev *dev, void (*raise_irq)(void *opaque), void *opaque)
{
	virtio_dev_lock(dev);
	dev->raise_irq = raise_irq;
	dev->irq_opaque = opaque;
	virtio_dev_unlock(dev);
}

void virtio_dev_lock(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
}

void virtio_dev_unlock(struct virtio_dev *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

bool virtio_dev_running(const struct virtio_dev *dev)
{
	return (dev->status & VIRTIO_STATUS_DRIVER_OK) && !dev->needs_reset &&
	       !(dev->status & VIRTIO_STATUS_FAILED);
}

bool virtio_dev_has_feature(const struct virtio_dev *dev, unsigned bit)
{
	return bit < 64 && (dev->driver_features & VIRTIO_BIT(bit));
}

void virtio_dev_interrupt(struct virtio_dev *dev, uint32_t reason)
{
	__atomic_fetch_or(&dev->isr, reason, __ATOMIC_SEQ_CST);
	if (dev->raise_irq)
		dev->raise_irq(dev->irq_opaque);
}

/* One line per device, ever: a hostile guest must not be able to flood logs. */
static void warn_once(struct virtio_dev *dev, const char *what, const char *why)
{
	if (dev->warned)
		return;
	dev->warned = true;
	log_warnx("virtio-%s: %s: %s", dev->ops->name, what, why);
}

/* The driver misused a register: drop the access, log once. */
static void misuse(struct virtio_dev *dev, const char *why)
{
	warn_once(dev, "driver error, access ignored", why);
}

void virtio_dev_set_needs_reset(struct virtio_dev *dev, const char *why)
{
	warn_once(dev, "bad guest input, device needs reset", why ? why : "device error");
	if (dev->needs_reset)
		return;
	dev->needs_reset = true;
	dev->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	/* 2.1.2: a running driver learns of it through a config change. */
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_dev_interrupt(dev, VIRTIO_INT_CONFIG);
}

void virtio_dev_config_changed(struct virtio_dev *dev)
{
	dev->config_generation++;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_dev_interrupt(dev, VIRTIO_INT_CONFIG);
}

int virtio_dev_pop(struct virtio_dev *dev, unsigned q, struct vq_chain *c)
{
	int r;

	if (q >= dev->ops->num_queues || !virtio_dev_running(dev))
		return 0;
	r = vq_pop(&dev->vqs[q], c);
	if (r < 0)
		virtio_dev_set_needs_reset(dev, dev->vqs[q].why);
	return r;
}

bool virtio_dev_more(struct virtio_dev *dev, unsigned q)
{
	if (q >= dev->ops->num_queues || !virtio_dev_running(dev))
		return false;
	if (vq_more(&dev->vqs[q]))
		return true;
	if (dev->vqs[q].error)
		virtio_dev_set_needs_reset(dev, dev->vqs[q].why);
	return false;
}

void virtio_dev_push(struct virtio_dev *dev, unsigned q, uint16_t head, uint32_t written)
{
	if (q < dev->ops->num_queues)
		vq_push(&dev->vqs[q], head, written);
}

void virtio_dev_signal(struct virtio_dev *dev, unsigned q)
{
	if (q < dev->ops->num_queues && vq_needs_notify(&dev->vqs[q]))
		virtio_dev_interrupt(dev, VIRTIO_INT_VRING);
}

void virtio_dev_dump(struct virtio_dev *dev, int slot)
{
	virtio_dev_lock(dev);
	log_warnx("  virtio %d (%s): status %#x isr %#x%s", slot, dev->ops->name, dev->status,
		  __atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST),
		  dev->needs_reset ? " needs-reset" : "");
	for (unsigned q = 0; q < dev->ops->num_queues; q++) {
		const struct virtqueue *vq = &dev->vqs[q];

		if (!vq->ready)
			continue;
		log_warnx(
		    "    queue %u: size %u, taken %u, used %u (signalled %u); driver: avail %u"
		    " flags %#x used_event %u%s",
		    q, vq->size, vq->last_avail, vq->used_idx, vq->signalled_used,
		    __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE),
		    __atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED),
		    __atomic_load_n(&vq->avail->ring[vq->size], __ATOMIC_RELAXED),
		    vq->error ? " (broken)" : "");
	}
	if (dev->ops->dump)
		dev->ops->dump(dev);
	virtio_dev_unlock(dev);
}

static void reset_device(struct virtio_dev *dev)
{
	for (unsigned q = 0; q < dev->ops->num_queues; q++)
		vq_reset(&dev->vqs[q]);
	dev->driver_features = 0;
	dev->driver_features_high = false;
	dev->device_features_sel = 0;
	dev->driver_features_sel = 0;
	dev->queue_sel = 0;
	dev->status = 0;
	dev->needs_reset = false;
	__atomic_store_n(&dev->isr, 0, __ATOMIC_SEQ_CST);
	dev->ops->reset(dev);
}

/* --- status and features ----------------------------------------------- */

static bool features_acceptable(const struct virtio_dev *dev)
{
	return !(dev->driver_features & ~dev->device_features) && !dev->driver_features_high &&
	       (dev->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

#define STATUS_DRIVER_BITS                                                                         \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

/* Why going from status old to val breaks 3.1.1's order, or NULL. */
static const char *status_order_error(uint32_t old, uint32_t val)
{
	if (val & ~STATUS_DRIVER_BITS)
		return "undefined status bit";
	if (old & ~val)
		return "status bit cleared without a reset";
	if ((val & VIRTIO_STATUS_DRIVER) && !(val & VIRTIO_STATUS_ACKNOWLEDGE))
		return "DRIVER before ACKNOWLEDGE";
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(val & VIRTIO_STATUS_DRIVER))
		return "FEATURES_OK before DRIVER";
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(val & VIRTIO_STATUS_FEATURES_OK))
		return "DRIVER_OK before FEATURES_OK";
	return NULL;
}

static void write_status(struct virtio_dev *dev, uint32_t val)
{
	uint32_t old = dev->status & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	const char *bad;
	uint32_t added;
	int r;

	if (val == 0) {
		reset_device(dev);
		return;
	}
	/* NEEDS_RESET is the device's; a driver echoing it back is fine. */
	val &= ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	bad = status_order_error(old, val);
	if (bad) {
		misuse(dev, bad);
		return;
	}

	added = val & ~old;
	/*
	 * 3.1.1 step 6: refusing FEATURES_OK is how a device says no; the
	 * driver reads the status back and gives up.
	 */
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(dev)) {
		val &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
		added &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	}
	dev->status = val | (dev->needs_reset ? VIRTIO_STATUS_DEVICE_NEEDS_RESET : 0);

	if ((added & VIRTIO_STATUS_DRIVER_OK) && virtio_dev_running(dev) && dev->ops->activate) {
		r = dev->ops->activate(dev);
		if (r < 0)
			virtio_dev_set_needs_reset(dev, "device failed to start");
	}
}

static void write_driver_features(struct virtio_dev *dev, uint32_t val)
{
	uint32_t st = dev->status;

	if (!(st & VIRTIO_STATUS_DRIVER) || (st & VIRTIO_STATUS_FEATURES_OK)) {
		misuse(dev, "features written outside DRIVER..FEATURES_OK");
		return;
	}
	if (dev->driver_features_sel == 0)
		dev->driver_features = (dev->driver_features & ~0xffffffffULL) | val;
	else if (dev->driver_features_sel == 1)
		dev->driver_features =
		    (dev->driver_features & 0xffffffffULL) | ((uint64_t)val << 32);
	else if (val)
		/* Bits beyond 63 are never offered: remember to refuse FEATURES_OK. */
		dev->driver_features_high = true;
}

/* --- queues ------------------------------------------------------------ */

static struct virtqueue *selected_vq(struct virtio_dev *dev)
{
	if (dev->queue_sel >= dev->ops->num_queues)
		return NULL;
	return &dev->vqs[dev->queue_sel];
}

/*
 * Queue registers may change only while the driver sets up queues (3.1.1
 * step 7: after FEATURES_OK, before DRIVER_OK) and the queue is off.
 */
static struct virtqueue *writable_vq(struct virtio_dev *dev)
{
	struct virtqueue *vq = selected_vq(dev);
	uint32_t st = dev->status;

	if (!vq) {
		misuse(dev, "queue register written for a queue that does not exist");
		return NULL;
	}
	if (!(st & VIRTIO_STATUS_FEATURES_OK) || (st & VIRTIO_STATUS_DRIVER_OK) ||
	    (st & VIRTIO_STATUS_FAILED) || dev->needs_reset) {
		misuse(dev, "queue register written outside FEATURES_OK..DRIVER_OK");
		return NULL;
	}
	if (vq->ready) {
		misuse(dev, "queue register written while the queue is ready");
		return NULL;
	}
	return vq;
}

static void set_lo(uint64_t *v, uint32_t lo)
{
	*v = (*v & ~0xffffffffULL) | lo;
}

static void set_hi(uint64_t *v, uint32_t hi)
{
	*v = (*v & 0xffffffffULL) | ((uint64_t)hi << 32);
}

static void write_queue_ready(struct virtio_dev *dev, uint32_t val)
{
	struct virtqueue *vq = selected_vq(dev);

	if (val == 0) {
		/* Drivers turn queues off when tearing down (any state). */
		if (vq)
			vq_disable(vq);
		return;
	}
	if (val != 1) {
		misuse(dev, "QueueReady value other than 0 or 1");
		return;
	}
	if (vq && vq->ready)
		return;
	vq = writable_vq(dev);
	if (!vq)
		return;
	if (vq_enable(vq, dev->gm, dev->driver_features) < 0)
		virtio_dev_set_needs_reset(dev, vq->why);
}

static void queue_notify(struct virtio_dev *dev, uint32_t q)
{
	if (q >= dev->ops->num_queues) {
		misuse(dev, "notify for a queue that does not exist");
		return;
	}
	if (!virtio_dev_running(dev) || !dev->vqs[q].ready)
		return;
	dev->ops->queue_notify(dev, q);
}

/* --- registers --------------------------------------------------------- */

static uint32_t reg_read(struct virtio_dev *dev, uint64_t off)
{
	struct virtqueue *vq = selected_vq(dev);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (dev->device_features_sel == 0)
			return (uint32_t)dev->device_features;
		if (dev->device_features_sel == 1)
			return (uint32_t)(dev->device_features >> 32);
		return 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		/* 0 tells the driver the queue does not exist. */
		return vq ? vq->num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		/* No shared memory regions: length -1 (4.2.2). */
		return 0xffffffff;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		/* Write-only and reserved registers read as 0. */
		return 0;
	}
}

static void reg_write(struct virtio_dev *dev, uint64_t off, uint32_t val)
{
	struct virtqueue *vq;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(dev, val);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		write_queue_ready(dev, val);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		queue_notify(dev, val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&dev->isr, ~val, __ATOMIC_SEQ_CST);
		return;
	case VIRTIO_MMIO_STATUS:
		write_status(dev, val);
		return;
	case VIRTIO_MMIO_SHM_SEL:
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		break;
	default:
		misuse(dev, "write to a read-only or reserved register");
		return;
	}

	vq = writable_vq(dev);
	if (!vq)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vq->num = val;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_lo(&vq->desc_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_hi(&vq->desc_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		set_lo(&vq->avail_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		set_hi(&vq->avail_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		set_lo(&vq->used_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		set_hi(&vq->used_gpa, val);
		break;
	}
}

/* --- config space -------------------------------------------------------- */

static bool config_len_ok(unsigned len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

static bool config_in_range(const struct virtio_dev *dev, uint64_t off, unsigned len)
{
	uint32_t size = dev->ops->config_size;

	return off < size && len <= size - off;
}

static void config_read(struct virtio_dev *dev, uint64_t off, void *data, unsigned len)
{
	/* Drivers probe fields of features they did not get: reads are benign. */
	if (config_len_ok(len) && config_in_range(dev, off, len))
		memcpy(data, dev->config + off, len);
}

static void config_write(struct virtio_dev *dev, uint64_t off, const void *data, unsigned len)
{
	if (!config_len_ok(len)) {
		misuse(dev, "config access not 1, 2, 4 or 8 bytes wide");
		return;
	}
	if (!config_in_range(dev, off, len)) {
		misuse(dev, "config write outside config space");
		return;
	}
	if (!dev->ops->config_write) {
		misuse(dev, "write to read-only config space");
		return;
	}
	memcpy(dev->config + off, data, len);
	dev->ops->config_write(dev, (uint32_t)off, len);
}

/* --- bus entry points ---------------------------------------------------- */

void virtio_mmio_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct virtio_dev *dev = opaque;
	uint32_t val;

	/*
	 * The interrupt handler's register, read on every interrupt: it is
	 * atomic, so the vCPU need not wait while the event loop holds the
	 * device lock serving a queue.
	 */
	if (off == VIRTIO_MMIO_INTERRUPT_STATUS && len == 4) {
		val = __atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST);
		memcpy(data, &val, sizeof(val));
		return;
	}
	memset(data, 0, len);
	virtio_dev_lock(dev);
	if (off >= VIRTIO_MMIO_CONFIG) {
		config_read(dev, off - VIRTIO_MMIO_CONFIG, data, len);
	} else if (len != 4 || off % 4) {
		misuse(dev, "register read not 32-bit aligned");
	} else {
		val = reg_read(dev, off);
		memcpy(data, &val, sizeof(val));
	}
	virtio_dev_unlock(dev);
}

void virtio_mmio_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct virtio_dev *dev = opaque;
	uint32_t val;

	if (off == VIRTIO_MMIO_INTERRUPT_ACK && len == 4) { /* as for the status read */
		memcpy(&val, data, sizeof(val));
		__atomic_fetch_and(&dev->isr, ~val, __ATOMIC_SEQ_CST);
		return;
	}
	virtio_dev_lock(dev);
	if (off >= VIRTIO_MMIO_CONFIG) {
		config_write(dev, off - VIRTIO_MMIO_CONFIG, data, len);
	} else if (len != 4 || off % 4) {
		misuse(dev, "register write not 32-bit aligned");
	} else {
		memcpy(&val, data, sizeof(val));
		reg_write(dev, off, val);
	}
	virtio_dev_unlock(dev);
}
