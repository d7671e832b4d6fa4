/*
 * attach.c - wiring a virtio device into the VM: a 4 KiB MMIO window, an
 * IOAPIC pin driven through an irqfd, and the virtio_mmio.device= entry that
 * tells the guest kernel where to find it.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "evloop.h"

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

/*
 * Queue notifications through ioeventfd: KVM completes the guest's write to
 * QueueNotify in the kernel and only signals an eventfd, so the vCPU runs on
 * while the event loop serves the queue. Without it every notification stops
 * the vCPU for a full exit to this process (bhyve, QEMU and Firecracker do
 * the same). A write with a value no queue matches still exits and is
 * refused by the transport as before.
 */
struct notifier {
	struct virtio_dev *dev;
	uint32_t queue;
	int fd;
};

static void on_notify(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct notifier *n = arg;
	uint64_t count;

	(void)ev;
	(void)events;
	if (read(fd, &count, sizeof(count)) != sizeof(count))
		return;
	/* The transport's own path, with all its checks (running, queue ready). */
	virtio_mmio_write(n->dev, VIRTIO_MMIO_QUEUE_NOTIFY, &n->queue, sizeof(n->queue));
}

static void free_notifier(void *arg)
{
	struct notifier *n = arg;

	close(n->fd);
	free(n);
}

static int add_notifiers(struct vm *vm, struct virtio_dev *dev, uint64_t base)
{
	for (uint32_t q = 0; q < dev->ops->num_queues; q++) {
		struct notifier *n = calloc(1, sizeof(*n));
		int ret;

		if (!n)
			return -ENOMEM;
		*n = (struct notifier){
		    .dev = dev, .queue = q, .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
		if (n->fd < 0) {
			free(n);
			return -errno;
		}
		if ((ret = vm_on_close(vm, free_notifier, n)) < 0) {
			free_notifier(n);
			return ret;
		}
		struct kvm_ioeventfd io = {.datamatch = q,
					   .addr = base + VIRTIO_MMIO_QUEUE_NOTIFY,
					   .len = 4,
					   .fd = n->fd,
					   .flags = KVM_IOEVENTFD_FLAG_DATAMATCH};
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
			return -errno;
		if ((ret = ev_add(vm->ev, n->fd, EPOLLIN, on_notify, n)) < 0)
			return ret;
	}
	return 0;
}

static void destroy_dev(void *dev)
{
	virtio_dev_destroy(dev);
}

int vm_add_virtio(struct vm *vm, struct virtio_dev *dev)
{
	int slot = vm->next_virtio, fd, ret;
	uint64_t base = LAYOUT_VIRTIO_BASE + (uint64_t)slot * LAYOUT_VIRTIO_STRIDE;
	unsigned pin = IRQ_VIRTIO_FIRST + (unsigned)slot;

	/*
	 * The device's teardown goes first in the cleanup table, so that it
	 * runs last of this device's, once nothing can notify it any more.
	 */
	if (!dev->ops->destroy)
		return -EINVAL;
	if ((ret = vm_on_close(vm, destroy_dev, dev)) < 0) {
		virtio_dev_destroy(dev);
		return ret;
	}
	if (slot >= LAYOUT_VIRTIO_MAX)
		return -ENOSPC;
	fd = vm_irqfd(vm, pin);
	if (fd < 0)
		return fd;
	ret = bus_add(&vm->mmio, base, LAYOUT_VIRTIO_STRIDE, virtio_mmio_read, virtio_mmio_write,
		      dev, dev->ops->name);
	if (ret == 0)
		ret = vm_on_close(vm, close_irqfd, (void *)(intptr_t)fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	if (vm->ev && (ret = add_notifiers(vm, dev, base)) < 0)
		return ret;
	if ((ret = vm_cmdline_add(vm, " virtio_mmio.device=4K@%#llx:%u", (unsigned long long)base,
				  pin)) < 0)
		return ret;
	virtio_dev_set_irq(dev, raise_irqfd, (void *)(intptr_t)fd);
	vm->virtio[slot] = dev;
	vm->next_virtio++;
	return 0;
}
