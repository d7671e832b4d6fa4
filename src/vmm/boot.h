/*
 * boot.h - putting a Linux kernel into guest memory and the boot vCPU into
 * the state its entry point expects.
 *
 * Two formats, told apart by their contents:
 *  - bzImage: Linux/x86 boot protocol >= 2.12 with a 64-bit entry, entered in
 *    long mode with identity-mapped page tables (boot_params in RSI);
 *  - ELF vmlinux with a Xen PVH entry note: entered in 32-bit protected mode
 *    without paging, hvm_start_info in EBX. Skips decompression entirely.
 * Kernel and initrd files are untrusted input: every offset and size read from
 * them is checked against the file and against guest RAM.
 */
#ifndef LXS_BOOT_H
#define LXS_BOOT_H

#include <stdint.h>

struct vm;

enum boot_kind { BOOT_BZIMAGE, BOOT_PVH };

struct boot_info {
	enum boot_kind kind;
	uint64_t entry;     /* guest physical entry point */
	uint64_t param_gpa; /* zero page (bzImage) or hvm_start_info (PVH) */
};

/*
 * Loads kernel, optional initrd and the VM's command line (vm->cmdline), and
 * writes the boot structures and MP table. On failure logs one sentence that
 * says what is wrong with which file and returns -errno.
 */
int boot_load(struct vm *vm, const char *kernel, const char *initrd, struct boot_info *bi);

/* Is this file a kernel we can boot? 0, or -errno after one sentence on stderr. */
int boot_probe(const char *kernel);

/* Registers, MSRs, FPU and LAPIC of every vCPU; the BSP starts at the entry. */
int boot_setup_vcpus(struct vm *vm, const struct boot_info *bi);

#endif
