/*
 * ops_io.c - the opcodes on open files and folders: OPEN, CREATE, READ,
 * WRITE, RELEASE, FSYNC, OPENDIR, READDIR, READDIRPLUS, RELEASEDIR,
 * FSYNCDIR, LSEEK, FALLOCATE and COPY_FILE_RANGE.
 *
 * File data moves between the host file and the guest's own buffers
 * (preadv into the reply's, pwritev from the request's), never through
 * ours. Each open is its own host descriptor, opened through hostfs from
 * the node's (so only that inode), with flags from an allowlist.
 *
 * Caching: an OPEN lets the guest keep its cached pages (FOPEN_KEEP_CACHE)
 * only when the file's size, mtime and ctime are what this session saw at
 * its last open or write of it (nodes.c, fsrv_node_seen): anything else
 * means the host changed it, and the kernel must drop what it has.
 * Folders are never opened (fsrv_op_opendir): the kernel keeps their
 * listings and lists them by node.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fusesrv/internal.h"

#define DIRBUF   (16u << 10)
#define SLICE    1024        /* IOV_MAX: more buffers than that make a short read or write */
#define COPY_MAX (64u << 20) /* per request: a copy on a worker thread stays short */

/*
 * The kernel's open flags that glibc spells differently or not at all (the
 * guest's kernel is of the host's architecture).
 */
#if defined(__aarch64__)
#define GUEST_O_LARGEFILE 0400000
#else
#define GUEST_O_LARGEFILE 0100000
#endif
#define GUEST_FMODE_EXEC 040

/*
 * Flags the kernel may pass in an open and that change nothing for a file
 * served at explicit offsets: dropped. O_DIRECT too (the guest's buffers
 * have no alignment to offer the host's), and O_NOATIME (it fails on files
 * the server's user does not own).
 */
#define OPEN_IGNORED                                                                               \
	(O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW | O_DIRECT | O_NOATIME |     \
	 FASYNC | GUEST_O_LARGEFILE | GUEST_FMODE_EXEC)
#define OPEN_TAKEN (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC)

/* Host open flags for the guest's: -EINVAL for anything unknown, O_CREAT or O_EXCL. */
static int host_flags(uint32_t f)
{
	if ((f & O_ACCMODE) == O_ACCMODE || (f & ~(uint32_t)(OPEN_TAKEN | OPEN_IGNORED)))
		return -EINVAL;
	return (int)(f & OPEN_TAKEN);
}

static bool writes(int hflags)
{
	return (hflags & O_ACCMODE) != O_RDONLY || (hflags & O_TRUNC);
}

static bool off_ok(uint64_t off, uint64_t len)
{
	return off <= INT64_MAX && len <= INT64_MAX - off;
}

/* An obj for fd (taken), on the same file system as o. */
static int obj_of_fd(int fd, struct hfs_obj *o, struct hfs_obj **out, struct statx *st)
{
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
		  st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*out = hfs_obj_new(fd, st);
	if (!*out)
		return -ENOMEM;
	(*out)->on_proc = o->on_proc;
	return 0;
}

/* After a change the guest made through h: what it saw is what it has. */
static void saw(struct fsrv_req *r, struct fsrv_handle *h)
{
	struct statx st;

	if (hfs_stat(h->obj, &st) == 0)
		fsrv_node_seen(r->s, h->nodeid, &st);
}

/* --- open, create, release ----------------------------------------------- */

