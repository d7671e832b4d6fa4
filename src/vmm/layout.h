/*
 * layout.h - where lxs-vm puts boot structures in guest physical memory,
 * below 1 MiB, and which of it the e820 map marks reserved.
 */
#ifndef LXS_LAYOUT_H
#define LXS_LAYOUT_H

#define BOOT_GDT          0x500ULL
#define BOOT_PVH_INFO     0x6000ULL /* hvm_start_info, then memmap and modlist */
#define BOOT_ZERO_PAGE    0x7000ULL
#define BOOT_STACK        0x8ff0ULL
#define BOOT_PML4         0x9000ULL
#define BOOT_PDPT         0xa000ULL
#define BOOT_PD           0xb000ULL /* four page directories: 4 GiB in 2 MiB pages */
#define BOOT_CMDLINE      0x20000ULL
#define BOOT_MPTABLE      0x9e000ULL /* MP configuration table (reserved) */
#define BOOT_MPF          0x9fc00ULL /* MP floating pointer: last KiB of base memory */
#define BOOT_RESERVED_LOW 0x9e000ULL
#define BOOT_HIGH_MEM     0x100000ULL /* 1 MiB */

#endif
