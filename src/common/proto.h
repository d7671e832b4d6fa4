/*
 * proto.h - the contract between the host side of lxs and code running in the
 * guest VM. Anything a guest and a host program must agree on lives here and
 * nowhere else: I/O ports, their values, and the exit statuses of lxs-vm that
 * report what the guest did. Bump LXS_PROTO_VERSION on any incompatible change.
 *
 * Field sizes and directions are part of the contract: "guest -> host" means the
 * guest writes and the VMM reads.
 */
#ifndef LXS_PROTO_H
#define LXS_PROTO_H

#define LXS_PROTO_VERSION 1

/*
 * Debug console, guest -> host, 8-bit OUT. Each byte written is copied to
 * lxs-vm's debug stream (stdout unless --debugcon says otherwise). Same port and
 * behaviour as QEMU's isa-debugcon, so one guest binary can be timed under both
 * VMMs: the test init writes LXS_BOOT_MARK here as its first action.
 */
#define LXS_PORT_DEBUGCON 0xe9
#define LXS_BOOT_MARK "<lxs-init-reached>\n"

/*
 * Power port, guest -> host, 32-bit OUT. Written by the guest's init once it has
 * synced its disks. The VMM stops all vCPUs and exits at once.
 *   bits 0..7   exit code (power-off only; 0..LXS_EXIT_GUEST_MAX)
 *   bits 8..15  action, one of LXS_POWER_*
 *   bits 16..31 must be zero; other values are ignored with a warning.
 * A Linux kernel without ACPI cannot power a machine off by itself ("System
 * halted"), which is why init announces power-off here before halting.
 */
#define LXS_PORT_POWER 0x510
#define LXS_POWER_OFF 1
#define LXS_POWER_REBOOT 2
#define LXS_POWER_VALUE(action, code) ((unsigned)(action) << 8 | ((unsigned)(code) & 0xff))

/*
 * Resets not announced on the power port (i8042 pulse, port 0xcf9, triple
 * fault) are told apart by the BIOS warm-boot flag: lxs-vm boots Linux with
 * "reboot=k,panic_warm", so the kernel stores LXS_WARM_BOOT_FLAG at guest
 * physical LXS_WARM_BOOT_GPA before a panic reset, and 0 before a reboot.
 */
#define LXS_WARM_BOOT_GPA 0x472
#define LXS_WARM_BOOT_FLAG 0x1234

/*
 * Exit statuses of lxs-vm. 0..LXS_EXIT_GUEST_MAX: the guest powered off with
 * that code (larger codes are clamped to LXS_EXIT_GUEST_MAX).
 */
#define LXS_EXIT_GUEST_MAX 99
#define LXS_EXIT_REBOOT 100     /* the guest rebooted */
#define LXS_EXIT_PANIC 101      /* the guest kernel panicked */
#define LXS_EXIT_CRASH 102      /* triple fault, or KVM could not run the vCPU */
#define LXS_EXIT_SLOW_KVM 103   /* /dev/kvm cannot run a normal guest at speed */
#define LXS_EXIT_VMM_ERROR 125  /* lxs-vm itself failed: usage, files, KVM errors */

#endif
