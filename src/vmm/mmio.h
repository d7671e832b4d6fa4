/*
 * mmio.h - the virtio-mmio transport, version 2 (modern) only (VIRTIO 1.2,
 * 4.2.2).
 *
 * What this header promises:
 *  - virtio_mmio_read/write have the VMM bus's handler signature. opaque is
 *    the struct virtio_dev *, off is relative to the device's window. They
 *    take dev->lock, never block on the guest, never crash on any (off, len).
 *  - Registers (off < 0x100) must be accessed 32 bits wide and aligned;
 *    other accesses read as 0 and writes are dropped. Config space (from
 *    0x100) takes 1, 2, 4 or 8-byte accesses; an access not wholly inside
 *    ops->config_size reads as 0 and is dropped on write.
 *  - The status machine follows 3.1.1: bits are only added, in the order
 *    ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK; writing 0 resets the device
 *    (queues, features, interrupt status, needs-reset, then ops->reset).
 *    Driver features are taken only between DRIVER and FEATURES_OK;
 *    FEATURES_OK is refused (the bit reads back clear) unless the driver
 *    accepted VERSION_1 and nothing the device did not offer. Queue
 *    registers are taken only between FEATURES_OK and DRIVER_OK and while
 *    the selected queue exists and is not ready. QueueReady=1 checks the
 *    rings (queue.c) and on failure leaves the queue off and marks the
 *    device needs-reset. Notifications are passed to the device only for an
 *    existing ready queue of a running (DRIVER_OK, not needs-reset) device.
 *  - Misuse of the register protocol (wrong width, write to a read-only
 *    register, out-of-order status) is dropped and logged once per device;
 *    bad rings and chains mark the device needs-reset (see virtio.h).
 */
#ifndef LXS_VMM_MMIO_H
#define LXS_VMM_MMIO_H

#include <stdint.h>

#define VIRTIO_MMIO_MAGIC   0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_MMIO_VENDOR  0x0053584c /* "LXS" */

/* The window each device needs: registers plus config space. */
#define VIRTIO_MMIO_WINDOW 0x200

/* Register offsets (4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000
#define VIRTIO_MMIO_VERSION_REG         0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_SHM_SEL             0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW         0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH        0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW        0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH       0x0bc
#define VIRTIO_MMIO_QUEUE_RESET         0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100

/* Bus handlers; opaque is a struct virtio_dev * set up by virtio_dev_init. */
void virtio_mmio_read(void *opaque, uint64_t off, void *data, unsigned len);
void virtio_mmio_write(void *opaque, uint64_t off, const void *data, unsigned len);

#endif
