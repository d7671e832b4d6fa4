/*
 * cpuid.c - what each vCPU reports through CPUID: what KVM supports on this
 * host, with the topology and identity fixed up for this VM.
 */
#include "vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#define CPUID_MAX_ENTRIES 256

/* CPUID.1:ECX */
#define ECX_TSC_DEADLINE (1u << 24)
#define ECX_HYPERVISOR   (1u << 31)

static void fix_entry(struct kvm_cpuid_entry2 *e, const struct vm *vm, const struct vcpu *c)
{
	switch (e->function) {
	case 1:
		/* Initial APIC ID, logical CPU count, TSC-deadline timer, hypervisor. */
		e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)c->id << 24) |
			 ((uint32_t)(vm->ncpus > 255 ? 255 : vm->ncpus) << 16);
		e->ecx |= ECX_TSC_DEADLINE | ECX_HYPERVISOR;
		if (vm->ncpus > 1)
			e->edx |= 1u << 28; /* HTT: the count in EBX is valid */
		break;
	case 4: {
		/* Deterministic cache parameters: one core per package... of ncpus cores. */
		uint32_t cores = (uint32_t)(vm->ncpus - 1) & 0x3f;

		e->eax = (e->eax & 0x03ffffffu) | (cores << 26);
		e->eax &= ~(0xfffu << 14); /* threads sharing the cache: one */
		break;
	}
	case 6:
		/* No power management MSRs to offer. */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xb:
	case 0x1f:
		/* x2APIC topology: SMT level of one thread, core level of ncpus. */
		e->edx = (uint32_t)c->id;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 1u << 8;
		} else if (e->index == 1) {
			uint32_t shift = 0;

			while ((1 << shift) < vm->ncpus)
				shift++;
			e->eax = shift;
			e->ebx = (uint32_t)vm->ncpus;
			e->ecx = (2u << 8) | 1;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	case 0x80000008:
		/* AMD: number of cores in ECX[7:0] minus one. */
		e->ecx = (e->ecx & ~0xffu) | ((uint32_t)(vm->ncpus - 1) & 0xff);
		break;
	default:
		break;
	}
}

int cpuid_setup(struct vm *vm, struct vcpu *c)
{
	size_t sz = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, sz);
	int ret = 0;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		ret = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < cpuid->nent; i++)
		fix_entry(&cpuid->entries[i], vm, c);
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		ret = -errno;
out:
	free(cpuid);
	return ret;
}
