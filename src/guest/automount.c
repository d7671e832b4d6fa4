/*
 * automount.c - the host's files at /mnt/host in every distro.
 *
 * The host offers its root as one share per distro slot: virtio-fs by
 * default (DISTRO_START's LXS_DISTRO_HOST_VIRTIOFS; the guest kernel caches
 * entries, attributes and pages for the timeouts the host's server gives,
 * src/fusesrv), or virtio-9p where lxs.conf says [lxs] hostShare=9p. A
 * mount's DrvFs options ([automount] options: uid, gid, masks, metadata)
 * are the share's: for virtio-fs the host sets them on the device before
 * the distro starts (SHARE_OPTS), for 9P they are named in the attach's
 * aname (src/p9/p9.h), as a virtio-9p channel serves one mount at a time.
 * So lxsd gives each distro slot a share of its own ("hostroot<slot>" or
 * "hostfs<slot>", named in DISTRO_START), mounted per distro under
 * HOST_DIRS. Without a tag (lxs-session's starts) the one 9P share
 * "hostroot" is mounted once, at HOSTROOT_DIR, and every distro binds
 * that. Either way the distro gets a bind of the mount. The bind is staged on
 * the container's fresh /run tmpfs before pivot_root (nothing of the distro's can redirect it
 * there) and moved to its place after pivot_root, so that the distro's symlinks on the way to
 * `root` resolve inside the distro and never in the VM. Without the share
 * (lxs-vm started without it) nothing is mounted.
 *
 * The distro's /etc/wsl.conf [automount] is honoured as in WSL, but read by
 * the host (one parser, lxsd's, for every setting) and sent in DISTRO_START:
 * LXS_DISTRO_NO_AUTOMOUNT leaves the share out, the automount root puts it
 * at ROOT/host (default /mnt/).
 *
 * 9P mount options, chosen by bench/9p (bench/RESULTS.md, "bench/9p, session
 * 4"): msize is the most Linux 6.12's virtio transport takes (500 KiB = 4 KiB
 * x 125 buffers); cache=mmap asks the host at every lookup, so host changes
 * are seen at once (loose, ~4x faster at metadata, would keep stale entries),
 * and reads through the guest's page cache at ~85 % of loose's speed (none
 * reads in small direct requests, 14x slower); programs may mmap files.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "common/dirs.h"
#include "guest.h"

#define HOSTROOT_TAG "hostroot"
#define HOSTROOT_DIR "/run/lxs/hostroot"
#define HOST_DIRS    "/run/lxs/host"
/* A channel is let go when its last mount is: a distro just stopped may hold it a moment. */
#define CHANNEL_WAIT_MS 5000
#define HOSTROOT_OPTS   "trans=virtio,version=9p2000.L,msize=512000,cache=mmap"
/* Inside the container, on the /run tmpfs it just mounted. */
#define HOST_STAGE "/run/.lxs-host"

/* The VM-wide "hostroot" share, mounted once. */
static int mount_shared(void)
{
	if (is_mountpoint(HOSTROOT_DIR))
		return 0;
	mkdir("/run/lxs", 0755);
	mkdir(HOSTROOT_DIR, 0755);
	/* nosuid,nodev: host files must not gain the guest's privileges. */
	if (mount(HOSTROOT_TAG, HOSTROOT_DIR, "9p", MS_NOSUID | MS_NODEV, HOSTROOT_OPTS) < 0) {
		int e = errno;

		/* Two distros starting at once: the other one mounted it. */
		if (e == EBUSY && is_mountpoint(HOSTROOT_DIR))
			return 0;
		return -e;
	}
	return 0;
}

/*
 * The DrvFs options as an aname: letters, digits, '=' and '_' only (the
 * server checks the rest), ',' written as ':' since a mount option string
 * cannot carry commas.
 */
static int options_aname(const char *opts, char *out, size_t len)
{
	size_t n = strlen(opts);

	if (n >= len)
		return -EINVAL;
	for (size_t i = 0; i <= n; i++) {
		char c = opts[i];

		if (c && !isalnum((unsigned char)c) && c != '=' && c != '_' && c != ',')
			return -EINVAL;
		out[i] = c == ',' ? ':' : c;
	}
	return 0;
}

/*
 * A FUSE mount reads ahead as far as its backing device's read_ahead_kb
 * says, 128 KiB by default, so a sequential read is a request per 128 KiB
 * (the server would take 1 MiB at once: FUSE_MAX_PAGES). Raised to that,
 * for the mount at dir: bench/hostfs measured the difference.
 */
#define VIRTIOFS_READAHEAD_KB "1024"

