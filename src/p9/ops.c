/*
 * ops.c - the 9P2000.L operations on a decoded request.
 *
 * Each handler checks what the decoder could not (fids exist and are in the
 * right state, names are single components, numbers fit the host types),
 * reaches the host only through src/hostfs (what it makes, too) and the
 * descriptors of its objs, and encodes the reply or returns -errno for
 * Rlerror. A handler holds a fid's lock only around the fid's own state;
 * reads, writes and directory scans of one fid may therefore run alongside
 * anything on another.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "p9/internal.h"

#define XATTR_MAX (64u << 10) /* the kernel's XATTR_SIZE_MAX and XATTR_LIST_MAX */
#define DIRBUF    (32u << 10)

struct req {
	struct p9_conn *c;
	struct hostfs *h; /* the server's share */
	const struct p9_msg *m;
	struct p9_wbuf *w;
	struct p9_bulk *bulk; /* a read's or write's data in the transport's buffers (p9.h) */
};

/* --- argument checks ------------------------------------------------------ */

/*
 * The iounit of Rlopen/Rlcreate: the largest run of whole pages a read or
 * write reply can carry (as QEMU answers), so that Linux splits large I/O at
 * page boundaries and each zero-copy request fills whole page-cache pages
 * rather than straddling two at each end (in the rig, no difference in read
 * speed beyond its noise). 0 (the client's msize decides) when msize is
 * below one page.
 */
static uint32_t iounit(const struct req *r)
{
	uint32_t m = p9_conn_msize(r->c);

	return m > P9_IOHDRSZ ? (m - P9_IOHDRSZ) / 4096 * 4096 : 0;
}

/* A single path component the guest may create or name (hfs_name_ok's rules). */
static int take_name(const struct p9_str *in, char out[NAME_MAX + 1])
{
	int err = hfs_name_ok(in->s, in->len);

	if (err)
		return err;
	memcpy(out, in->s, in->len);
	out[in->len] = '\0';
	return 0;
}

/* Any other string that ends up in a system call: no NULs, bounded. */
static int take_str(const struct p9_str *in, char *out, size_t size)
{
	if (in->len >= size)
		return -ENAMETOOLONG;
	if (memchr(in->s, '\0', in->len))
		return -EINVAL;
	memcpy(out, in->s, in->len);
	out[in->len] = '\0';
	return 0;
}

static int take_xattr_name(const struct p9_str *in, char out[XATTR_NAME_MAX + 1])
{
	int err = take_str(in, out, XATTR_NAME_MAX + 1);

	if (!err && !out[0])
		err = -EINVAL;
	return err;
}

static bool off_ok(uint64_t off)
{
	return off <= INT64_MAX;
}

/* --- fid helpers ---------------------------------------------------------- */

static struct p9_fid *fid(struct req *r, uint32_t id)
{
	return p9_fid_get(r->c, id);
}

static void put(struct req *r, struct p9_fid *f)
{
	p9_fid_put(r->c, f);
}

/* The directory a create-like request works in; takes a reference. */
static int dir_of(struct req *r, uint32_t id, struct hfs_obj **dir)
{
	struct p9_fid *f = fid(r, id);
	int err = 0;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	if (f->kind == FID_XREAD || f->kind == FID_XWRITE)
		err = -EBADF;
	else if (!S_ISDIR(f->obj->type))
		err = -ENOTDIR;
	else
		*dir = hfs_obj_get(f->obj);
	pthread_mutex_unlock(&f->lock);
	put(r, f);
	return err;
}

/* The open descriptor of an open fid, usable while the caller holds f. */
static int open_fd(struct p9_fid *f, int *fd, int *oflags)
{
	int err = 0;

	pthread_mutex_lock(&f->lock);
	if (f->kind != FID_OPEN) {
		err = -EBADF;
	} else {
		*fd = f->fd;
		if (oflags)
			*oflags = f->oflags;
	}
	pthread_mutex_unlock(&f->lock);
	return err;
}

/* A file's qid: its type, a version that changes with it, its inode number. */
static void qid_of(struct req *r, const struct statx *st, struct p9_qid *q)
{
	if (S_ISDIR(st->stx_mode))
		q->type = P9_QTDIR;
	else if (S_ISLNK(st->stx_mode))
		q->type = P9_QTSYMLINK;
	else
		q->type = P9_QTFILE;
	/* Changes when the file does, as the Linux client's caches expect. */
	q->version = (uint32_t)((uint64_t)st->stx_mtime.tv_sec ^ (st->stx_size << 8));
	q->path = hfs_ino(r->h, makedev(st->stx_dev_major, st->stx_dev_minor), st->stx_ino);
}

static void reply_qid(struct req *r, const struct statx *st)
{
	struct p9_qid q;

	qid_of(r, st, &q);
	p9w_qid(r->w, &q);
}

/* Host open flags for Tlopen/Tlcreate's; -EINVAL for NOACCESS. */
static int host_flags(uint32_t f)
{
	int h;

	switch (f & P9_DOTL_ACCMODE) {
	case P9_DOTL_RDONLY:
		h = O_RDONLY;
		break;
	case P9_DOTL_WRONLY:
		h = O_WRONLY;
		break;
	case P9_DOTL_RDWR:
		h = O_RDWR;
		break;
	default:
		return -EINVAL;
	}
	/*
	 * Only flags that mean something for a file the server reads and
	 * writes at explicit offsets. O_DIRECT is dropped: the transport's
	 * buffers have no alignment guarantee. O_NOATIME would fail for
	 * files the host user does not own.
	 */
	if (f & P9_DOTL_TRUNC)
		h |= O_TRUNC;
	if (f & P9_DOTL_APPEND)
		h |= O_APPEND;
	if (f & P9_DOTL_SYNC)
		h |= O_SYNC;
	else if (f & P9_DOTL_DSYNC)
		h |= O_DSYNC;
	return h;
}

/* --- session ------------------------------------------------------------- */

/*
 * An aname names DrvFs options for this connection (p9.h), with ':' or ','
 * between them (hfs_opts_parse takes either: a mount option string cannot
 * carry commas). The first attach that names some sets them, before any fid
 * exists; a later one must name the same.
 */
