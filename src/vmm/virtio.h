/*
 * virtio.h - the VIRTIO 1.2 constants lxs-vm uses and the contract between
 * the generic virtio layer and a device model.
 *
 * What this header promises:
 *  - A device is a const struct virtio_dev_ops (what the device is: its id,
 *    features, queues, config size, callbacks) plus a struct virtio_dev (the
 *    generic state: status, negotiated features, queues, config bytes,
 *    interrupt status, lock). Devices stay small; the generic code (mmio.c
 *    for the transport and device state machine, queue.c for the rings)
 *    validates every guest-controlled value before a device sees it.
 *  - Locking: dev->lock protects everything in struct virtio_dev and the
 *    device's own state. The transport takes it around every register
 *    access, so every ops callback runs with dev->lock held. A device thread
 *    that is not a vCPU (event loop, I/O worker) takes it with
 *    virtio_dev_lock() before touching queues or its own state.
 *  - Bad guest input never crashes: it is logged once per device and marks
 *    the device DEVICE_NEEDS_RESET (virtio_dev_set_needs_reset()), after
 *    which no queue of the device is processed until the driver resets it.
 *  - All multi-byte fields in guest memory and config space are little
 *    endian; lxs-vm only runs on little-endian hosts (x86-64), checked below.
 *
 * The generic device functions declared here are implemented in mmio.c,
 * because virtio-mmio is the only transport and owns the status machine.
 */
#ifndef LXS_VMM_VIRTIO_H
#define LXS_VMM_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lxs-vm accesses virtio structures in host byte order: little-endian hosts only"
#endif

struct guest_mem;
struct virtqueue;
struct vq_chain;

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        1u
#define VIRTIO_STATUS_DRIVER             2u
#define VIRTIO_STATUS_DRIVER_OK          4u
#define VIRTIO_STATUS_FEATURES_OK        8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED             128u

/* Reserved feature bits (6), as bit numbers. */
#define VIRTIO_F_INDIRECT_DESC     28
#define VIRTIO_F_RING_EVENT_IDX    29
#define VIRTIO_F_VERSION_1         32
#define VIRTIO_F_ACCESS_PLATFORM   33
#define VIRTIO_F_RING_PACKED       34
#define VIRTIO_F_IN_ORDER          35
#define VIRTIO_F_NOTIFICATION_DATA 38
#define VIRTIO_F_RING_RESET        40

#define VIRTIO_BIT(b) (1ULL << (b))

/*
 * Features every device offers because the generic queue code implements
 * them; a device adds its own through ops->features (and an instance
 * through virtio_dev_offer()).
 */
#define VIRTIO_COMMON_FEATURES                                                                     \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |                     \
	 VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))

/* Device IDs (5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_9P      9
#define VIRTIO_ID_VSOCK   19
#define VIRTIO_ID_FS      26

/* Split virtqueue descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u
#define VIRTQ_DESC_F_INDIRECT 4u

/* Notification suppression flags (2.7.7, 2.7.10). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY     1u

/* Largest queue size a split ring may have (2.7). */
#define VIRTQ_SIZE_MAX 32768u

/* InterruptStatus bits (4.2.2). */
#define VIRTIO_INT_VRING  1u /* a used buffer was returned */
#define VIRTIO_INT_CONFIG 2u /* configuration (or status: needs-reset) changed */

/* Limits the generic layer imposes on device descriptions. */
#define VIRTIO_MAX_QUEUES 64
#define VIRTIO_CONFIG_MAX 0xf00 /* config space from 0x100 to the end of a 4 KiB window */

struct virtio_dev;

/*
 * What a device type is. One const instance per device type. Every callback
 * runs with dev->lock held.
 */
struct virtio_dev_ops {
	const char *name;     /* for log messages: "console", "blk" ... */
	uint32_t device_id;   /* VIRTIO_ID_* */
	uint64_t features;    /* device-specific feature bits offered */
	unsigned num_queues;  /* 1..VIRTIO_MAX_QUEUES */
	uint16_t queue_max;   /* QueueNumMax of every queue: power of two <= VIRTQ_SIZE_MAX */
	uint32_t config_size; /* bytes of device config space, <= VIRTIO_CONFIG_MAX */

	/* The driver notified queue q (< num_queues, ready, device running). */
	void (*queue_notify)(struct virtio_dev *dev, unsigned q);
	/* The driver reset the device; generic state is already reset. */
	void (*reset)(struct virtio_dev *dev);
	/*
	 * Optional: the driver wrote [off, off + len) of config space; the
	 * bytes are already in dev->config. Without it, config space is
	 * read-only and writes are dropped.
	 */
	void (*config_write)(struct virtio_dev *dev, uint32_t off, uint32_t len);
	/*
	 * Optional: the driver set DRIVER_OK; queues that the driver enabled
	 * are ready. A negative return marks the device needs-reset.
	 */
	int (*activate)(struct virtio_dev *dev);
	/* Optional: log the device's own state for virtio_dev_dump (lock held). */
	void (*dump)(struct virtio_dev *dev);
	/*
	 * Free the device: its *_destroy() from devices.h, so that the VMM can
	 * tear down any device without knowing its kind. Called without
	 * dev->lock, under the conditions devices.h gives. Required by
	 * vm_add_virtio().
	 */
	void (*destroy)(struct virtio_dev *dev);
};

