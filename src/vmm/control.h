/*
 * control.h - lxs-vm's control socket, for lxsd: attach and detach distro
 * disks on a running VM, steer the balloon, read statistics, stop the VM.
 *
 * One command line per connection, one answer line, then the connection is
 * closed: "ok[ key=value...]" or "error <sentence>". Commands:
 *   attach SLOT PATH ro|rw SERIAL    give spare disk slot SLOT a backing file
 *   detach SLOT                      take it away again (capacity 0)
 *   balloon MIB                      set the balloon target (MiB to take back)
 *   stats                            guest memory, balloon, RSS figures
 *   net                              the network card: link, frames, drops
 *   poweroff                         stop the VM now (exit status 0)
 * The socket is the VM owner's alone: created 0600, and peers whose uid is
 * not ours are refused (SO_PEERCRED). Lines are bounded; paths and serials
 * must not contain spaces.
 */
#ifndef LXS_CONTROL_H
#define LXS_CONTROL_H

#include "vm.h"

struct virtio_dev;

struct vm_devices {
	struct virtio_dev *disk[LAYOUT_VIRTIO_MAX];   /* slot number = index */
	int ndisks;
	struct virtio_dev *balloon;
	struct virtio_dev *net; /* NULL without --net */
};

int control_create(struct vm *vm, struct vm_devices *devs, const char *path);

#endif
