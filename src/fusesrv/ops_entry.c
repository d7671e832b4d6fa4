/*
 * ops_entry.c - the opcodes on names and attributes: LOOKUP, GETATTR,
 * SETATTR, READLINK, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME(2),
 * LINK, STATFS and the xattr calls.
 *
 * Every name comes out of the request NUL-terminated and passes
 * hfs_name_ok() (fsrv_arg_name) before it reaches a system call, always
 * one relative to a folder's descriptor (hostfs.h's rules); ".." is
 * hfs_parent()'s alone. Permissions are the guest kernel's to check (the
 * mount has default_permissions); what is created gets the owner the
 * request's header names, kept as the DrvFs options say.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fusesrv/internal.h"

#define XATTR_MAX (64u << 10) /* the kernel's XATTR_SIZE_MAX and XATTR_LIST_MAX */

/* --- helpers shared with ops_io.c ------------------------------------------ */

static void timeout(uint32_t ms, uint64_t *sec, uint32_t *nsec)
{
	*sec = ms / 1000;
	*nsec = (ms % 1000) * 1000000u;
}

void fsrv_attr(struct fsrv_req *r, struct hfs_obj *o, const struct statx *st, struct fuse_attr *a)
{
	struct hfs_meta m;

	hfs_meta_get(r->h, &r->opts, o, st, &m);
	memset(a, 0, sizeof(*a));
	a->ino = hfs_ino(r->h, makedev(st->stx_dev_major, st->stx_dev_minor), st->stx_ino);
	a->size = st->stx_size;
	a->blocks = st->stx_blocks;
	a->atime = (uint64_t)st->stx_atime.tv_sec;
	a->mtime = (uint64_t)st->stx_mtime.tv_sec;
	a->ctime = (uint64_t)st->stx_ctime.tv_sec;
	a->atimensec = st->stx_atime.tv_nsec;
	a->mtimensec = st->stx_mtime.tv_nsec;
	a->ctimensec = st->stx_ctime.tv_nsec;
	a->mode = m.mode;
	a->nlink = st->stx_nlink;
	a->uid = m.uid;
	a->gid = m.gid;
	/* The kernel's 32-bit device encoding, which makedev's low half is. */
	a->rdev = (uint32_t)makedev(m.rdev_major, m.rdev_minor);
	a->blksize = st->stx_blksize;
}

int fsrv_entry(struct fsrv_req *r, struct hfs_obj *o, const struct statx *st,
	       struct fuse_entry_out *e)
{
	uint32_t entry_ms, attr_ms;
	uint64_t nodeid;
	int err;

	memset(e, 0, sizeof(*e));
	fsrv_attr(r, o, st, &e->attr);
	err = fsrv_node_enter(r->s, o, st, &nodeid);
	if (err)
		return err;
	e->nodeid = nodeid;
	if (S_ISDIR(st->stx_mode))
		fsrv_watch_add(r->s, nodeid);
	/* Every entry reply is of a name in the request's own folder. */
	fsrv_timeouts(r->s, r->in.nodeid, nodeid, st, &entry_ms, &attr_ms);
	timeout(entry_ms, &e->entry_valid, &e->entry_valid_nsec);
	timeout(attr_ms, &e->attr_valid, &e->attr_valid_nsec);
	return 0;
}

int fsrv_dir_obj(struct fsrv_req *r, struct hfs_obj **dir)
{
	int err = fsrv_node_obj(r->s, r->in.nodeid, dir);

	if (!err && !S_ISDIR((*dir)->type)) {
		hfs_obj_put(*dir);
		*dir = NULL;
		err = -ENOTDIR;
	}
	return err;
}

int fsrv_name_in_dir(struct fsrv_req *r, size_t off, const char **name, struct hfs_obj **dir)
{
	int err = fsrv_arg_name(r, &off, name);

	if (!err)
		err = fsrv_arg_end(r, off);
	return err ? err : fsrv_dir_obj(r, dir);
}

static int reply_entry(struct fsrv_req *r, struct hfs_obj *o, const struct statx *st)
{
	struct fuse_entry_out e;
	int err = fsrv_entry(r, o, st, &e);

	return err ? err : fsrv_reply(r, &e, sizeof(e));
}