int fsrv_op_open(struct fsrv_req *r)
{
	struct fuse_open_in in;
	struct fuse_open_out out = {0};
	struct hfs_obj *o, *fo = NULL;
	struct statx st;
	int hflags, fd, err;

	memcpy(&in, r->arg, sizeof(in));
	hflags = host_flags(in.flags);
	if (hflags < 0)
		return hflags;
	if (writes(hflags) && r->s->cfg.read_only)
		return -EROFS;
	err = fsrv_node_obj(r->s, r->in.nodeid, &o);
	if (err)
		return err;
	if (S_ISDIR(o->type)) {
		err = -EISDIR; /* folders are listed by node, never opened */
		goto out;
	}
	fd = hfs_reopen(r->h, o, NULL, NULL, hflags);
	err = fd < 0 ? fd : obj_of_fd(fd, o, &fo, &st);
	if (err)
		goto out;
	if ((in.open_flags & FUSE_OPEN_KILL_SUIDGID) && (hflags & O_TRUNC)) {
		err = fsrv_kill_suidgid(r, fo);
		if (err) {
			hfs_obj_put(fo);
			goto out;
		}
	}
	err = fsrv_handle_new(r->s, fo, r->in.nodeid, hflags, &out.fh);
	if (err)
		goto out;
	if (fsrv_node_seen(r->s, r->in.nodeid, &st))
		out.open_flags |= FOPEN_KEEP_CACHE;
	if (o->on_proc)
		out.open_flags = FOPEN_DIRECT_IO; /* sizes of 0 that read as more */
	err = fsrv_reply(r, &out, sizeof(out));
out:
	hfs_obj_put(o);
	return err;
}

/*
 * Folders are never opened: ENOSYS makes the kernel stop sending OPENDIR
 * and RELEASEDIR for the session's life (fc->no_opendir), keep listings in
 * its cache across opens (checked against the folder's mtime when its
 * attributes are renewed, dropped by a notification), and send READDIR
 * with fh 0 for the folder node itself, which dir_of_node() opens for that
 * one request. Two round trips fewer per folder a program lists (every
 * folder of a find or a git status), and none at all for a cached one.
 */
int fsrv_op_opendir(struct fsrv_req *r)
{
	(void)r;
	return -ENOSYS;
}

/* The request's folder node opened for reading (fsrv_op_opendir says why). */
static int dir_of_node(struct fsrv_req *r, struct hfs_obj **out)
{
	struct hfs_obj *o;
	struct statx st;
	int fd, err;

	err = fsrv_dir_obj(r, &o);
	if (err)
		return err;
	fd = hfs_reopen(r->h, o, NULL, NULL, O_RDONLY | O_DIRECTORY);
	err = fd < 0 ? fd : obj_of_fd(fd, o, out, &st);
	hfs_obj_put(o);
	return err;
}

/*
 * A node's own O_PATH obj for the file just created as dir/name and open
 * as o: a node outlives its opens, and an open for writing kept for as
 * long as the guest caches the inode would make the host's exec of it fail
 * (ETXTBSY). If the name was replaced meanwhile, o itself serves.
 */
static struct hfs_obj *node_obj(struct fsrv_req *r, struct hfs_obj *dir, const char *name,
				struct hfs_obj *o)
{
	struct hfs_obj *p;
	struct statx st;

	if (hfs_lookup(r->h, dir, name, &p, &st) == 0) {
		if (p->dev == o->dev && p->ino == o->ino)
			return p;
		hfs_obj_put(p);
	}
	return hfs_obj_get(o);
}

int fsrv_op_create(struct fsrv_req *r)
{
	struct fuse_create_in in;
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out = {0};
	struct hfs_obj *dir, *o = NULL;
	const char *name;
	struct statx st;
	bool created = false;
	int hflags, err;

	memcpy(&in, r->arg, sizeof(in));
	hflags = host_flags(in.flags & ~(uint32_t)(O_CREAT | O_EXCL));
	if (hflags < 0)
		return hflags;
	err = fsrv_name_in_dir(r, sizeof(in), &name, &dir);
	if (err)
		return err;
	fsrv_watch_expect(r->s, r->in.nodeid, name, IN_CREATE);
	err = hfs_create(r->h, &r->opts, dir, name, S_IFREG | (in.mode & 07777), hflags,
			 in.flags & O_EXCL, r->in.uid, r->in.gid, &o, &st, &created);
	/* An existing file opened with O_TRUNC, as OPEN above. */
	if (!err && !created && (in.open_flags & FUSE_OPEN_KILL_SUIDGID) && (hflags & O_TRUNC))
		err = fsrv_kill_suidgid(r, o);
	if (err)
		goto out;
	err = fsrv_entry(r, node_obj(r, dir, name, o), &st, &out.e);
	if (!err) {
		err = fsrv_handle_new(r->s, o, out.e.nodeid, hflags, &out.o.fh);
		o = NULL;
		if (err)
			fsrv_node_forget(r->s, out.e.nodeid, 1);
	}
	if (err)
		goto undo;
	fsrv_node_seen(r->s, out.e.nodeid, &st);
	err = fsrv_reply(r, &out, sizeof(out));
	goto out;
undo:
	/* Leave no file behind that the guest was told does not exist. */
	if (created)
		hfs_unmake(dir, name, false);
out:
	hfs_obj_put(o);
	hfs_obj_put(dir);
	return err;
}

