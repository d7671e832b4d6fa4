/*
 * make.c - new entries in a share: directories, device nodes, FIFOs and
 * sockets, symlinks, created-and-opened files and hard links, each made
 * with one *at() call relative to a directory obj, its owner and mode then
 * recorded under the options (meta.c), and what was made removed again if
 * that fails, so that a guest is never left a file it was told does not
 * exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hostfs/hostfs.h"

void hfs_unmake(struct hfs_obj *dir, const char *name, bool is_dir)
{
	unlinkat(dir->fd, name, is_dir ? AT_REMOVEDIR : 0);
}

/*
 * After the host object dir/name was made: its obj (through the same walk
 * as any other name, so the proc guard sees it too), its owner and mode
 * recorded; on failure it is removed again.
 */
static int made(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
		bool is_dir, uint32_t mode, uint32_t uid, uint32_t gid, uint32_t major,
		uint32_t minor, struct hfs_obj **out, struct statx *st)
{
	struct hfs_obj *o;
	struct statx tmp;
	int err;

	err = hfs_lookup(h, dir, name, &o, st ? st : &tmp);
	if (!err) {
		err = hfs_meta_created(h, opt, o, mode, uid, gid, major, minor);
		if (err)
			hfs_obj_put(o);
	}
	if (err) {
		hfs_unmake(dir, name, is_dir);
		return err;
	}
	if (out)
		*out = o;
	else
		hfs_obj_put(o);
	return 0;
}

int hfs_mkdir(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
	      uint32_t mode, uint32_t uid, uint32_t gid, struct hfs_obj **out, struct statx *st)
{
	mode_t host;
	int err;

	mode = S_IFDIR | (mode & 07777);
	err = hfs_meta_host_mode(opt, mode, &host);
	if (err)
		return err;
	if (mkdirat(dir->fd, name, host & 07777) < 0)
		return -errno;
	return made(h, opt, dir, name, true, mode, uid, gid, 0, 0, out, st);
}

int hfs_mknod(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
	      uint32_t mode, uint32_t major, uint32_t minor, uint32_t uid, uint32_t gid,
	      struct hfs_obj **out, struct statx *st)
{
	uint32_t type = mode & S_IFMT, perm = mode & 07777;
	mode_t host;
	dev_t rdev = 0;
	int err;

	if (type == 0)
		type = S_IFREG;
	if (S_ISDIR(type))
		return -EINVAL; /* mkdir's, not mknod's */
	/* A device may be a plain host file holding its type (DrvFs
	 * metadata, VolFs) or, in the real mode only, a device. */
	err = hfs_meta_host_mode(opt, type | perm, &host);
	if (err)
		return err;
	if (S_ISCHR(host) || S_ISBLK(host))
		rdev = makedev(major, minor);
	if (mknodat(dir->fd, name, host, rdev) < 0)
		return -errno;
	return made(h, opt, dir, name, false, type | perm, uid, gid, major, minor, out, st);
}

int hfs_symlink(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
		const char *target, uint32_t uid, uint32_t gid, struct hfs_obj **out,
		struct statx *st)
{
	if (!target[0])
		return -ENOENT; /* as symlink(2) says of an empty target */
	/* The target is only text to us: it is stored, never resolved. */
	if (symlinkat(target, dir->fd, name) < 0)
		return -errno;
	return made(h, opt, dir, name, false, S_IFLNK | 0777, uid, gid, 0, 0, out, st);
}

/*
 * Open dir/name for a create, with host permission bits perm: made by us
 * (O_EXCL), or, if the caller allows an existing file, reopened only if it
 * is a regular file, so that a device or FIFO dropped in under that name
 * is never opened.
 */
static int create_open(struct hostfs *h, struct hfs_obj *dir, const char *name, mode_t perm,
		       int flags, bool excl, bool *created)
{
	struct hfs_obj *o;
	int fd, err;

	*created = false;
	fd = openat(dir->fd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    perm);
	if (fd >= 0) {
		*created = true;
		return fd;
	}
	if (errno != EEXIST || excl)
		return -errno;
	err = hfs_lookup(h, dir, name, &o, NULL);
	if (err)
		return err;
	if (!S_ISREG(o->type))
		fd = S_ISDIR(o->type) ? -EISDIR : -EEXIST;
	else
		fd = hfs_reopen(h, o, dir, name, flags);
	hfs_obj_put(o);
	return fd;
}

int hfs_create(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
	       uint32_t mode, int flags, bool excl, uint32_t uid, uint32_t gid,
	       struct hfs_obj **out, struct statx *st, bool *created)
{
	struct hfs_obj *o = NULL;
	struct statx tmp;
	mode_t host;
	int fd, err = 0;

	if (!st)
		st = &tmp;
	mode = S_IFREG | (mode & 07777);
	/* (a regular file always has a host mode) */
	(void)hfs_meta_host_mode(opt, mode, &host);
	/* Added below, and refused by a reopen of an existing file. */
	flags &= ~(O_CREAT | O_EXCL | O_NOFOLLOW);
	fd = create_open(h, dir, name, host & 07777, flags, excl, created);
	if (fd < 0)
		return fd;
	/* The open descriptor is the obj's too: one host descriptor, not two. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
		  st) < 0) {
		err = -errno;
		close(fd);
	} else if (!(o = hfs_obj_new(fd, st))) { /* takes fd, even when it fails */
		err = -ENOMEM;
	} else {
		o->on_proc = dir->on_proc;
		if (*created)
			err = hfs_meta_created(h, opt, o, mode, uid, gid, 0, 0);
	}
	if (err) {
		hfs_obj_put(o);
		if (*created)
			hfs_unmake(dir, name, false);
		*created = false;
		return err;
	}
	if (out)
		*out = o;
	else
		hfs_obj_put(o);
	return 0;
}

int hfs_link(struct hostfs *h, struct hfs_obj *o, struct hfs_obj *dir, const char *name)
{
	char num[16];
	int err;

	if (S_ISDIR(o->type))
		return -EPERM;
	if (linkat(o->fd, "", dir->fd, name, AT_EMPTY_PATH) == 0)
		return 0;
	err = -errno;
	/*
	 * Linking by descriptor needs CAP_DAC_READ_SEARCH on older kernels;
	 * through /proc it does not. A symlink is only ever linked by
	 * descriptor.
	 */
	if ((err == -ENOENT || err == -EPERM) && h->proc_fd >= 0 && !S_ISLNK(o->type)) {
		snprintf(num, sizeof(num), "%d", o->fd);
		err = linkat(h->proc_fd, num, dir->fd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	}
	return err;
}