/* Generic state of one device instance. Fields are read under dev->lock. */
struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct guest_mem *gm;
	void *priv; /* the device model's own state */

	pthread_mutex_t lock;

	uint64_t device_features;  /* offered: ops->features | VIRTIO_COMMON_FEATURES | extra */
	uint64_t driver_features;  /* accepted by the driver; frozen at FEATURES_OK */
	bool driver_features_high; /* the driver accepted bits >= 64 (never offered) */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t config_generation;
	uint32_t isr; /* InterruptStatus; updated atomically */
	bool needs_reset;
	bool warned; /* a bad-guest warning was logged for this device */

	struct virtqueue *vqs; /* ops->num_queues of them */
	uint8_t *config;       /* ops->config_size bytes, little endian */

	/*
	 * Set by the VMM before the guest runs. Called with dev->lock held,
	 * from any thread: it must not take the device lock and should not
	 * block (irqfd write or KVM_IRQ_LINE).
	 */
	void (*raise_irq)(void *opaque);
	void *irq_opaque;
};

/*
 * Set up dev for a device of type ops over guest memory gm. Returns 0, or
 * -EINVAL for an inconsistent ops table, -ENOMEM. dev is zeroed first.
 */
int virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops,
		    const struct guest_mem *gm, void *priv);
/* Free what virtio_dev_init allocated. No thread may use dev any more. */
void virtio_dev_fini(struct virtio_dev *dev);
/*
 * Offer `features` on top of ops->features for this instance alone (a
 * read-only disk's VIRTIO_BLK_F_RO), so that instances that differ only in
 * a feature share one ops table. Call it after virtio_dev_init() and before
 * the device is on the bus: the driver reads the offer once, at probe.
 */
void virtio_dev_offer(struct virtio_dev *dev, uint64_t features);
/* ops->destroy(dev): frees the device, whatever its kind. */
void virtio_dev_destroy(struct virtio_dev *dev);

void virtio_dev_set_irq(struct virtio_dev *dev, void (*raise_irq)(void *opaque), void *opaque);

void virtio_dev_lock(struct virtio_dev *dev);
void virtio_dev_unlock(struct virtio_dev *dev);

/*
 * The functions below require dev->lock held.
 */

/* DRIVER_OK is set and the device is not in needs-reset: queues may run. */
bool virtio_dev_running(const struct virtio_dev *dev);
/* Whether feature bit `bit` was negotiated (valid from FEATURES_OK on). */
bool virtio_dev_has_feature(const struct virtio_dev *dev, unsigned bit);

/* Set InterruptStatus bits (VIRTIO_INT_*) and raise the interrupt line. */
void virtio_dev_interrupt(struct virtio_dev *dev, uint32_t reason);
/*
 * The driver broke the protocol: log why (once per device), set
 * DEVICE_NEEDS_RESET, notify the driver through a config-change interrupt if
 * it is running, and stop processing the device until it is reset.
 */
void virtio_dev_set_needs_reset(struct virtio_dev *dev, const char *why);
/* The device changed its config space: bump ConfigGeneration, interrupt. */
void virtio_dev_config_changed(struct virtio_dev *dev);

/*
 * Take the next available chain of queue q. Returns 1 with *c filled, 0 when
 * there is none (or the device or queue is not running), or a negative errno
 * when the guest's ring is bad, in which case the device is already marked
 * needs-reset. q must be < ops->num_queues.
 */
int virtio_dev_pop(struct virtio_dev *dev, unsigned q, struct vq_chain *c);
/* Whether virtio_dev_pop() would find a chain now (vq_more(); dev->lock held). */
bool virtio_dev_more(struct virtio_dev *dev, unsigned q);
/* Return the chain with head `head` to the driver with `written` bytes. */
void virtio_dev_push(struct virtio_dev *dev, unsigned q, uint16_t head, uint32_t written);
/* After one or more pushes: interrupt the driver unless it suppressed it. */
void virtio_dev_signal(struct virtio_dev *dev, unsigned q);

/*
 * Log the device's status and, per ready queue, our ring indexes next to the
 * driver's (avail idx, flags, used_event): enough to tell a lost
 * notification or interrupt from a driver that has nothing to do.
 */
void virtio_dev_dump(struct virtio_dev *dev, int slot);

#endif