static void raise_readahead(const char *dir)
{
	char path[64];
	struct stat st;
	int fd;

	if (stat(dir, &st) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(st.st_dev),
		 minor(st.st_dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, VIRTIOFS_READAHEAD_KB, strlen(VIRTIOFS_READAHEAD_KB)) < 0)
		fprintf(stderr, "lxs-init: cannot raise the read-ahead of %s: %s\n", dir,
			strerror(errno));
	close(fd);
}

int hostroot_mount(const struct distro_spec *d, char *src, size_t len)
{
	char opts[512], aname[200] = "";
	const char *fstype = "9p";
	struct timespec pause = {0, 20 * 1000 * 1000};
	int e = 0;

	if (!d->host_tag[0]) {
		snprintf(src, len, "%s", HOSTROOT_DIR);
		return mount_shared();
	}
	if (d->flags & LXS_DISTRO_HOST_VIRTIOFS) {
		/* The host gave the share the distro's options (SHARE_OPTS) before this start. */
		fstype = "virtiofs";
		opts[0] = 0;
	} else if (options_aname(d->host_opts, aname, sizeof(aname)) < 0) {
		fprintf(stderr,
			"lxs-init: distro %s: [automount] options '%s' are not DrvFs options; "
			"/mnt/host gets the defaults\n",
			d->name, d->host_opts);
		aname[0] = 0;
	}
	snprintf(src, len, HOST_DIRS "/%s", d->name);
	mkdir("/run/lxs", 0755);
	mkdir(HOST_DIRS, 0755);
	mkdir(src, 0755);
	umount2(src, MNT_DETACH); /* a leftover of a distro that died */
	if (!strcmp(fstype, "9p"))
		snprintf(opts, sizeof(opts), HOSTROOT_OPTS "%s%s", aname[0] ? ",aname=" : "",
			 aname);
	for (int waited = 0;; waited += 20) {
		if (mount(d->host_tag, src, fstype, MS_NOSUID | MS_NODEV, opts) == 0) {
			if (!strcmp(fstype, "virtiofs"))
				raise_readahead(src);
			return 0;
		}
		e = errno;
		if (e != EBUSY || waited >= CHANNEL_WAIT_MS)
			break;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "lxs-init: distro %s: cannot mount the host share %s: %s\n", d->name,
		d->host_tag, strerror(e));
	return -e;
}

void hostroot_unmount(const char *name)
{
	char dir[300];

	snprintf(dir, sizeof(dir), HOST_DIRS "/%s", name);
	if (umount2(dir, MNT_DETACH) == 0)
		rmdir(dir);
}

int hostroot_stage(const char *root, const char *src)
{
	char path[512];

	if (!is_mountpoint(src))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s" HOST_STAGE, root);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount(src, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	return 0;
}

/* mkdir -p, inside the current root (after pivot_root). */
/* An automount root the guest can use: absolute, no ".." component, bounded. */
static bool root_ok(const char *root)
{
	size_t n = strlen(root);

	if (root[0] != '/' || n > LXS_AUTOMOUNT_ROOT_MAX)
		return false;
	for (const char *p = root + 1; *p; p++) {
		/* Control characters: the path goes into a one-line record and console messages. */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
		if (p[-1] == '/' && p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]))
			return false;
	}
	return true;
}

int hostroot_path(const struct distro_spec *d, char *buf, size_t len)
{
	const char *root = d->automount_root;

	if (d->flags & LXS_DISTRO_NO_AUTOMOUNT)
		return -ENOENT;
	if (root[0] && !root_ok(root)) {
		/* Not printed: it may hold control characters. */
		fprintf(stderr,
			"lxs-init: distro %s: [automount] root is not an absolute path "
			"without '..' of at most %d bytes; the share goes to /mnt/host\n",
			d->name, LXS_AUTOMOUNT_ROOT_MAX);
		root = "";
	}
	if (!root[0])
		root = "/mnt/";
	if ((size_t)snprintf(buf, len, "%s%shost", root,
			     root[strlen(root) - 1] == '/' ? "" : "/") >= len)
		return -ENAMETOOLONG;
	return 0;
}

void hostroot_place(const char *dir)
{
	char target[HOSTROOT_PATH_MAX];

	if (!is_mountpoint(HOST_STAGE))
		return;
	if (dir[0] && (size_t)snprintf(target, sizeof(target), "%s", dir) < sizeof(target) &&
	    mkdir_p(target, 0755) == 0 && mount(HOST_STAGE, target, NULL, MS_MOVE, NULL) == 0) {
		rmdir(HOST_STAGE);
		return;
	}
	umount2(HOST_STAGE, MNT_DETACH);
	rmdir(HOST_STAGE);
}
