/*
 * kvm.c - the VM and its vCPUs: /dev/kvm, guest RAM, the in-kernel irqchip
 * and PIT, one thread per vCPU running KVM_RUN, and the way a VM ends.
 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "common/log.h"
#include "common/proto.h"
#include "evloop.h"
#include "sandbox.h"
#include "virtio.h"

/* The signal that kicks a vCPU thread out of KVM_RUN when the VM ends. */
#define SIG_VCPU_KICK SIGUSR1

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

#define HUGE_2M (2ULL << 20)

/*
 * Anonymous guest RAM, 2 MiB aligned and marked for transparent huge pages, so
 * that KVM maps it with 2 MiB nested-paging entries: far fewer faults and TLB
 * misses than 4 KiB pages. MAP_NORESERVE: the host pays only for what the
 * guest touches (and the balloon later gives freed pages back).
 */
static void *map_guest_ram(uint64_t size)
{
	uint64_t len = size + HUGE_2M;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	uint8_t *aligned = (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	if (aligned > p)
		munmap(p, aligned - p);
	if (aligned + size < p + len)
		munmap(aligned + size, p + len - (aligned + size));
	madvise(aligned, size, MADV_HUGEPAGE);
	return aligned;
}

static int map_ram(struct vm *vm, uint64_t size)
{
	uint64_t low = size < LAYOUT_MMIO_HOLE ? size : LAYOUT_MMIO_HOLE;
	uint64_t high = size - low;
	void *p = map_guest_ram(low);

	if (!p)
		return -errno;
	vm->mem.low = p;
	vm->mem.low_size = low;
	struct kvm_userspace_memory_region r = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = low,
	    .userspace_addr = (uintptr_t)p,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	if (high) {
		p = map_guest_ram(high);
		if (!p)
			return -errno;
		vm->mem.high = p;
		vm->mem.high_size = high;
		r = (struct kvm_userspace_memory_region){
		    .slot = 1,
		    .guest_phys_addr = GM_HIGH_BASE,
		    .memory_size = high,
		    .userspace_addr = (uintptr_t)p,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return -errno;
	}
	return 0;
}

int vm_open(struct vm *vm, uint64_t mem_size, int ncpus)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	atomic_init(&vm->exit_status, -1);
	clock_gettime(CLOCK_MONOTONIC, &vm->start_time);
	if (ncpus < 1 || ncpus > VM_MAX_CPUS)
		return -EINVAL;
	vm->ncpus = ncpus;
	vm->mem_size = mem_size;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return -errno;
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return -ENOTSUP;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return -errno;
	/* Intel needs a TSS area below 4 GiB that the guest never uses. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		return -errno;
	uint64_t ident = 0xfffbc000ULL;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		return -errno;
	/* PIC + IOAPIC + LAPICs in the kernel; Linux without ACPI needs the PIT too. */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	ret = map_ram(vm, mem_size);
	if (ret < 0)
		return ret;

	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return -EINVAL;
	for (int i = 0; i < ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		c->vm = vm;
		c->id = i;
		c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (c->fd < 0)
			return -errno;
		vm->run_size = run_size;
		c->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (c->run == MAP_FAILED) {
			c->run = NULL;
			return -errno;
		}
		ret = cpuid_setup(vm, c);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int vm_on_close(struct vm *vm, void (*fn)(void *), void *arg)
{
	if (vm->ncleanups == VM_MAX_CLEANUPS)
		return -ENOSPC;
	vm->cleanups[vm->ncleanups].fn = fn;
	vm->cleanups[vm->ncleanups].arg = arg;
	vm->ncleanups++;
	return 0;
}

int vm_cmdline_add(struct vm *vm, const char *fmt, ...)
{
	size_t used = strlen(vm->cmdline);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(vm->cmdline + used, sizeof(vm->cmdline) - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(vm->cmdline) - used) {
		vm->cmdline[used] = 0;
		return -E2BIG;
	}
	return 0;
}

int vm_irq_line(struct vm *vm, unsigned pin, int level)
{
	struct kvm_irq_level l = {.irq = pin, .level = level};

	if (pin >= IRQ_PINS)
		return -EINVAL;
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int vm_irqfd(struct vm *vm, unsigned pin)
{
	if (pin >= IRQ_PINS)
		return -EINVAL;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct kvm_irqfd req = {.fd = (uint32_t)fd, .gsi = pin};
	if (ioctl(vm->vm_fd, KVM_IRQFD, &req) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

double vm_uptime_ms(const struct vm *vm)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - vm->start_time.tv_sec) * 1e3 +
	       (now.tv_nsec - vm->start_time.tv_nsec) / 1e6;
}

void vm_request_exit(struct vm *vm, int status)
{
	int expected = -1;

	if (!atomic_compare_exchange_strong(&vm->exit_status, &expected, status))
		return;
	atomic_store(&vm->exiting, true);
	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		if (c->run)
			c->run->immediate_exit = 1;
		if (c->started && !pthread_equal(c->thread, pthread_self()))
			pthread_kill(c->thread, SIG_VCPU_KICK);
	}
	if (vm->ev)
		ev_stop(vm->ev);
}

/*
 * A reset the guest did not announce on the power port: the warm-boot flag
 * the kernel leaves at 0x472 tells a panic from an ordinary reboot.
 */
static int reset_status(struct vm *vm, int otherwise)
{
	uint16_t *flag = gm_ptr(&vm->mem, LXS_WARM_BOOT_GPA, sizeof(*flag));

	if (flag && *flag == LXS_WARM_BOOT_FLAG)
		return LXS_EXIT_PANIC;
	return otherwise;
}

void vm_guest_reset(struct vm *vm)
{
	int st = reset_status(vm, LXS_EXIT_REBOOT);

	log_info("guest %s after %.1f ms", st == LXS_EXIT_PANIC ? "panicked" : "rebooted",
		 vm_uptime_ms(vm));
	vm_request_exit(vm, st);
}

static void vcpu_io(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&c->vm->pio, run->io.port, data, run->io.size);
		else
			bus_read(&c->vm->pio, run->io.port, data, run->io.size);
	}
}

static void vcpu_mmio(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	unsigned len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write) {
		if (!bus_write(&c->vm->mmio, run->mmio.phys_addr, run->mmio.data, len))
			log_debug("vcpu%d: unclaimed MMIO write at %#llx", c->id,
				  (unsigned long long)run->mmio.phys_addr);
	} else {
		bus_read(&c->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	}
}

/*
 * vCPU threads take the kick signal; every other thread blocks it. The kick
 * only interrupts KVM_RUN, and immediate_exit (set before the kick) covers a
 * kick that lands just before KVM_RUN is entered.
 */
static void vcpu_unblock_kick(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vm *vm = c->vm;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%d", c->id);
	pthread_setname_np(pthread_self(), name);
	vcpu_unblock_kick();
	int ret = sandbox_enter(vm->sandbox, SANDBOX_VCPU);
	if (ret < 0) {
		errno = -ret;
		log_warn("vcpu%d: cannot enter the sandbox", c->id);
		vm_request_exit(vm, LXS_EXIT_VMM_ERROR);
		return NULL;
	}
	while (!atomic_load(&vm->exiting)) {
		atomic_store(&c->in_run, true);
		int r = ioctl(c->fd, KVM_RUN, 0);
		atomic_store(&c->in_run, false);
		atomic_fetch_add(&c->exits, 1);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_warn("vcpu%d: KVM_RUN", c->id);
			vm_request_exit(vm, LXS_EXIT_CRASH);
			break;
		}
		atomic_store(&c->last_exit, c->run->exit_reason);
		switch (c->run->exit_reason) {
		case KVM_EXIT_IO:
			vcpu_io(c);
			break;
		case KVM_EXIT_MMIO:
			vcpu_mmio(c);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			/* Triple fault: a panic reset, or a guest that crashed. */
			log_info("vcpu%d: triple fault after %.1f ms", c->id, vm_uptime_ms(vm));
			vm_request_exit(vm, reset_status(vm, LXS_EXIT_CRASH));
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (c->run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
				vm_request_exit(vm, 0);
			else
				vm_guest_reset(vm);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			log_warnx(
			    "vcpu%d: KVM could not enter the guest (hardware reason %#llx)", c->id,
			    (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
			vm_request_exit(vm, LXS_EXIT_CRASH);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			log_warnx("vcpu%d: KVM internal error %u (the guest did something KVM "
				  "cannot emulate)",
				  c->id, c->run->internal.suberror);
			vm_request_exit(vm, LXS_EXIT_CRASH);
			break;
		default:
			log_warnx("vcpu%d: unexpected KVM exit %u", c->id, c->run->exit_reason);
			vm_request_exit(vm, LXS_EXIT_CRASH);
			break;
		}
	}
	return NULL;
}

int vm_start_vcpus(struct vm *vm)
{
	struct sigaction sa = {.sa_handler = vcpu_kick_handler};
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_VCPU_KICK, &sa, NULL) < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		int err = pthread_create(&c->thread, NULL, vcpu_thread, c);

		if (err)
			return -err;
		c->started = true;
	}
	return 0;
}

void vm_dump_state(struct vm *vm)
{
	log_warnx("state after %.1f ms:", vm_uptime_ms(vm));
	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		log_warnx("  vcpu%d: %s, %lu exits, last exit reason %u", i,
			  atomic_load(&c->in_run) ? "in KVM_RUN" : "in the VMM",
			  atomic_load(&c->exits), atomic_load(&c->last_exit));
	}
	for (int s = 0; s < vm->next_virtio; s++)
		if (vm->virtio[s])
			virtio_dev_dump(vm->virtio[s], s);
}