/*
 * A name that is not there, as an entry of node 0: the kernel keeps the
 * absence as long as a name that is there (where a host change to it would
 * be told, five minutes), so a program probing for files (git's .gitignore in
 * every folder, a shell's PATH) asks once, not at every probe.
 */
static int reply_absent(struct fsrv_req *r)
{
	struct fuse_entry_out e = {0};
	uint32_t entry_ms, attr_ms;

	fsrv_timeouts(r->s, r->in.nodeid, 0, NULL, &entry_ms, &attr_ms);
	timeout(entry_ms, &e.entry_valid, &e.entry_valid_nsec);
	return fsrv_reply(r, &e, sizeof(e));
}

int fsrv_kill_suidgid(struct fsrv_req *r, struct hfs_obj *o)
{
	struct hfs_meta m;
	struct statx st;
	uint32_t kill;
	int err = hfs_stat(o, &st);

	if (err || S_ISDIR(o->type))
		return err;
	hfs_meta_get(r->h, &r->opts, o, &st, &m);
	kill = m.mode & S_ISUID;
	if ((m.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	return kill ? hfs_meta_set(r->h, &r->opts, o, &st, m.mode & 07777 & ~kill, -1, -1) : 0;
}

static int reply_attr(struct fsrv_req *r, struct hfs_obj *o)
{
	struct fuse_attr_out a = {0};
	uint32_t entry_ms, attr_ms;
	struct statx st;
	int err = hfs_stat(o, &st);

	if (err)
		return err;
	fsrv_attr(r, o, &st, &a.attr);
	fsrv_timeouts(r->s, 0, r->in.nodeid, &st, &entry_ms, &attr_ms);
	timeout(attr_ms, &a.attr_valid, &a.attr_valid_nsec);
	return fsrv_reply(r, &a, sizeof(a));
}

/* --- lookup and attributes ----------------------------------------------- */

int fsrv_op_lookup(struct fsrv_req *r)
{
	struct hfs_obj *dir, *o = NULL;
	struct statx st;
	const char *name;
	size_t off = 0, len;
	int err;

	err = fsrv_arg_str(r, &off, &name, &len);
	if (!err)
		err = fsrv_arg_end(r, off);
	if (!err && !(len == 2 && !memcmp(name, "..", 2)))
		err = hfs_name_ok(name, len);
	if (!err)
		err = fsrv_dir_obj(r, &dir);
	if (err)
		return err;
	/* ".." (sent only for NFS exports, which are not offered): clamped at the root. */
	if (len == 2 && !memcmp(name, "..", 2))
		err = hfs_parent(r->h, dir, &o, &st);
	else
		err = hfs_lookup(r->h, dir, name, &o, &st);
	hfs_obj_put(dir);
	if (err == -ENOENT && len != 2)
		return reply_absent(r);
	return err ? err : reply_entry(r, o, &st);
}

int fsrv_op_getattr(struct fsrv_req *r)
{
	struct hfs_obj *o;
	int err = fsrv_node_obj(r->s, r->in.nodeid, &o);

	/* GETATTR_FH names an open file of the same inode: the node serves. */
	if (err)
		return err;
	err = reply_attr(r, o);
	hfs_obj_put(o);
	return err;
}

#define SETATTR_KNOWN                                                                              \
	(FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE | FATTR_ATIME | FATTR_MTIME | FATTR_FH |  \
	 FATTR_ATIME_NOW | FATTR_MTIME_NOW | FATTR_LOCKOWNER | FATTR_CTIME | FATTR_KILL_SUIDGID)

static int set_time(uint32_t valid, uint32_t is, uint32_t now, uint64_t sec, uint32_t nsec,
		    struct timespec *ts)
{
	if (!(valid & is)) {
		ts->tv_nsec = UTIME_OMIT;
	} else if (valid & now) {
		ts->tv_nsec = UTIME_NOW;
	} else {
		if (nsec >= 1000000000u)
			return -EINVAL;
		ts->tv_sec = (time_t)(int64_t)sec;
		ts->tv_nsec = (long)nsec;
	}
	return 0;
}

/* Truncate o to size, by the guest's open handle if it gave one that can write. */
static int truncate_to(struct fsrv_req *r, struct hfs_obj *o, struct fsrv_handle *h, uint64_t size)
{
	int fd, err;

	if (size > INT64_MAX)
		return -EINVAL;
	if (S_ISDIR(o->type))
		return -EISDIR;
	if (!S_ISREG(o->type))
		return -EINVAL;
	if (h && (h->hflags & O_ACCMODE) != O_RDONLY)
		return ftruncate(h->obj->fd, (off_t)size) < 0 ? -errno : 0;
	fd = hfs_reopen(r->h, o, NULL, NULL, O_WRONLY);
	if (fd < 0)
		return fd;
	err = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	return err;
}

int fsrv_op_setattr(struct fsrv_req *r)
{
	struct fuse_setattr_in in;
	struct fsrv_handle *h = NULL;
	struct timespec ts[2];
	struct hfs_obj *o;
	struct statx st;
	int err;

	memcpy(&in, r->arg, sizeof(in));
	if (in.valid & ~(uint32_t)SETATTR_KNOWN)
		return -EINVAL;
	err = fsrv_node_obj(r->s, r->in.nodeid, &o);
	if (err)
		return err;
	if (in.valid & FATTR_FH) {
		h = fsrv_handle_get(r->s, in.fh);
		if (!h || h->nodeid != r->in.nodeid) {
			err = -EBADF;
			goto out;
		}
	}
	if (in.valid & (FATTR_MODE | FATTR_UID | FATTR_GID)) {
		err = hfs_stat(o, &st);
		if (!err)
			err = hfs_meta_set(r->h, &r->opts, o, &st,
					   in.valid & FATTR_MODE ? (int64_t)(in.mode & 07777) : -1,
					   in.valid & FATTR_UID ? (int64_t)in.uid : -1,
					   in.valid & FATTR_GID ? (int64_t)in.gid : -1);
	}
	if (!err && (in.valid & FATTR_SIZE))
		err = truncate_to(r, o, h, in.size);
	/* After a chown or truncation; a mode given is the guest's choice. */
	if (!err && (in.valid & FATTR_KILL_SUIDGID) && !(in.valid & FATTR_MODE))
		err = fsrv_kill_suidgid(r, o);
	if (!err && (in.valid & (FATTR_ATIME | FATTR_MTIME))) {
		err = set_time(in.valid, FATTR_ATIME, FATTR_ATIME_NOW, in.atime, in.atimensec,
			       &ts[0]);
		if (!err)
			err = set_time(in.valid, FATTR_MTIME, FATTR_MTIME_NOW, in.mtime,
				       in.mtimensec, &ts[1]);
		if (!err && utimensat(o->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			err = -errno;
	}
	/* A ctime alone needs nothing: any change above set it, and none can be chosen. */
	if (!err)
		err = reply_attr(r, o);
out:
	fsrv_handle_put(r->s, h);
	hfs_obj_put(o);
	return err;
}

int fsrv_op_readlink(struct fsrv_req *r)
{
	struct hfs_obj *o;
	char *buf;
	ssize_t n;
	int err;

	err = fsrv_node_obj(r->s, r->in.nodeid, &o);
	if (err)
		return err;
	buf = malloc(PATH_MAX);
	if (!buf)
		err = -ENOMEM;
	else if (!S_ISLNK(o->type))
		err = -EINVAL;
	else if ((n = readlinkat(o->fd, "", buf, PATH_MAX)) < 0)
		err = -errno;
	else if (n >= PATH_MAX)
		err = -ENAMETOOLONG;
	else /* never cut short: a shorter target would be another target */
		err = fsrv_put(r, 0, buf, (size_t)n) ? (int)n : -ENAMETOOLONG;
	free(buf);
	hfs_obj_put(o);
	return err;
}

int fsrv_op_statfs(struct fsrv_req *r)
{
	struct fuse_statfs_out out = {0};
	struct hfs_obj *o;
	struct statfs sf;
	int err;

	err = fsrv_node_obj(r->s, r->in.nodeid, &o);
	if (err)
		return err;
	if (fstatfs(o->fd, &sf) < 0)
		err = -errno;
	hfs_obj_put(o);
	if (err)
		return err;
	out.st.blocks = sf.f_blocks;
	out.st.bfree = sf.f_bfree;
	out.st.bavail = sf.f_bavail;
	out.st.files = sf.f_files;
	out.st.ffree = sf.f_ffree;
	out.st.bsize = (uint32_t)sf.f_bsize;
	out.st.namelen = (uint32_t)sf.f_namelen;
	out.st.frsize = (uint32_t)sf.f_frsize;
	return fsrv_reply(r, &out, sizeof(out));
}

/* --- making and removing entries ----------------------------------------- */

int fsrv_op_mknod(struct fsrv_req *r)
{
	struct fuse_mknod_in in;
	struct hfs_obj *dir, *o;
	const char *name;
	struct statx st;
	int err;

	memcpy(&in, r->arg, sizeof(in));
	if (S_ISDIR(in.mode))
		return -EINVAL; /* MKDIR's */
	err = fsrv_name_in_dir(r, sizeof(in), &name, &dir);
	if (err)
		return err;
	fsrv_watch_expect(r->s, r->in.nodeid, name, IN_CREATE);
	/* in.rdev is the kernel's 32-bit encoding, which major() and minor() read. */
	err = hfs_mknod(r->h, &r->opts, dir, name, in.mode & (S_IFMT | 07777), major(in.rdev),
			minor(in.rdev), r->in.uid, r->in.gid, &o, &st);
	hfs_obj_put(dir);
	return err ? err : reply_entry(r, o, &st);
}

int fsrv_op_mkdir(struct fsrv_req *r)
{
	struct fuse_mkdir_in in;
	struct hfs_obj *dir, *o;
	const char *name;
	struct statx st;
	int err;

	memcpy(&in, r->arg, sizeof(in));
	err = fsrv_name_in_dir(r, sizeof(in), &name, &dir);
	if (err)
		return err;
	fsrv_watch_expect(r->s, r->in.nodeid, name, IN_CREATE);
	err = hfs_mkdir(r->h, &r->opts, dir, name, S_IFDIR | (in.mode & 07777), r->in.uid,
			r->in.gid, &o, &st);
	hfs_obj_put(dir);
	return err ? err : reply_entry(r, o, &st);
}

int fsrv_op_symlink(struct fsrv_req *r)
{
	struct hfs_obj *dir, *o;
	const char *name, *target;
	struct statx st;
	size_t off = 0, tlen;
	int err;

	/* The new name first, then the target: text, stored and never resolved. */
	err = fsrv_arg_name(r, &off, &name);
	if (!err)
		err = fsrv_arg_str(r, &off, &target, &tlen);
	if (!err)
		err = fsrv_arg_end(r, off);
	if (!err && tlen >= PATH_MAX)
		err = -ENAMETOOLONG;
	if (!err)
		err = fsrv_dir_obj(r, &dir);
	if (err)
		return err;
	fsrv_watch_expect(r->s, r->in.nodeid, name, IN_CREATE);
	err = hfs_symlink(r->h, &r->opts, dir, name, target, r->in.uid, r->in.gid, &o, &st);
	hfs_obj_put(dir);
	return err ? err : reply_entry(r, o, &st);
}

int fsrv_op_link(struct fsrv_req *r)
{
	struct fuse_link_in in;
	struct hfs_obj *dir = NULL, *o = NULL;
	const char *name;
	struct statx st;
	int err;

	memcpy(&in, r->arg, sizeof(in));
	err = fsrv_name_in_dir(r, sizeof(in), &name, &dir);
	if (!err)
		err = fsrv_node_obj(r->s, in.oldnodeid, &o);
	if (!err) {
		fsrv_watch_expect(r->s, r->in.nodeid, name, IN_CREATE);
		err = hfs_link(r->h, o, dir, name);
	}
	if (!err)
		err = hfs_stat(o, &st);
	hfs_obj_put(dir);
	if (err) {
		hfs_obj_put(o);
		return err;
	}
	return reply_entry(r, o, &st); /* the same node, one more lookup */
}

static int remove_entry(struct fsrv_req *r, int flags)
{
	struct hfs_obj *dir;
	const char *name;
	int err = fsrv_name_in_dir(r, 0, &name, &dir);

	if (err)
		return err;
	fsrv_watch_expect(r->s, r->in.nodeid, name, IN_DELETE);
	/* The node stays until the kernel forgets it: an open file lives on. */
	err = unlinkat(dir->fd, name, flags) < 0 ? -errno : 0;
	hfs_obj_put(dir);
	return err;
}

int fsrv_op_unlink(struct fsrv_req *r)
{
	return remove_entry(r, 0);
}

int fsrv_op_rmdir(struct fsrv_req *r)
{
	return remove_entry(r, AT_REMOVEDIR);
}

static int do_rename(struct fsrv_req *r, uint64_t newdir, size_t off, unsigned flags)
{
	struct hfs_obj *odir = NULL, *ndir = NULL;
	const char *oname, *nname;
	int err;

	err = fsrv_arg_name(r, &off, &oname);
	if (!err)
		err = fsrv_arg_name(r, &off, &nname);
	if (!err)
		err = fsrv_arg_end(r, off);
	if (!err)
		err = fsrv_dir_obj(r, &odir);
	if (!err) {
		err = fsrv_node_obj(r->s, newdir, &ndir);
		if (!err && !S_ISDIR(ndir->type))
			err = -ENOTDIR;
	}
	if (!err) {
		/* An exchange moves each name both ways. */
		uint32_t both = IN_MOVED_FROM | IN_MOVED_TO;

		fsrv_watch_expect(r->s, r->in.nodeid, oname,
				  flags & RENAME_EXCHANGE ? both : IN_MOVED_FROM);
		fsrv_watch_expect(r->s, newdir, nname,
				  flags & RENAME_EXCHANGE ? both : IN_MOVED_TO);
		if (renameat2(odir->fd, oname, ndir->fd, nname, flags) < 0)
			err = -errno;
	}
	hfs_obj_put(odir);
	hfs_obj_put(ndir);
	return err;
}

int fsrv_op_rename(struct fsrv_req *r)
{
	struct fuse_rename_in in;

	memcpy(&in, r->arg, sizeof(in));
	return do_rename(r, in.newdir, sizeof(in), 0);
}

int fsrv_op_rename2(struct fsrv_req *r)
{
	struct fuse_rename2_in in;

	memcpy(&in, r->arg, sizeof(in));
	/* RENAME_WHITEOUT would make a device node on the host: overlayfs's, not ours. */
	if (in.flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	return do_rename(r, in.newdir, sizeof(in), in.flags);
}

/* --- xattrs ------------------------------------------------------------------ */

/* An xattr name from the arguments at *off, mapped to the host's for o. */
static int xattr_name(struct fsrv_req *r, struct hfs_obj *o, size_t *off, bool set,
		      char host[HFS_XNAME_MAX])
{
	const char *name;
	size_t len;
	int err = fsrv_arg_str(r, off, &name, &len);

	if (err)
		return err;
	if (len == 0)
		return -EINVAL;
	if (len > XATTR_NAME_MAX)
		return -ERANGE;
	return hfs_meta_xattr_name(r->h, &r->opts, o, name, set, host);
}

int fsrv_op_setxattr(struct fsrv_req *r)
{
	struct fuse_setxattr_in in = {0};
	char host[HFS_XNAME_MAX];
	size_t off = FUSE_COMPAT_SETXATTR_IN_SIZE; /* SETXATTR_EXT is not agreed to */
	struct hfs_obj *o;
	int err;

	memcpy(&in, r->arg, FUSE_COMPAT_SETXATTR_IN_SIZE);
	if (in.flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (in.size > XATTR_MAX)
		return -E2BIG;
	err = fsrv_node_obj(r->s, r->in.nodeid, &o);
	if (err)
		return err;
	err = xattr_name(r, o, &off, true, host);
	/* The value is the rest of the request, exactly. */
	if (!err && r->arglen - off != in.size)
		err = -EINVAL;
	if (!err)
		err = hfs_setxattr(r->h, o, host, r->arg + off, in.size, (int)in.flags);
	hfs_obj_put(o);
	return err;
}

/*
 * A reply of a value or list of up to XATTR_MAX bytes: its size alone
 * when the guest asks with size 0, else the bytes (-ERANGE if more than
 * it asked for).
 */
static int reply_xattr(struct fsrv_req *r, uint32_t want, const void *buf, size_t len)
{
	struct fuse_getxattr_out out = {.size = (uint32_t)len};

	if (want == 0)
		return fsrv_reply(r, &out, sizeof(out));
	if (len > want)
		return -ERANGE;
	return fsrv_put(r, 0, buf, len) ? (int)len : -ERANGE;
}

int fsrv_op_getxattr(struct fsrv_req *r)
{
	struct fuse_getxattr_in in;
	char host[HFS_XNAME_MAX];
	size_t off = sizeof(in), cap;
	struct hfs_obj *o;
	void *buf = NULL;
	ssize_t n;
	int err;

	memcpy(&in, r->arg, sizeof(in));
	err = fsrv_node_obj(r->s, r->in.nodeid, &o);
	if (err)
		return err;
	err = xattr_name(r, o, &off, false, host);
	if (!err)
		err = fsrv_arg_end(r, off);
	if (err)
		goto out;
	cap = in.size < XATTR_MAX ? in.size : XATTR_MAX;
	if (cap && !(buf = malloc(cap))) {
		err = -ENOMEM;
		goto out;
	}
	n = hfs_getxattr(r->h, o, host, buf, cap);
	err = n < 0 ? (int)n : reply_xattr(r, in.size, buf, (size_t)n);
out:
	free(buf);
	hfs_obj_put(o);
	return err;
}

/* The guest's whole list of o's names (the server's own left out): into *buf, its length. */
static ssize_t list_xattrs(struct fsrv_req *r, struct hfs_obj *o, char **buf)
{
	ssize_t n = 0;

	*buf = NULL;
	/* The list can grow between sizing and reading: try a few times. */
	for (int tries = 0; tries < 4; tries++) {
		n = hfs_listxattr(r->h, o, NULL, 0);
		if (n < 0)
			break;
		if ((size_t)n > XATTR_MAX) {
			n = -E2BIG;
			break;
		}
		free(*buf);
		*buf = malloc((size_t)n + 1);
		if (!*buf)
			return -ENOMEM;
		n = hfs_listxattr(r->h, o, *buf, (size_t)n);
		if (n != -ERANGE)
			break;
	}
	if (n < 0) {
		free(*buf);
		*buf = NULL;
		return n;
	}
	return (ssize_t)hfs_meta_xattr_list(&r->opts, *buf, (size_t)n);
}

int fsrv_op_listxattr(struct fsrv_req *r)
{
	struct fuse_getxattr_in in;
	struct hfs_obj *o;
	char *buf;
	ssize_t n;
	int err;

	memcpy(&in, r->arg, sizeof(in));
	err = fsrv_node_obj(r->s, r->in.nodeid, &o);
	if (err)
		return err;
	n = list_xattrs(r, o, &buf);
	err = n < 0 ? (int)n : reply_xattr(r, in.size, buf, (size_t)n);
	free(buf);
	hfs_obj_put(o);
	return err;
}

int fsrv_op_removexattr(struct fsrv_req *r)
{
	char host[HFS_XNAME_MAX];
	struct hfs_obj *o;
	size_t off = 0;
	int err;

	err = fsrv_node_obj(r->s, r->in.nodeid, &o);
	if (err)
		return err;
	err = xattr_name(r, o, &off, true, host);
	if (!err)
		err = fsrv_arg_end(r, off);
	if (!err)
		err = hfs_removexattr(r->h, o, host);
	hfs_obj_put(o);
	return err;
}