static int attach_opts(struct p9_conn *c, const struct p9_str *aname)
{
	char buf[256];
	struct hfs_opts o = c->srv->opts;
	int err = 0;

	if (aname->len >= sizeof(buf) || memchr(aname->s, 0, aname->len))
		return -EINVAL;
	memcpy(buf, aname->s, aname->len);
	buf[aname->len] = 0;
	if (hfs_opts_parse(&o, buf) < 0)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (!c->opts_from_attach && c->nfids == 0) {
		c->opts = o;
		c->opts_from_attach = true;
	} else if (!c->opts_from_attach || o.uid != c->opts.uid || o.gid != c->opts.gid ||
		   o.umask != c->opts.umask || o.fmask != c->opts.fmask ||
		   o.dmask != c->opts.dmask || o.metadata != c->opts.metadata) {
		err = -EINVAL;
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

static int op_attach(struct req *r)
{
	const struct p9_msg *m = r->m;
	uint32_t uid = m->u.attach.n_uname;
	struct p9_fid *f;
	struct statx st;
	int err;

	if (m->u.attach.afid != P9_NOFID)
		return -EBADF; /* no Tauth ever succeeds, so no afid is valid */
	if (m->u.attach.aname.len && (err = attach_opts(r->c, &m->u.attach.aname)) < 0)
		return err;
	if (uid == P9_NONUNAME)
		uid = r->c->opts.uid;
	err = hfs_stat(r->h->root, &st);
	if (err)
		return err;
	f = p9_fid_new(m->u.attach.fid, uid);
	if (!f)
		return -ENOMEM;
	f->obj = hfs_obj_get(r->h->root);
	err = p9_fid_add(r->c, f);
	if (err) {
		put(r, f);
		return err;
	}
	reply_qid(r, &st);
	return 0;
}

/* --- walk ----------------------------------------------------------------- */

static int op_walk(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct hfs_obj *cur, *parent = NULL, *next;
	struct p9_qid qids[P9_MAXWELEM];
	char *last = NULL;
	struct p9_fid *f, *nf = NULL, *other;
	unsigned n = 0;
	int err = 0;

	f = fid(r, m->u.walk.fid);
	if (!f)
		return -EBADF;
	if (m->u.walk.newfid != m->u.walk.fid) {
		other = fid(r, m->u.walk.newfid);
		if (other) {
			put(r, other);
			put(r, f);
			return -EEXIST;
		}
	}
	pthread_mutex_lock(&f->lock);
	if (f->kind == FID_XREAD || f->kind == FID_XWRITE) {
		pthread_mutex_unlock(&f->lock);
		put(r, f);
		return -EBADF;
	}
	cur = hfs_obj_get(f->obj);
	if (m->u.walk.nwname == 0) {
		/* A clone names the same thing in the same place. */
		parent = hfs_obj_get(f->dir);
		last = f->name ? strdup(f->name) : NULL;
		if (f->name && !last)
			err = -ENOMEM;
	}
	pthread_mutex_unlock(&f->lock);

	for (unsigned i = 0; i < m->u.walk.nwname && !err; i++) {
		const struct p9_str *wn = &m->u.walk.wname[i];
		char name[NAME_MAX + 1];
		struct statx st;
		int e;

		if (wn->len == 2 && !memcmp(wn->s, "..", 2)) {
			e = hfs_parent(r->h, cur, &next, &st);
			if (!e) {
				/* Where ".." leads has no name we know. */
				hfs_obj_put(parent);
				parent = NULL;
				free(last);
				last = NULL;
			}
		} else {
			e = take_name(wn, name);
			if (!e)
				e = hfs_lookup(r->h, cur, name, &next, &st);
			if (!e) {
				char *dup = strdup(name);

				if (!dup) {
					hfs_obj_put(next);
					e = -ENOMEM;
				} else {
					free(last);
					last = dup;
					hfs_obj_put(parent);
					parent = hfs_obj_get(cur);
				}
			}
		}
		if (e) {
			/* The first step's error is the reply; later ones end the walk. */
			if (i == 0)
				err = e;
			break;
		}
		qid_of(r, &st, &qids[n++]);
		hfs_obj_put(cur);
		cur = next;
	}
	if (err || n < m->u.walk.nwname)
		goto out;

	nf = p9_fid_new(m->u.walk.newfid, f->uid);
	if (!nf) {
		err = -ENOMEM;
		goto out;
	}
	nf->obj = cur;
	nf->dir = parent;
	nf->name = last;
	cur = parent = NULL;
	last = NULL;
	if (m->u.walk.newfid == m->u.walk.fid)
		err = p9_fid_replace(r->c, f, nf);
	else
		err = p9_fid_add(r->c, nf);
	if (err)
		put(r, nf);
out:
	hfs_obj_put(cur);
	hfs_obj_put(parent);
	free(last);
	put(r, f);
	if (err)
		return err;
	p9w_u16(r->w, (uint16_t)n);
	for (unsigned i = 0; i < n; i++)
		p9w_qid(r->w, &qids[i]);
	return 0;
}

/* --- attributes ----------------------------------------------------------- */

static int op_getattr(struct req *r)
{
	struct p9_fid *f = fid(r, r->m->u.getattr.fid);
	struct hfs_meta meta;
	struct statx st;
	uint64_t valid = P9_GETATTR_BASIC;
	int err;

	if (!f)
		return -EBADF;
	err = hfs_stat(f->obj, &st);
	if (!err)
		hfs_meta_get(r->h, &r->c->opts, f->obj, &st, &meta);
	put(r, f);
	if (err)
		return err;
	if (st.stx_mask & STATX_BTIME)
		valid |= P9_GETATTR_BTIME;
	p9w_u64(r->w, valid);
	reply_qid(r, &st);
	p9w_u32(r->w, meta.mode);
	p9w_u32(r->w, meta.uid);
	p9w_u32(r->w, meta.gid);
	p9w_u64(r->w, st.stx_nlink);
	p9w_u64(r->w, makedev(meta.rdev_major, meta.rdev_minor));
	p9w_u64(r->w, st.stx_size);
	p9w_u64(r->w, st.stx_blksize);
	p9w_u64(r->w, st.stx_blocks);
	p9w_u64(r->w, (uint64_t)st.stx_atime.tv_sec);
	p9w_u64(r->w, st.stx_atime.tv_nsec);
	p9w_u64(r->w, (uint64_t)st.stx_mtime.tv_sec);
	p9w_u64(r->w, st.stx_mtime.tv_nsec);
	p9w_u64(r->w, (uint64_t)st.stx_ctime.tv_sec);
	p9w_u64(r->w, st.stx_ctime.tv_nsec);
	p9w_u64(r->w, (st.stx_mask & STATX_BTIME) ? (uint64_t)st.stx_btime.tv_sec : 0);
	p9w_u64(r->w, (st.stx_mask & STATX_BTIME) ? st.stx_btime.tv_nsec : 0);
	p9w_u64(r->w, 0); /* gen */
	p9w_u64(r->w, 0); /* data_version */
	return 0;
}

static int set_time(uint32_t valid, uint32_t is, uint32_t set, uint64_t sec, uint64_t nsec,
		    struct timespec *ts)
{
	if (!(valid & is)) {
		ts->tv_nsec = UTIME_OMIT;
	} else if (!(valid & set)) {
		ts->tv_nsec = UTIME_NOW;
	} else {
		if (nsec >= 1000000000u)
			return -EINVAL;
		ts->tv_sec = (time_t)(int64_t)sec;
		ts->tv_nsec = (long)nsec;
	}
	return 0;
}

static int truncate_fid(struct req *r, struct p9_fid *f, uint64_t size)
{
	int fd = -1, oflags = 0, err;
	bool mine = false;

	if (!off_ok(size))
		return -EINVAL;
	if (S_ISDIR(f->obj->type))
		return -EISDIR;
	if (!S_ISREG(f->obj->type))
		return -EINVAL;
	/* An fid opened for writing may truncate even if the mode now forbids it. */
	if (open_fd(f, &fd, &oflags) || (oflags & O_ACCMODE) == O_RDONLY) {
		pthread_mutex_lock(&f->lock);
		fd = hfs_reopen(r->h, f->obj, f->dir, f->name, O_WRONLY);
		pthread_mutex_unlock(&f->lock);
		if (fd < 0)
			return fd;
		mine = true;
	}
	err = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	if (mine)
		close(fd);
	return err;
}

static int op_setattr(struct req *r)
{
	const struct p9_msg *m = r->m;
	uint32_t valid = m->u.setattr.valid;
	struct p9_fid *f = fid(r, m->u.setattr.fid);
	struct timespec ts[2];
	struct statx st;
	int err = 0;

	if (!f)
		return -EBADF;
	if (valid & (P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID)) {
		err = hfs_stat(f->obj, &st);
		if (!err)
			err =
			    hfs_meta_set(r->h, &r->c->opts, f->obj, &st,
					 valid & P9_SETATTR_MODE ? (int64_t)m->u.setattr.mode : -1,
					 valid & P9_SETATTR_UID ? (int64_t)m->u.setattr.uid : -1,
					 valid & P9_SETATTR_GID ? (int64_t)m->u.setattr.gid : -1);
	}
	if (!err && (valid & P9_SETATTR_SIZE))
		err = truncate_fid(r, f, m->u.setattr.size);
	if (!err && (valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME))) {
		err = set_time(valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET,
			       m->u.setattr.atime_sec, m->u.setattr.atime_nsec, &ts[0]);
		if (!err)
			err = set_time(valid, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET,
				       m->u.setattr.mtime_sec, m->u.setattr.mtime_nsec, &ts[1]);
		if (!err && utimensat(f->obj->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			err = -errno;
	}
	/* A ctime-only request needs nothing: any change above already set it. */
	put(r, f);
	return err;
}

static int op_statfs(struct req *r)
{
	struct p9_fid *f = fid(r, r->m->u.fid.fid);
	struct statfs sf;
	uint64_t fsid;
	int err = 0;

	if (!f)
		return -EBADF;
	if (fstatfs(f->obj->fd, &sf) < 0)
		err = -errno;
	put(r, f);
	if (err)
		return err;
	memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
	p9w_u32(r->w, (uint32_t)sf.f_type);
	p9w_u32(r->w, (uint32_t)sf.f_bsize);
	p9w_u64(r->w, sf.f_blocks);
	p9w_u64(r->w, sf.f_bfree);
	p9w_u64(r->w, sf.f_bavail);
	p9w_u64(r->w, sf.f_files);
	p9w_u64(r->w, sf.f_ffree);
	p9w_u64(r->w, fsid);
	p9w_u32(r->w, (uint32_t)sf.f_namelen);
	return 0;
}

/* --- open, read, write ----------------------------------------------------- */

/*
 * Make fd (taken) f's open descriptor and the descriptor of its obj too: an
 * open descriptor does all an O_PATH one does here (statx, *at() calls,
 * /proc/self/fd reopens), so an open fid holds one host descriptor, not
 * two. f->lock held.
 */
static int open_obj(struct req *r, struct p9_fid *f, int fd, int hflags)
{
	struct hfs_obj *o;
	struct statx st;
	int err = 0;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	o = hfs_obj_new(fd, &st);
	if (!o)
		return -ENOMEM;
	o->on_proc = f->obj->on_proc;
	pthread_mutex_lock(&r->c->lock);
	if (f->obj->charged == &r->c->budget && atomic_load(&f->obj->refs) == 1) {
		/*
		 * f alone holds the old one (and f->lock keeps it so): it goes
		 * below, so its count passes on and a fid at the budget can open.
		 */
		f->obj->charged = NULL;
		o->charged = &r->c->budget;
	} else {
		err = hfs_charge(r->h, &r->c->budget, o);
	}
	pthread_mutex_unlock(&r->c->lock);
	if (err) {
		hfs_obj_put(o);
		return err;
	}
	hfs_obj_put(f->obj);
	f->obj = o;
	f->kind = FID_OPEN;
	f->fd = o->fd;
	f->oflags = hflags;
	return 0;
}

static int op_lopen(struct req *r)
{
	uint32_t flags = r->m->u.lopen.flags;
	struct p9_fid *f = fid(r, r->m->u.lopen.fid);
	struct statx st;
	int hflags, fd, err = 0;

	if (!f)
		return -EBADF;
	hflags = host_flags(flags);
	pthread_mutex_lock(&f->lock);
	if (f->kind != FID_PATH)
		err = -EBADF; /* already open, or an xattr fid */
	else if (hflags < 0)
		err = hflags;
	else if (S_ISDIR(f->obj->type) && (hflags & (O_ACCMODE | O_TRUNC)) != O_RDONLY)
		err = -EISDIR;
	else if (!S_ISDIR(f->obj->type) && (flags & P9_DOTL_DIRECTORY))
		err = -ENOTDIR;
	if (!err) {
		if (S_ISDIR(f->obj->type))
			hflags = O_RDONLY;
		fd = hfs_reopen(r->h, f->obj, f->dir, f->name, hflags);
		if (fd < 0)
			err = fd;
		else
			err = open_obj(r, f, fd, hflags);
	}
	pthread_mutex_unlock(&f->lock);
	if (!err)
		err = hfs_stat(f->obj, &st);
	put(r, f);
	if (err)
		return err;
	reply_qid(r, &st);
	p9w_u32(r->w, iounit(r));
	return 0;
}

static int op_lcreate(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct p9_fid *f = fid(r, m->u.lcreate.fid), *nf = NULL;
	char name[NAME_MAX + 1];
	struct hfs_obj *dir = NULL, *o = NULL;
	struct statx st;
	int hflags, err;
	bool created = false;

	if (!f)
		return -EBADF;
	err = take_name(&m->u.lcreate.name, name);
	hflags = host_flags(m->u.lcreate.flags);
	if (!err && hflags < 0)
		err = hflags;
	if (err)
		goto out;
	pthread_mutex_lock(&f->lock);
	if (f->kind != FID_PATH)
		err = -EBADF;
	else if (!S_ISDIR(f->obj->type))
		err = -ENOTDIR;
	else
		dir = hfs_obj_get(f->obj);
	pthread_mutex_unlock(&f->lock);
	if (err)
		goto out;

	/* The obj holds the open descriptor, as after a Tlopen (open_obj). */
	err = hfs_create(r->h, &r->c->opts, dir, name, m->u.lcreate.mode, hflags,
			 m->u.lcreate.flags & P9_DOTL_EXCL, f->uid, m->u.lcreate.gid, &o, &st,
			 &created);
	if (err)
		goto out;
	nf = p9_fid_new(f->id, f->uid);
	if (!nf || !(nf->name = strdup(name))) {
		err = -ENOMEM;
		goto undo;
	}
	nf->obj = o;
	nf->dir = dir;
	nf->kind = FID_OPEN;
	nf->fd = o->fd;
	nf->oflags = hflags;
	o = dir = NULL;
	err = p9_fid_replace(r->c, f, nf);
	if (err) {
		if (created) /* e.g. past the descriptor budget */
			hfs_unmake(nf->dir, name, false);
		put(r, nf);
		goto out;
	}
	reply_qid(r, &st);
	p9w_u32(r->w, iounit(r));
	goto out;
undo:
	/* Do not leave behind a file the guest was told does not exist. */
	if (created)
		hfs_unmake(dir, name, false);
	if (nf)
		put(r, nf);
out:
	hfs_obj_put(o);
	hfs_obj_put(dir);
	put(r, f);
	return err;
}

/* At most BULK_IOV of the bulk's buffers, cut to count bytes; how many. */
#define BULK_IOV 256
static int bulk_clip(const struct p9_bulk *k, size_t count, struct iovec v[static BULK_IOV])
{
	int n = 0;

	for (int i = 0; i < k->iovcnt && n < BULK_IOV && count; i++) {
		size_t len = k->iov[i].iov_len < count ? k->iov[i].iov_len : count;

		if (!len)
			continue;
		v[n].iov_base = k->iov[i].iov_base;
		v[n++].iov_len = len;
		count -= len;
	}
	return n;
}

/* Read up to count bytes at off into the bulk's buffers; the bytes read, or -errno. */
static ssize_t bulk_read(struct p9_bulk *k, int fd, size_t count, uint64_t off)
{
	struct iovec v[BULK_IOV];
	int n = bulk_clip(k, count, v);
	/* Fewer buffers than count needs: a short read, which 9P allows. */
	ssize_t got = n ? preadv(fd, v, n, (off_t)off) : 0;

	if (got < 0)
		return -errno;
	k->got = (size_t)got;
	return got;
}

/*
 * Write count bytes at off from the bulk's buffers (a Twrite split at its
 * data, p9_decode_split() having checked count against them); the bytes
 * written (short if they are more than BULK_IOV buffers), or -errno.
 */
static ssize_t bulk_write(const struct p9_bulk *k, int fd, size_t count, uint64_t off)
{
	struct iovec v[BULK_IOV];
	int n = bulk_clip(k, count, v);
	ssize_t done = n ? pwritev(fd, v, n, (off_t)off) : 0;

	return done < 0 ? -errno : done;
}

/* Copy count bytes of the bulk's buffers to dst (an xattr being written). */
static void bulk_copy(const struct p9_bulk *k, uint8_t *dst, size_t count)
{
	for (int i = 0; i < k->iovcnt && count; i++) {
		size_t len = k->iov[i].iov_len < count ? k->iov[i].iov_len : count;

		memcpy(dst, k->iov[i].iov_base, len);
		dst += len;
		count -= len;
	}
}

static int op_read(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct p9_fid *f = fid(r, m->u.read.fid);
	size_t room, count = m->u.read.count;
	uint8_t *cnt, *data = NULL;
	ssize_t n = 0;
	int err = 0;

	if (!f)
		return -EBADF;
	if (!off_ok(m->u.read.offset)) {
		err = -EINVAL;
		goto out;
	}
	/* The wbuf's capacity is at most msize: so is the reply, data in bulk or not. */
	room = p9w_room(r->w);
	if (room < 4) {
		err = -EMSGSIZE;
		goto out;
	}
	if (count > room - 4)
		count = room - 4;
	cnt = p9w_reserve(r->w, 4);

	pthread_mutex_lock(&f->lock);
	if (f->kind == FID_XREAD) {
		/* A snapshot taken at xattrwalk; reads are slices of it. */
		data = p9w_reserve(r->w, count);
		if (m->u.read.offset < f->xlen) {
			n = (ssize_t)(f->xlen - m->u.read.offset);
			if ((size_t)n > count)
				n = (ssize_t)count;
			memcpy(data, f->xbuf + m->u.read.offset, (size_t)n);
		}
		pthread_mutex_unlock(&f->lock);
	} else if (f->kind == FID_OPEN) {
		int fd = f->fd, acc = f->oflags & O_ACCMODE;
		bool isdir = S_ISDIR(f->obj->type);

		pthread_mutex_unlock(&f->lock);
		if (isdir) {
			err = -EISDIR;
		} else if (acc == O_WRONLY) {
			err = -EBADF;
		} else if (r->bulk && r->bulk->iovcnt) {
			/* Straight into the transport's buffers: no copy through ours. */
			if ((n = bulk_read(r->bulk, fd, count, m->u.read.offset)) < 0)
				err = (int)n;
		} else {
			data = p9w_reserve(r->w, count);
			if ((n = pread(fd, data, count, (off_t)m->u.read.offset)) < 0)
				err = -errno;
		}
	} else {
		pthread_mutex_unlock(&f->lock);
		err = -EBADF;
	}
	if (!err) {
		p9_put32(cnt, (uint32_t)n);
		if (data)
			r->w->off -= count - (size_t)n; /* give back what was not read */
	}
out:
	put(r, f);
	return err;
}

static int op_write(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct p9_fid *f = fid(r, m->u.write.fid);
	uint64_t off = m->u.write.offset;
	size_t count = m->u.write.count;
	/* NULL: the data is in the bulk's buffers (a split Twrite). */
	const uint8_t *data = m->u.write.data;
	ssize_t n = 0;
	int err = 0;

	if (!f)
		return -EBADF;
	if (!data && !r->bulk) {
		err = -EPROTO;
		goto out;
	}
	if (!off_ok(off)) {
		err = -EINVAL;
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	if (f->kind == FID_XWRITE) {
		if (off > f->xsize || count > f->xsize - off) {
			err = -ENOSPC;
		} else {
			if (data)
				memcpy(f->xbuf + off, data, count);
			else
				bulk_copy(r->bulk, f->xbuf + off, count);
			if (off + count > f->xlen)
				f->xlen = off + count;
			n = (ssize_t)count;
		}
		pthread_mutex_unlock(&f->lock);
	} else if (f->kind == FID_OPEN) {
		int fd = f->fd, acc = f->oflags & O_ACCMODE;

		pthread_mutex_unlock(&f->lock);
		if (acc == O_RDONLY)
			err = -EBADF;
		else if (!data)
			err = (n = bulk_write(r->bulk, fd, count, off)) < 0 ? (int)n : 0;
		else if ((n = pwrite(fd, data, count, (off_t)off)) < 0)
			err = -errno;
	} else {
		pthread_mutex_unlock(&f->lock);
		err = -EBADF;
	}
	if (!err)
		p9w_u32(r->w, (uint32_t)n);
out:
	put(r, f);
	return err;
}

static int op_fsync(struct req *r)
{
	struct p9_fid *f = fid(r, r->m->u.fsync.fid);
	int fd, err;

	if (!f)
		return -EBADF;
	err = open_fd(f, &fd, NULL);
	if (!err && (r->m->u.fsync.datasync ? fdatasync(fd) : fsync(fd)) < 0)
		err = -errno;
	put(r, f);
	return err;
}

/* --- directories ---------------------------------------------------------- */

static uint8_t dtype_qid(uint8_t t)
{
	return t == DT_DIR ? P9_QTDIR : t == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
}

static int op_readdir(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct p9_fid *f = fid(r, m->u.readdir.fid);
	size_t room, count = m->u.readdir.count, used = 0;
	uint8_t *cnt;
	int err = 0;
	bool full = false;

	if (!f)
		return -EBADF;
	if (!off_ok(m->u.readdir.offset)) {
		put(r, f);
		return -EINVAL;
	}
	room = p9w_room(r->w);
	if (room < 4) {
		put(r, f);
		return -EMSGSIZE;
	}
	if (count > room - 4)
		count = room - 4;
	cnt = p9w_reserve(r->w, 4);

	/* One reader per directory fid at a time: the position is shared. */
	pthread_mutex_lock(&f->lock);
	if (f->kind != FID_OPEN || !S_ISDIR(f->obj->type)) {
		err = f->kind == FID_OPEN ? -ENOTDIR : -EBADF;
		goto unlock;
	}
	if (!f->dbuf && !(f->dbuf = malloc(DIRBUF))) {
		err = -ENOMEM;
		goto unlock;
	}
	if (!f->dvalid || m->u.readdir.offset != f->dnext) {
		/* Offsets are the file system's own cookies: seek is all it takes. */
		if (lseek(f->fd, (off_t)m->u.readdir.offset, SEEK_SET) < 0) {
			err = -errno;
			f->dvalid = false;
			goto unlock;
		}
		f->dpos = f->dlen = 0;
		f->dnext = m->u.readdir.offset;
		f->dvalid = true;
	}
	while (!full) {
		struct dirent64 *d;
		size_t namelen, need;
		struct p9_qid q;

		if (f->dpos >= f->dlen) {
			long n = syscall(SYS_getdents64, f->fd, f->dbuf, DIRBUF);

			if (n < 0) {
				if (!used)
					err = -errno;
				f->dvalid = false;
				break;
			}
			if (n == 0)
				break;
			f->dpos = 0;
			f->dlen = (size_t)n;
		}
		d = (struct dirent64 *)(f->dbuf + f->dpos);
		if (d->d_reclen < offsetof(struct dirent64, d_name) ||
		    d->d_reclen > f->dlen - f->dpos) {
			err = -EIO; /* not what the kernel gives; refuse to parse further */
			f->dvalid = false;
			break;
		}
		namelen = strnlen(d->d_name, d->d_reclen - offsetof(struct dirent64, d_name));
		need = P9_QIDSZ + 8 + 1 + 2 + namelen;
		if (need > count - used) {
			if (!used)
				err = -EINVAL; /* not even one entry fits */
			full = true;
			break;
		}
		q.type = dtype_qid(d->d_type);
		q.version = 0;
		q.path = hfs_ino(r->h, f->obj->dev, d->d_ino);
		p9w_qid(r->w, &q);
		p9w_u64(r->w, (uint64_t)d->d_off);
		p9w_u8(r->w, d->d_type);
		p9w_str(r->w, d->d_name, namelen);
		used += need;
		f->dpos += d->d_reclen;
		f->dnext = (uint64_t)d->d_off;
	}
unlock:
	pthread_mutex_unlock(&f->lock);
	put(r, f);
	if (!err)
		p9_put32(cnt, (uint32_t)used);
	return err;
}

static uint32_t fid_uid(struct req *r, uint32_t id)
{
	struct p9_fid *f = fid(r, id);
	uint32_t uid = r->c->opts.uid;

	if (f) {
		uid = f->uid;
		put(r, f);
	}
	return uid;
}

static int op_mkdir(struct req *r)
{
	const struct p9_msg *m = r->m;
	char name[NAME_MAX + 1];
	struct hfs_obj *dir;
	struct statx st;
	int err;

	err = take_name(&m->u.mkdir.name, name);
	if (!err)
		err = dir_of(r, m->u.mkdir.dfid, &dir);
	if (err)
		return err;
	err = hfs_mkdir(r->h, &r->c->opts, dir, name, m->u.mkdir.mode, fid_uid(r, m->u.mkdir.dfid),
			m->u.mkdir.gid, NULL, &st);
	hfs_obj_put(dir);
	if (!err)
		reply_qid(r, &st);
	return err;
}

static int op_mknod(struct req *r)
{
	const struct p9_msg *m = r->m;
	char name[NAME_MAX + 1];
	struct hfs_obj *dir;
	struct statx st;
	int err;

	err = take_name(&m->u.mknod.name, name);
	if (!err)
		err = dir_of(r, m->u.mknod.dfid, &dir);
	if (err)
		return err;
	err = hfs_mknod(r->h, &r->c->opts, dir, name, m->u.mknod.mode, m->u.mknod.major,
			m->u.mknod.minor, fid_uid(r, m->u.mknod.dfid), m->u.mknod.gid, NULL, &st);
	hfs_obj_put(dir);
	if (!err)
		reply_qid(r, &st);
	return err;
}

static int op_symlink(struct req *r)
{
	const struct p9_msg *m = r->m;
	char name[NAME_MAX + 1], *target;
	struct hfs_obj *dir;
	struct statx st;
	int err;

	target = malloc(PATH_MAX);
	if (!target)
		return -ENOMEM;
	err = take_name(&m->u.symlink.name, name);
	if (!err)
		err = take_str(&m->u.symlink.target, target, PATH_MAX);
	if (!err)
		err = dir_of(r, m->u.symlink.fid, &dir);
	if (err)
		goto out;
	err = hfs_symlink(r->h, &r->c->opts, dir, name, target, fid_uid(r, m->u.symlink.fid),
			  m->u.symlink.gid, NULL, &st);
	hfs_obj_put(dir);
	if (!err)
		reply_qid(r, &st);
out:
	free(target);
	return err;
}

static int op_readlink(struct req *r)
{
	struct p9_fid *f = fid(r, r->m->u.fid.fid);
	char *buf;
	ssize_t n;
	int err = 0;

	if (!f)
		return -EBADF;
	buf = malloc(PATH_MAX);
	if (!buf) {
		put(r, f);
		return -ENOMEM;
	}
	if (!S_ISLNK(f->obj->type))
		err = -EINVAL;
	else if ((n = readlinkat(f->obj->fd, "", buf, PATH_MAX)) < 0)
		err = -errno;
	else if (n >= PATH_MAX)
		err = -ENAMETOOLONG;
	else
		p9w_str(r->w, buf, (size_t)n);
	free(buf);
	put(r, f);
	return err;
}

static int op_link(struct req *r)
{
	const struct p9_msg *m = r->m;
	char name[NAME_MAX + 1];
	struct hfs_obj *dir = NULL;
	struct p9_fid *f;
	int err;

	err = take_name(&m->u.link.name, name);
	if (!err)
		err = dir_of(r, m->u.link.dfid, &dir);
	if (err)
		return err;
	f = fid(r, m->u.link.fid);
	err = f ? hfs_link(r->h, f->obj, dir, name) : -EBADF;
	put(r, f);
	hfs_obj_put(dir);
	return err;
}

/*
 * Where a fid lives, for Tremove and Trename: its recorded directory and
 * name if they still name it, else (directories only) a search of its
 * parent. References to *dir and a copy of *name on success.
 */
static int locate(struct req *r, struct p9_fid *f, struct hfs_obj **dir, char **name)
{
	int err = -ESTALE;

	if (hfs_is_root(r->h, f->obj))
		return -EBUSY;
	pthread_mutex_lock(&f->lock);
	if (f->dir && f->name && !(err = hfs_check_name(f->dir, f->name, f->obj))) {
		*dir = hfs_obj_get(f->dir);
		*name = strdup(f->name);
		if (!*name) {
			hfs_obj_put(*dir);
			err = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (err == -ESTALE)
		err = hfs_find_name(r->h, f->obj, dir, name);
	return err;
}

static int op_remove(struct req *r)
{
	struct p9_fid *f = p9_fid_remove(r->c, r->m->u.fid.fid);
	struct hfs_obj *dir;
	char *name;
	int err;

	if (!f)
		return -EBADF;
	/* The fid is clunked whatever happens. */
	err = locate(r, f, &dir, &name);
	if (!err) {
		if (unlinkat(dir->fd, name, S_ISDIR(f->obj->type) ? AT_REMOVEDIR : 0) < 0)
			err = -errno;
		hfs_obj_put(dir);
		free(name);
	}
	put(r, f);
	return err;
}

static int op_rename(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct hfs_obj *sdir = NULL, *ddir = NULL;
	char name[NAME_MAX + 1], *sname = NULL, *dup;
	struct p9_fid *f;
	int err;

	err = take_name(&m->u.rename.name, name);
	if (!err)
		err = dir_of(r, m->u.rename.dfid, &ddir);
	if (err)
		return err;
	f = fid(r, m->u.rename.fid);
	if (!f) {
		hfs_obj_put(ddir);
		return -EBADF;
	}
	err = locate(r, f, &sdir, &sname);
	if (!err && renameat(sdir->fd, sname, ddir->fd, name) < 0)
		err = -errno;
	if (!err && (dup = strdup(name))) {
		/* The fid follows its file. */
		pthread_mutex_lock(&f->lock);
		hfs_obj_put(f->dir);
		free(f->name);
		f->dir = hfs_obj_get(ddir);
		f->name = dup;
		pthread_mutex_unlock(&f->lock);
	}
	hfs_obj_put(sdir);
	hfs_obj_put(ddir);
	free(sname);
	put(r, f);
	return err;
}

static int op_renameat(struct req *r)
{
	const struct p9_msg *m = r->m;
	char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
	struct hfs_obj *odir = NULL, *ndir = NULL;
	int err;

	err = take_name(&m->u.renameat.oldname, oname);
	if (!err)
		err = take_name(&m->u.renameat.newname, nname);
	if (!err)
		err = dir_of(r, m->u.renameat.olddfid, &odir);
	if (!err)
		err = dir_of(r, m->u.renameat.newdfid, &ndir);
	if (!err && renameat(odir->fd, oname, ndir->fd, nname) < 0)
		err = -errno;
	hfs_obj_put(odir);
	hfs_obj_put(ndir);
	return err;
}

static int op_unlinkat(struct req *r)
{
	const struct p9_msg *m = r->m;
	char name[NAME_MAX + 1];
	struct hfs_obj *dir;
	int err;

	if (m->u.unlinkat.flags & ~(uint32_t)P9_DOTL_AT_REMOVEDIR)
		return -EINVAL;
	err = take_name(&m->u.unlinkat.name, name);
	if (!err)
		err = dir_of(r, m->u.unlinkat.dfid, &dir);
	if (err)
		return err;
	if (unlinkat(dir->fd, name, m->u.unlinkat.flags ? AT_REMOVEDIR : 0) < 0)
		err = -errno;
	hfs_obj_put(dir);
	return err;
}

static int op_clunk(struct req *r)
{
	struct p9_fid *f = p9_fid_remove(r->c, r->m->u.fid.fid);
	int err = 0;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	if (f->kind == FID_XWRITE) {
		/* The set happens now, once all of the value has arrived. */
		if (f->xlen != f->xsize)
			err = -EINVAL;
		else if (f->xsize == 0)
			err = hfs_removexattr(r->h, f->obj, f->xname);
		else
			err = hfs_setxattr(r->h, f->obj, f->xname, f->xbuf, f->xsize, f->xflags);
		f->kind = FID_PATH;
	}
	pthread_mutex_unlock(&f->lock);
	put(r, f);
	return err;
}

/* --- xattrs ------------------------------------------------------------------ */

static int read_xattr(struct req *r, struct hfs_obj *o, const char *name, uint8_t **bufp,
		      size_t *lenp)
{
	uint8_t *buf = NULL;
	ssize_t n = 0;

	/* The value can change between sizing and reading; try a few times. */
	for (int tries = 0; tries < 4; tries++) {
		n = name ? hfs_getxattr(r->h, o, name, NULL, 0) : hfs_listxattr(r->h, o, NULL, 0);
		if (n < 0)
			break;
		if ((size_t)n > XATTR_MAX) {
			n = -E2BIG;
			break;
		}
		free(buf);
		buf = malloc((size_t)n + 1);
		if (!buf)
			return -ENOMEM;
		n = name ? hfs_getxattr(r->h, o, name, buf, (size_t)n)
			 : hfs_listxattr(r->h, o, (char *)buf, (size_t)n);
		if (n != -ERANGE)
			break;
	}
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	if (!name)
		n = (ssize_t)hfs_meta_xattr_list(&r->c->opts, (char *)buf, (size_t)n);
	*bufp = buf;
	*lenp = (size_t)n;
	return 0;
}

static int op_xattrwalk(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct p9_fid *f = fid(r, m->u.xattrwalk.fid), *nf = NULL;
	char name[XATTR_NAME_MAX + 1], hname[HFS_XNAME_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = 0;

	if (!f)
		return -EBADF;
	if (m->u.xattrwalk.name.len) {
		err = take_xattr_name(&m->u.xattrwalk.name, name);
		if (!err)
			err = hfs_meta_xattr_name(r->h, &r->c->opts, f->obj, name, false, hname);
	}
	pthread_mutex_lock(&f->lock);
	if (!err && (f->kind == FID_XREAD || f->kind == FID_XWRITE))
		err = -EBADF;
	pthread_mutex_unlock(&f->lock);
	if (!err)
		err = read_xattr(r, f->obj, m->u.xattrwalk.name.len ? hname : NULL, &buf, &len);
	if (err)
		goto out;
	nf = p9_fid_new(m->u.xattrwalk.newfid, f->uid);
	if (!nf) {
		err = -ENOMEM;
		goto out;
	}
	nf->obj = hfs_obj_get(f->obj);
	nf->kind = FID_XREAD;
	nf->xbuf = buf;
	nf->xlen = nf->xsize = len;
	buf = NULL;
	if (nf->id == f->id)
		err = p9_fid_replace(r->c, f, nf);
	else
		err = p9_fid_add(r->c, nf);
	if (err)
		put(r, nf);
	else
		p9w_u64(r->w, len);
out:
	free(buf);
	put(r, f);
	return err;
}

static int op_xattrcreate(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct p9_fid *f = fid(r, m->u.xattrcreate.fid);
	char name[XATTR_NAME_MAX + 1], hname[HFS_XNAME_MAX];
	uint64_t size = m->u.xattrcreate.size;
	uint32_t flags = m->u.xattrcreate.flags;
	int err;

	if (!f)
		return -EBADF;
	err = take_xattr_name(&m->u.xattrcreate.name, name);
	if (!err)
		err = hfs_meta_xattr_name(r->h, &r->c->opts, f->obj, name, true, hname);
	if (!err && size > XATTR_MAX)
		err = -E2BIG;
	if (!err && (flags & ~(uint32_t)(P9_XATTR_CREATE | P9_XATTR_REPLACE)))
		err = -EINVAL;
	if (err)
		goto out;
	pthread_mutex_lock(&f->lock);
	if (f->kind != FID_PATH) {
		err = -EBADF;
	} else {
		f->xname = strdup(hname); /* the host's name: clunk sets it */
		f->xbuf = calloc(1, size ? size : 1);
		if (!f->xname || !f->xbuf) {
			free(f->xname);
			free(f->xbuf);
			f->xname = NULL;
			f->xbuf = NULL;
			err = -ENOMEM;
		} else {
			f->kind = FID_XWRITE;
			f->xsize = size;
			f->xlen = 0;
			f->xflags = (int)flags;
		}
	}
	pthread_mutex_unlock(&f->lock);
out:
	put(r, f);
	return err;
}

/* --- locks ---------------------------------------------------------------- */

static int lock_args(const struct p9_msg *m, struct flock *fl)
{
	switch (m->u.lock.type) {
	case P9_LOCK_TYPE_RDLCK:
		fl->l_type = F_RDLCK;
		break;
	case P9_LOCK_TYPE_WRLCK:
		fl->l_type = F_WRLCK;
		break;
	case P9_LOCK_TYPE_UNLCK:
		fl->l_type = F_UNLCK;
		break;
	default:
		return -EINVAL;
	}
	if (!off_ok(m->u.lock.start) || !off_ok(m->u.lock.length))
		return -EINVAL;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)m->u.lock.start;
	fl->l_len = (off_t)m->u.lock.length;
	fl->l_pid = 0; /* required for open-file-description locks */
	return 0;
}

/*
 * Locks are open-file-description locks on the fid's own descriptor: each
 * guest open is its own owner, and a lock goes away with its fid. They
 * never block here; the client retries a BLOCKED answer itself.
 */
static int op_lock(struct req *r)
{
	struct p9_fid *f = fid(r, r->m->u.lock.fid);
	struct flock fl = {0};
	uint8_t status = P9_LOCK_SUCCESS;
	int fd, err;

	if (!f)
		return -EBADF;
	err = lock_args(r->m, &fl);
	if (!err)
		err = open_fd(f, &fd, NULL);
	if (!err && fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			status = P9_LOCK_BLOCKED;
		else
			err = -errno;
	}
	put(r, f);
	if (!err)
		p9w_u8(r->w, status);
	return err;
}

static int op_getlock(struct req *r)
{
	const struct p9_msg *m = r->m;
	struct p9_fid *f = fid(r, m->u.lock.fid);
	struct flock fl = {0};
	int fd, err;
	uint8_t type;

	if (!f)
		return -EBADF;
	err = lock_args(m, &fl);
	if (!err)
		err = open_fd(f, &fd, NULL);
	if (!err && fcntl(fd, F_OFD_GETLK, &fl) < 0)
		err = -errno;
	put(r, f);
	if (err)
		return err;
	type = fl.l_type == F_RDLCK   ? P9_LOCK_TYPE_RDLCK
	       : fl.l_type == F_WRLCK ? P9_LOCK_TYPE_WRLCK
				      : P9_LOCK_TYPE_UNLCK;
	p9w_u8(r->w, type);
	p9w_u64(r->w, (uint64_t)fl.l_start);
	p9w_u64(r->w, (uint64_t)fl.l_len);
	p9w_u32(r->w, (uint32_t)fl.l_pid);
	p9w_str(r->w, m->u.lock.client_id.s, m->u.lock.client_id.len);
	return 0;
}

/* --- dispatch ------------------------------------------------------------- */

/* Requests by type; Tversion and Tflush are the connection's (server.c). */
static int (*const ops[256])(struct req *) = {
    [P9_TATTACH] = op_attach,
    [P9_TWALK] = op_walk,
    [P9_TGETATTR] = op_getattr,
    [P9_TSETATTR] = op_setattr,
    [P9_TSTATFS] = op_statfs,
    [P9_TLOPEN] = op_lopen,
    [P9_TLCREATE] = op_lcreate,
    [P9_TREAD] = op_read,
    [P9_TWRITE] = op_write,
    [P9_TFSYNC] = op_fsync,
    [P9_TREADDIR] = op_readdir,
    [P9_TMKDIR] = op_mkdir,
    [P9_TMKNOD] = op_mknod,
    [P9_TSYMLINK] = op_symlink,
    [P9_TREADLINK] = op_readlink,
    [P9_TLINK] = op_link,
    [P9_TRENAME] = op_rename,
    [P9_TRENAMEAT] = op_renameat,
    [P9_TUNLINKAT] = op_unlinkat,
    [P9_TREMOVE] = op_remove,
    [P9_TCLUNK] = op_clunk,
    [P9_TXATTRWALK] = op_xattrwalk,
    [P9_TXATTRCREATE] = op_xattrcreate,
    [P9_TLOCK] = op_lock,
    [P9_TGETLOCK] = op_getlock,
    /* Tauth: absent. There is no authentication; attach directly. */
};

long p9_dispatch(struct p9_conn *c, const struct p9_msg *m, void *resp, size_t cap,
		 struct p9_bulk *bulk)
{
	struct p9_wbuf w;
	struct req r = {.c = c, .h = c->srv->h, .m = m, .w = &w, .bulk = bulk};
	size_t len;
	int err;

	if (!ops[m->type])
		return -EOPNOTSUPP;
	p9w_init(&w, resp, cap, (uint8_t)(m->type + 1), m->tag);
	err = ops[m->type](&r);
	len = err ? 0 : p9w_finish(&w);
	if (!len) {
		/* Rlerror instead, all of it in resp: no data went anywhere. */
		if (bulk)
			bulk->got = 0;
		return err ? err : -EMSGSIZE;
	}
	if (bulk && bulk->got) {
		/* The header in resp; its size counts the data that went to bulk. */
		len += bulk->got;
		p9_put32(resp, (uint32_t)len);
	}
	return (long)len;
}
