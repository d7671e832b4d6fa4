/*
 * attach.h - put a virtio device on the VM's MMIO bus. Slots are 4 KiB apart
 * from LAYOUT_VIRTIO_BASE, each with its own IOAPIC pin from IRQ_VIRTIO_FIRST;
 * the device is announced to the guest on the kernel command line, so this
 * must happen before boot_load().
 */
#ifndef LXS_ATTACH_H
#define LXS_ATTACH_H

struct vm;
struct virtio_dev;

/*
 * 0, or -ENOSPC when the slots are used up, or another -errno. The VM takes
 * the device on success and failure alike: vm_close() destroys it
 * (ops->destroy) after the vCPUs stop and its interrupt and notification
 * descriptors are gone, so a caller never frees a device it handed over. The
 * one exception: a device whose ops have no destroy is refused (-EINVAL) and
 * stays the caller's.
 */
int vm_add_virtio(struct vm *vm, struct virtio_dev *dev);

#endif
