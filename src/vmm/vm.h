/*
 * vm.h - the state of one lxs-vm virtual machine, passed explicitly to every
 * part of the VMM (there are no globals). Lifecycle, as main() reads it:
 *
 *   vm_open()          /dev/kvm, the VM, in-kernel irqchip and PIT, guest RAM
 *   boot_load()        kernel, initrd, command line, zero page / start info
 *   vm_add_*()         platform devices and virtio-mmio devices
 *   vm_start_vcpus()   one thread per vCPU, each confined (sandbox.c), in KVM_RUN
 *   sandbox_enter()    the main thread confines itself last
 *   ev_run()           the event loop in the main thread, until vm_request_exit()
 *   vm_close()         stops the vCPUs and frees everything
 */
#ifndef LXS_VM_H
#define LXS_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "guest_mem.h"

/* Guest physical layout. RAM is [0, min(mem, MMIO_HOLE)) and above 4 GiB. */
#define LAYOUT_MMIO_HOLE     0xc0000000ULL /* 3 GiB: below is RAM, above is devices */
#define LAYOUT_VIRTIO_BASE   0xd0000000ULL
#define LAYOUT_VIRTIO_STRIDE 0x1000ULL
#define LAYOUT_VIRTIO_MAX    16
#define LAYOUT_IOAPIC        0xfec00000ULL
#define LAYOUT_LAPIC         0xfee00000ULL

/* IOAPIC pins: 4 for the serial port, 5.. for virtio devices. */
#define IRQ_SERIAL       4
#define IRQ_VIRTIO_FIRST 5
#define IRQ_PINS         24

#define VM_MAX_CPUS     64
#define VM_MAX_FS       4   /* virtio-fs shares (lxs-vm --fs) */
#define VM_MAX_CLEANUPS 256 /* a few per device; 16 virtio slots */
#define VM_CMDLINE_MAX  4096

struct vm;
struct evloop;
struct sandbox;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run; /* the mmap'ed shared run structure */
	pthread_t thread;
	bool started;
	/* For the state dump (SIGQUIT): written by the vCPU thread only. */
	atomic_ulong exits;    /* KVM_RUN returns */
	atomic_uint last_exit; /* KVM_EXIT_* of the last one */
	atomic_bool in_run;    /* inside KVM_RUN now */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int ncpus;
	struct vcpu vcpus[VM_MAX_CPUS];
	int run_size; /* bytes of each vCPU's kvm_run mapping */
	struct guest_mem mem;
	uint64_t mem_size;

	struct bus pio;  /* I/O ports */
	struct bus mmio; /* MMIO above the RAM hole */
	struct evloop *ev;
	const struct sandbox *sandbox; /* each vCPU thread confines itself at start */
	int signal_fd;                 /* SIGINT/SIGTERM/SIGHUP, read by the event loop */

	char cmdline[VM_CMDLINE_MAX];                 /* what the kernel gets; devices append */
	int next_virtio;                              /* virtio-mmio slots used so far */
	struct virtio_dev *virtio[LAYOUT_VIRTIO_MAX]; /* by slot, for the state dump */

	/* Device teardown, run in reverse order by vm_close() after the vCPUs stop. */
	struct {
		void (*fn)(void *);
		void *arg;
	} cleanups[VM_MAX_CLEANUPS];
	int ncleanups;

	/* Set once by the first vCPU or device that ends the VM. */
	atomic_int exit_status; /* -1 while running, else an LXS_EXIT_* */
	atomic_bool exiting;
	struct timespec start_time; /* for the boot timer */
};

int vm_open(struct vm *vm, uint64_t mem_size, int ncpus);
void vm_close(struct vm *vm);

/*
 * Have vm_close() call fn(arg) once no vCPU runs; for device state. -ENOSPC if
 * the table is full, in which case the caller frees arg itself.
 */
int vm_on_close(struct vm *vm, void (*fn)(void *), void *arg);

/* Append " text" to the kernel command line; -E2BIG if it would not fit. */
int vm_cmdline_add(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Raise an edge on an IOAPIC pin (devices use irqfds; this is for the rest). */
int vm_irq_line(struct vm *vm, unsigned pin, int level);
/* An eventfd wired to an IOAPIC pin with KVM_IRQFD; writing it injects the IRQ. */
int vm_irqfd(struct vm *vm, unsigned pin);

int vm_start_vcpus(struct vm *vm);

/*
 * Log (at warning level, so always) what each vCPU and virtio queue is doing
 * (lxs-vm does on SIGQUIT):
 * what a hung guest waits for. Reads guest rings; safe from any thread.
 */
void vm_dump_state(struct vm *vm);

/*
 * End the VM with an LXS_EXIT_* status: the first caller wins. Callable from
 * any thread; vCPUs are kicked out of KVM_RUN and the event loop stops.
 */
void vm_request_exit(struct vm *vm, int status);

/* The guest reset itself (i8042, port 0xcf9): a reboot, or a panic. */
void vm_guest_reset(struct vm *vm);

/* Milliseconds since vm_open(), for the boot timer and logs. */
double vm_uptime_ms(const struct vm *vm);

/* Bytes of guest RAM the host has backed with memory (what the guest touched). */
uint64_t vm_ram_resident(const struct vm *vm);

/* cpuid.c: give a vCPU the host-supported CPUID, adjusted for this VM. */
int cpuid_setup(struct vm *vm, struct vcpu *cpu);

#endif
