/*
 * attach.c - wiring a virtio device into the VM: a 4 KiB MMIO window, an
 * IOAPIC pin driven through an irqfd, and the virtio_mmio.device= entry that
 * tells the guest kernel where to find it.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "attach.h"
#include "mmio.h"
#include "virtio.h"
#include "vm.h"

static void raise_irqfd(void *opaque)
{
	uint64_t one = 1;
	int fd = (int)(intptr_t)opaque;

	/* EAGAIN means the counter is already non-zero: an IRQ is pending anyway. */
	if (write(fd, &one, sizeof(one)) < 0) {
	}
}

static void close_irqfd(void *opaque)
{
	close((int)(intptr_t)opaque);
}

int vm_add_virtio(struct vm *vm, struct virtio_dev *dev)
{
	if (vm->next_virtio >= LAYOUT_VIRTIO_MAX)
		return -ENOSPC;
	int slot = vm->next_virtio;
	uint64_t base = LAYOUT_VIRTIO_BASE + (uint64_t)slot * LAYOUT_VIRTIO_STRIDE;
	unsigned pin = IRQ_VIRTIO_FIRST + (unsigned)slot;
	int fd = vm_irqfd(vm, pin);
	int ret;

	if (fd < 0)
		return fd;
	ret = bus_add(&vm->mmio, base, LAYOUT_VIRTIO_STRIDE, virtio_mmio_read, virtio_mmio_write,
		      dev, dev->ops->name);
	if (ret == 0)
		ret = vm_on_close(vm, close_irqfd, (void *)(intptr_t)fd);
	if (ret == 0)
		ret = vm_cmdline_add(vm, " virtio_mmio.device=4K@%#llx:%u", (unsigned long long)base,
				     pin);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	virtio_dev_set_irq(dev, raise_irqfd, (void *)(intptr_t)fd);
	vm->next_virtio++;
	return 0;
}