int fsrv_op_release(struct fsrv_req *r)
{
	struct fuse_release_in in;

	memcpy(&in, r->arg, sizeof(in));
	return fsrv_handle_release(r->s, in.fh);
}

/* No folder is ever opened (fsrv_op_opendir): there is nothing to release. */
int fsrv_op_releasedir(struct fsrv_req *r)
{
	(void)r;
	return -EBADF;
}

static int sync_fd(int fd, uint32_t fsync_flags)
{
	return ((fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
}

int fsrv_op_fsync(struct fsrv_req *r)
{
	struct fuse_fsync_in in;
	struct fsrv_handle *h;
	int err;

	memcpy(&in, r->arg, sizeof(in));
	h = fsrv_handle_get(r->s, in.fh);
	if (!h)
		return -EBADF;
	err = sync_fd(h->obj->fd, in.fsync_flags);
	fsrv_handle_put(r->s, h);
	return err;
}

/* A folder by its node (there are no folder handles: fsrv_op_opendir). */
int fsrv_op_fsyncdir(struct fsrv_req *r)
{
	struct fuse_fsync_in in;
	struct hfs_obj *dir;
	int err;

	memcpy(&in, r->arg, sizeof(in));
	if (in.fh != 0)
		return -EBADF;
	err = dir_of_node(r, &dir);
	if (err)
		return err;
	err = sync_fd(dir->fd, in.fsync_flags);
	hfs_obj_put(dir);
	return err;
}

/* --- data ---------------------------------------------------------------- */

int fsrv_op_read(struct fsrv_req *r)
{
	struct fuse_read_in in;
	struct iovec v[SLICE];
	struct fsrv_handle *h;
	unsigned n;
	ssize_t got;

	memcpy(&in, r->arg, sizeof(in));
	if (in.size > r->s->cfg.max_write || !off_ok(in.offset, in.size))
		return -EINVAL;
	h = fsrv_handle_get(r->s, in.fh);
	if (!h)
		return -EBADF;
	if ((h->hflags & O_ACCMODE) == O_WRONLY) {
		fsrv_handle_put(r->s, h);
		return -EBADF;
	}
	/* Straight into the guest's buffers; fewer than asked for reads as the file's end. */
	n = fsrv_out_slice(r, 0, in.size, v, SLICE);
	got = n ? preadv(h->obj->fd, v, (int)n, (off_t)in.offset) : 0;
	if (got < 0)
		got = -errno;
	fsrv_handle_put(r->s, h);
	return (int)got;
}

int fsrv_op_write(struct fsrv_req *r)
{
	struct fuse_write_in in;
	struct fuse_write_out out = {0};
	struct iovec v[SLICE];
	struct fsrv_handle *h;
	unsigned n;
	ssize_t done;

	memcpy(&in, r->arg, sizeof(in));
	if (in.size != r->data_len || in.size > r->s->cfg.max_write || !off_ok(in.offset, in.size))
		return -EINVAL;
	h = fsrv_handle_get(r->s, in.fh);
	if (!h)
		return -EBADF;
	if ((h->hflags & O_ACCMODE) == O_RDONLY) {
		fsrv_handle_put(r->s, h);
		return -EBADF;
	}
	n = fsrv_data_slice(r, v, SLICE);
	/* HANDLE_KILLPRIV_V2: a writer without CAP_FSETID drops set-id bits first. */
	done = in.write_flags & FUSE_WRITE_KILL_SUIDGID ? fsrv_kill_suidgid(r, h->obj) : 0;
	if (done == 0 && n) {
		done = pwritev(h->obj->fd, v, (int)n, (off_t)in.offset);
		if (done < 0)
			done = -errno;
	}
	if (done >= 0)
		saw(r, h);
	fsrv_handle_put(r->s, h);
	if (done < 0)
		return (int)done;
	out.size = (uint32_t)done;
	return fsrv_reply(r, &out, sizeof(out));
}

int fsrv_op_lseek(struct fsrv_req *r)
{
	struct fuse_lseek_in in;
	struct fuse_lseek_out out;
	struct fsrv_handle *h;
	off_t pos;

	memcpy(&in, r->arg, sizeof(in));
	/* The kernel answers the other whences itself. */
	if ((in.whence != SEEK_DATA && in.whence != SEEK_HOLE) || in.offset > INT64_MAX)
		return -EINVAL;
	h = fsrv_handle_get(r->s, in.fh);
	if (!h)
		return -EBADF;
	/* The descriptor's position is nobody's: reads and writes give their own. */
	pos = lseek(h->obj->fd, (off_t)in.offset, (int)in.whence);
	out.offset = (uint64_t)pos;
	fsrv_handle_put(r->s, h);
	return pos < 0 ? -errno : fsrv_reply(r, &out, sizeof(out));
}

int fsrv_op_fallocate(struct fsrv_req *r)
{
	struct fuse_fallocate_in in;
	struct fsrv_handle *h;
	int err = 0;

	memcpy(&in, r->arg, sizeof(in));
	/* What the kernel passes on (fuse_file_fallocate's own list). */
	if (in.mode &
	    ~(uint32_t)(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (!off_ok(in.offset, in.length) || in.length == 0)
		return -EINVAL;
	h = fsrv_handle_get(r->s, in.fh);
	if (!h)
		return -EBADF;
	if ((h->hflags & O_ACCMODE) == O_RDONLY)
		err = -EBADF;
	else if (fallocate(h->obj->fd, (int)in.mode, (off_t)in.offset, (off_t)in.length) < 0)
		err = -errno;
	else
		saw(r, h);
	fsrv_handle_put(r->s, h);
	return err;
}

int fsrv_op_copy_file_range(struct fsrv_req *r)
{
	struct fuse_copy_file_range_in in;
	struct fuse_write_out out = {0};
	struct fsrv_handle *hin, *hout;
	loff_t off_in, off_out;
	ssize_t done = -EBADF;
	size_t len;

	memcpy(&in, r->arg, sizeof(in));
	if (in.flags || !off_ok(in.off_in, 0) || !off_ok(in.off_out, 0))
		return -EINVAL;
	/* The reply counts in 32 bits; the guest asks again for the rest. */
	len = in.len < COPY_MAX ? (size_t)in.len : COPY_MAX;
	hin = fsrv_handle_get(r->s, in.fh_in);
	hout = fsrv_handle_get(r->s, in.fh_out);
	if (hin && hout && (hin->hflags & O_ACCMODE) != O_WRONLY &&
	    (hout->hflags & O_ACCMODE) != O_RDONLY && hout->nodeid == in.nodeid_out) {
		off_in = (loff_t)in.off_in;
		off_out = (loff_t)in.off_out;
		done = copy_file_range(hin->obj->fd, &off_in, hout->obj->fd, &off_out, len, 0);
		if (done < 0)
			done = -errno;
		else
			saw(r, hout);
	}
	fsrv_handle_put(r->s, hin);
	fsrv_handle_put(r->s, hout);
	if (done < 0)
		return (int)done;
	out.size = (uint32_t)done;
	return fsrv_reply(r, &out, sizeof(out));
}

/* --- folders -------------------------------------------------------------- */

static bool dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0));
}

/*
 * One READDIR or READDIRPLUS: the folder node's getdents64 records from
 * the offset the guest names (the host's own cookie), as many whole entries
 * as fit its size. For READDIRPLUS each entry
 * but "." and ".." is looked up and counts one lookup of its node, as a
 * LOOKUP would (the kernel FORGETs it later); an entry gone since the
 * listing was read is skipped.
 */
static int readdir_common(struct fsrv_req *r, bool plus)
{
	struct fuse_read_in in;
	struct hfs_obj *dir;
	uint8_t *buf = NULL; /* getdents64 records not yet sent: [pos, len) */
	size_t size, used = 0, pos = 0, len = 0;
	int err = 0;

	memcpy(&in, r->arg, sizeof(in));
	if (in.offset > INT64_MAX)
		return -EINVAL;
	size = in.size < r->s->cfg.max_write ? in.size : r->s->cfg.max_write;
	if (size > r->room)
		size = r->room;
	/* The folder node itself, opened for this request (fsrv_op_opendir says why). */
	if (in.fh != 0)
		return -EBADF;
	err = dir_of_node(r, &dir);
	if (err)
		return err;
	if (!(buf = malloc(DIRBUF))) {
		err = -ENOMEM;
		goto out;
	}
	if (lseek(dir->fd, (off_t)in.offset, SEEK_SET) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		/* One record: a fuse_direntplus's entry_out (READDIRPLUS), then a fuse_dirent. */
		union {
			uint64_t align;
			uint8_t b[FUSE_NAME_OFFSET_DIRENTPLUS + NAME_MAX + 8];
		} rec;
		struct fuse_entry_out *e = (struct fuse_entry_out *)rec.b;
		struct fuse_dirent *d = (struct fuse_dirent *)(rec.b + (plus ? sizeof(*e) : 0));
		struct dirent64 *de;
		size_t namelen, need;

		if (pos >= len) {
			long n = syscall(SYS_getdents64, dir->fd, buf, DIRBUF);

			if (n <= 0) {
				if (n < 0 && !used)
					err = -errno;
				break;
			}
			pos = 0;
			len = (size_t)n;
		}
		de = (struct dirent64 *)(buf + pos);
		if (de->d_reclen < offsetof(struct dirent64, d_name) || de->d_reclen > len - pos) {
			err = used ? 0 : -EIO; /* not what the kernel gives: parse no further */
			break;
		}
		namelen = strnlen(de->d_name, de->d_reclen - offsetof(struct dirent64, d_name));
		need =
		    FUSE_DIRENT_ALIGN((size_t)((uint8_t *)d - rec.b) + FUSE_NAME_OFFSET + namelen);
		if (namelen == 0 || namelen > NAME_MAX) {
			pos += de->d_reclen; /* no such name on Linux: not passed on */
			continue;
		}
		if (need > size - used) {
			if (!used)
				err = -EINVAL; /* not even one entry fits */
			break;
		}
		/* All of it: the name's NUL for hfs_lookup may lie past the record's padding. */
		memset(&rec, 0, sizeof(rec));
		memcpy(d->name, de->d_name, namelen);
		d->ino = hfs_ino(r->h, dir->dev, de->d_ino);
		d->off = (uint64_t)de->d_off;
		d->namelen = (uint32_t)namelen;
		d->type = de->d_type;
		if (plus && !dot_or_dotdot(d->name)) {
			struct hfs_obj *o;
			struct statx st;
			int found = hfs_lookup(r->h, dir, d->name, &o, &st);

			if (found == -ENOENT) { /* gone since the listing was read */
				pos += de->d_reclen;
				continue;
			}
			/*
			 * Else the name alone (nodeid 0) when it cannot be entered
			 * (refused, past the node or descriptor limits), as READDIR
			 * would list it: a LOOKUP then tells the guest why.
			 */
			if (found == 0) {
				d->ino = hfs_ino(r->h, makedev(st.stx_dev_major, st.stx_dev_minor),
						 st.stx_ino);
				d->type = (st.stx_mode & S_IFMT) >> 12;
				if (fsrv_entry(r, o, &st, e) < 0)
					memset(e, 0, sizeof(*e));
			}
		}
		fsrv_put(r, used, rec.b, need);
		used += need;
		pos += de->d_reclen;
	}
out:
	free(buf);
	hfs_obj_put(dir);
	return err ? err : (int)used;
}

int fsrv_op_readdir(struct fsrv_req *r)
{
	return readdir_common(r, false);
}

int fsrv_op_readdirplus(struct fsrv_req *r)
{
	return readdir_common(r, true);
}
