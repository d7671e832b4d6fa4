/*
 * sandbox.h - lxs-vm's seccomp sandbox: once a thread has finished its
 * set-up it confines itself to the system calls its class of work needs
 * (sandbox.c holds the lists, with the reason for each call). The guest
 * drives every device, so a bug in one must not hand the guest the host.
 */
#ifndef LXS_VMM_SANDBOX_H
#define LXS_VMM_SANDBOX_H

#include <stdbool.h>

/* The kinds of thread lxs-vm runs; each gets its own allowlist. */
enum sandbox_class {
	SANDBOX_MAIN, /* the event loop: device back ends, control socket, signals */
	SANDBOX_VCPU, /* one per vCPU: KVM_RUN and the MMIO/PIO exits it returns */
	SANDBOX_P9,   /* the 9P share's workers: the host file system, beneath the share */
	SANDBOX_FS,   /* the virtio-fs share's workers: the same, and copy_file_range */
	SANDBOX_NCLASSES
};

struct sandbox {
	bool off;  /* --no-sandbox: for debugging only */
	int probe; /* --sandbox-probe: this class makes a forbidden call (tests), or -1 */
};

/* The class's name as logs and --sandbox-probe spell it; -1 for an unknown name. */
const char *sandbox_class_name(enum sandbox_class cls);
int sandbox_class_parse(const char *name);

/*
 * Once, in the main thread before any other thread exists: the SIGSYS
 * handler that names a forbidden call before lxs-vm ends, and the table of
 * system call names it reads (a signal handler cannot look them up).
 */
int sandbox_prepare(const struct sandbox *sb);

/*
 * In the thread itself, when its set-up is done: load the class's filter
 * (with NO_NEW_PRIVS). Irreversible;
 * -errno if the filter cannot be loaded, in which case the caller must not
 * go on unconfined. sb NULL: nothing to do (a device tested on its own).
 */
int sandbox_enter(const struct sandbox *sb, enum sandbox_class cls);

#endif
