/*
 * control.h - lxs-vm's control socket, for lxsd: attach and detach distro
 * disks on a running VM, steer the balloon, read statistics, stop the VM.
 *
 * The protocol is proto.h's session framing (src/common/wire.h), one
 * conversation per connection:
 *   client: HELLO (struct lxs_hello)      server: HELLO, or ERROR EPROTO for
 *                                         another version (then it closes)
 *   client: one request                   server: one answer, then it closes
 * Requests and their answers:
 *   VM_ATTACH   struct lxs_vm_disk (slot, flags LXS_VM_DISK_RO) + string
 *               table of exactly two strings: image path (any bytes but NUL),
 *               serial (at most 20 bytes)                       INFO "slot=N"
 *   VM_DETACH   struct lxs_vm_disk, flags 0                     INFO "slot=N"
 *   VM_BALLOON  struct lxs_vm_balloon (MiB to take back)   INFO "target_mib=N"
 *   VM_STATS    empty    INFO "rss_kib=N guest_resident_kib=N ..." (memory)
 *   VM_NET      empty    INFO "link=0|1 tx_frames=N ..." (the network card)
 *   VM_POWEROFF empty    OK, and the VM stops (exit status 0)
 * A request that is well framed but wrong (size, flags, slot, strings) or
 * that fails is answered ERROR: struct lxs_error (errno) + one sentence.
 * INFO is "key=value" words separated by single spaces, without a NUL.
 *
 * The socket is the VM owner's alone: created 0600, and peers whose uid is
 * not ours are refused (SO_PEERCRED). The server runs in the event loop and
 * never blocks: non-blocking sockets, bounded buffers (one request), at most
 * CONTROL_MAX_CLIENTS connections at once (a new one drops the oldest, so
 * that stuck clients cannot lock lxsd out); a client whose bytes are not
 * frames, or whose first message is not a HELLO, is dropped unanswered.
 *
 * src/common/vmctl.h is the client; `lxs-vm --ctl SOCKET COMMAND` is it on
 * the command line (control_cli()).
 */
#ifndef LXS_CONTROL_H
#define LXS_CONTROL_H

#include "vm.h"

struct virtio_dev;

#define CONTROL_MAX_CLIENTS 16

struct vm_devices {
	struct virtio_dev *disk[LAYOUT_VIRTIO_MAX]; /* slot number = index */
	int ndisks;
	struct virtio_dev *balloon;
	struct virtio_dev *net; /* NULL without --net */
	/* virtio-fs shares and their tags, for SHARE_OPTS */
	struct virtio_dev *fs[VM_MAX_FS];
	const char *fs_tag[VM_MAX_FS];
	int nfs;
};

/* Listen on path (replacing a stale socket there) in vm's event loop: 0 or -errno. */
int control_create(struct vm *vm, struct vm_devices *devs, const char *path);

/*
 * lxs-vm --ctl SOCKET COMMAND [ARGS]: argv[0] is SOCKET. Commands:
 *   attach SLOT PATH ro|rw SERIAL, detach SLOT, balloon MIB, share-opts TAG
 *   OPTIONS, stats, net, poweroff
 * Prints the answer the way the old text protocol did ("ok[ key=value...]"
 * or "error <sentence>") and returns the exit status: 0, 1 for an error
 * answer (or none), 2 for a usage error.
 */
int control_cli(int argc, char **argv);

#endif
