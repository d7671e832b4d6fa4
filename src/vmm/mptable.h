/*
 * mptable.h - the Intel MultiProcessor table (mptable.c), which is how a
 * guest without ACPI learns its CPUs, the IOAPIC and the ISA IRQ routing.
 */
#ifndef LXS_VMM_MPTABLE_H
#define LXS_VMM_MPTABLE_H

struct vm;

/* Write the table for vm->ncpus CPUs and one IOAPIC into guest RAM: 0 or -errno. */
int mptable_write(struct vm *vm);

#endif