static uint64_t resident_bytes(void *addr, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pages = (len + page - 1) / page, n = 0;
	unsigned char *vec = malloc(pages);

	if (!vec || mincore(addr, len, vec) < 0) {
		free(vec);
		return 0;
	}
	for (uint64_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n * (uint64_t)page;
}

uint64_t vm_ram_resident(const struct vm *vm)
{
	uint64_t n = 0;

	if (vm->mem.low)
		n += resident_bytes(vm->mem.low, vm->mem.low_size);
	if (vm->mem.high)
		n += resident_bytes(vm->mem.high, vm->mem.high_size);
	return n;
}

void vm_close(struct vm *vm)
{
	vm_request_exit(vm, LXS_EXIT_VMM_ERROR);
	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		if (c->started)
			pthread_join(c->thread, NULL);
		if (c->run)
			munmap(c->run, vm->run_size);
		if (c->fd > 0)
			close(c->fd);
	}
	while (vm->ncleanups > 0) {
		vm->ncleanups--;
		vm->cleanups[vm->ncleanups].fn(vm->cleanups[vm->ncleanups].arg);
	}
	if (vm->mem.low)
		munmap(vm->mem.low, vm->mem.low_size);
	if (vm->mem.high)
		munmap(vm->mem.high, vm->mem.high_size);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}
