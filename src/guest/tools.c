/*
 * tools.c - lxs's tools at /usr/lib/lxs in every distro (proto.h,
 * LXS_TOOLS_DIR): lxs-host, lxspath and the host's command names, which
 * the host keeps in a folder that lxs-vm shares read-only under the tag
 * "lxstools". The share is mounted once in the VM and bound into each
 * container the way the host share is (staged on the container's fresh
 * /run before pivot_root, moved to its place after), so nothing is written
 * into the distro's own files but the empty folder it is mounted on.
 * Without the share (an lxs-vm started by hand) distros simply have none.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dirs.h"
#include "common/proto.h"
#include "guest.h"

#define TOOLS_TAG   "lxstools"
#define TOOLS_DIR   "/run/lxs/tools"
#define TOOLS_STAGE "/run/.lxs-tools"
/* As the host share's: each lookup asks the host, so new host command names show at once. */
#define TOOLS_OPTS "trans=virtio,version=9p2000.L,msize=512000,cache=mmap"

int tools_stage(const char *root)
{
	char path[512];

	if (!is_mountpoint(TOOLS_DIR)) {
		if (mkdir_p(TOOLS_DIR, 0755) < 0 ||
		    mount(TOOLS_TAG, TOOLS_DIR, "9p", MS_NOSUID | MS_NODEV | MS_RDONLY,
			  TOOLS_OPTS) < 0)
			return -errno;
	}
	snprintf(path, sizeof(path), "%s" TOOLS_STAGE, root);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount(TOOLS_DIR, path, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) <
		0) {
		int e = errno;

		umount2(path, MNT_DETACH);
		rmdir(path);
		return -e;
	}
	return 0;
}

void tools_place(void)
{
	if (!is_mountpoint(TOOLS_STAGE))
		return;
	if (mkdir_p(LXS_TOOLS_DIR, 0755) == 0 &&
	    mount(TOOLS_STAGE, LXS_TOOLS_DIR, NULL, MS_MOVE, NULL) == 0) {
		rmdir(TOOLS_STAGE);
		return;
	}
	say_as("", "cannot put lxs's tools at " LXS_TOOLS_DIR ": %s", strerror(errno));
	umount2(TOOLS_STAGE, MNT_DETACH);
	rmdir(TOOLS_STAGE);
}
