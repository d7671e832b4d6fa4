/*
 * ops.c - lxs-fs's FUSE operations, each turned into 9P requests on the
 * distro's connection, and the inode table they share.
 *
 * Inodes: the top folder is FUSE's root; every other inode is a node that
 * owns one fid of its distro's connection (walked to that file) and counts
 * the kernel's lookups of it. A node is found again by its distro and qid
 * path, so hard links and repeated lookups give the kernel one inode. Open
 * files and folders hold fids of their own (a clone of the node's, opened),
 * kept in fi->fh: a file renamed or removed inside the distro stays usable
 * through them, as 9P promises.
 *
 * Nothing the kernel asks is taken on trust either: names come from the
 * kernel (no '/'), and every reply went through p9/client.c's checks.
 *
 * Caching: where lxs-init tells what changes (dc->watched, p9/watch.h),
 * entries (also of names that do not exist), attributes, folder listings
 * and file pages stay in the kernel for DFS_WATCHED_TIMEOUT_S, and
 * dfs_changed() makes the kernel forget each thing that changed as it is
 * told. A reply that was on its way while a change was applied may be
 * older than that change, so it gets the short timeout (its request's
 * generation, gen, is not the current one); gen_lock orders the two, so a
 * reply that passed that check reaches the kernel before the next change's
 * invalidations do. Elsewhere everything is kept DFS_TIMEOUT_S, and the
 * kernel drops a file's pages when its attributes show a change.
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "distrofs.h"

#define XATTR_MAX (64u * 1024) /* Linux's own limit on one attribute's value and the list */

struct dnode {
	struct dconn *dc;
	uint32_t fid;
	uint64_t qpath;
	uint64_t nlookup;  /* under dfs.lock */
	uint32_t list_fid; /* a folder's, opened for reading it (node_listing) */
	bool listing;      /* list_fid is open; under dfs.lock */
	struct dnode *next;
};

static struct dfs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The node of an inode number; NULL for the top folder. */
static struct dnode *node_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? NULL : (struct dnode *)(uintptr_t)ino;
}

static size_t node_slot(const struct dconn *dc, uint64_t qpath)
{
	return (size_t)(((uintptr_t)dc >> 4) ^ qpath ^ (qpath >> 17)) % DFS_NODE_HASH;
}

/* The node of dc's file with qid path qpath, or NULL; under fs->lock. */
static struct dnode *node_lookup(struct dfs *fs, struct dconn *dc, uint64_t qpath)
{
	struct dnode *n;

	for (n = fs->nodes[node_slot(dc, qpath)]; n; n = n->next)
		if (n->dc == dc && n->qpath == qpath)
			break;
	return n;
}

/* The same as an inode number; 0 if the kernel has none. */
static fuse_ino_t node_find(struct dfs *fs, struct dconn *dc, uint64_t qpath)
{
	pthread_mutex_lock(&fs->lock);
	struct dnode *n = node_lookup(fs, dc, qpath);
	pthread_mutex_unlock(&fs->lock);
	return n ? (fuse_ino_t)(uintptr_t)n : 0;
}

/* The generation a request of dc starts at (see the top). */
static uint64_t gen_of(struct dconn *dc)
{
	return atomic_load(&dc->gen);
}

/* How long the kernel may keep a reply to a request that started at generation g0. */
static double keep_for(struct dconn *dc, uint64_t g0)
{
	return atomic_load(&dc->watched) && atomic_load(&dc->gen) == g0 ? DFS_WATCHED_TIMEOUT_S
									: DFS_TIMEOUT_S;
}

static void reply_entry(fuse_req_t req, struct dconn *dc, uint64_t g0, struct fuse_entry_param *e)
{
	pthread_rwlock_rdlock(&dc->gen_lock);
	e->entry_timeout = e->attr_timeout = keep_for(dc, g0);
	fuse_reply_entry(req, e);
	pthread_rwlock_unlock(&dc->gen_lock);
}

static void reply_attr(fuse_req_t req, struct dconn *dc, uint64_t g0, const struct stat *st)
{
	pthread_rwlock_rdlock(&dc->gen_lock);
	fuse_reply_attr(req, st, keep_for(dc, g0));
	pthread_rwlock_unlock(&dc->gen_lock);
}

/* What the kernel may hear: a broken reply is an I/O error, not a protocol one. */
static int errno_out(int err)
{
	return err == -EPROTO || err == -EBADMSG ? EIO : -err;
}

static void reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, errno_out(err));
}

static void to_stat(const struct p9c_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->qid.path;
	st->st_mode = a->mode & 0177777; /* the type (checked) and permission bits, no more */
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = (blksize_t)a->blksize;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_atim.tv_sec = (time_t)a->atime_sec;
	st->st_atim.tv_nsec = (long)a->atime_nsec;
	st->st_mtim.tv_sec = (time_t)a->mtime_sec;
	st->st_mtim.tv_nsec = (long)a->mtime_nsec;
	st->st_ctim.tv_sec = (time_t)a->ctime_sec;
	st->st_ctim.tv_nsec = (long)a->ctime_nsec;
}

/* The top folder: its times are the registry's, so that its listing is read anew when that changes.
 */
static void top_stat(struct dfs *fs, struct stat *st)
{
	struct stat reg;

	memset(st, 0, sizeof(*st));
	if (stat(fs->p.registry, &reg) == 0) {
		st->st_mtim = reg.st_mtim;
		st->st_ctim = reg.st_ctim;
	}
	st->st_ino = FUSE_ROOT_ID;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_uid = getuid();
	st->st_gid = getgid();
}

static void fid_drop(struct dconn *dc, uint32_t fid)
{
	p9c_clunk(dc->c, fid);
	p9c_fid_put(dc->c, fid);
}

/*
 * The node for fid (just walked, attributes in a), with one more lookup:
 * a node already known for the file keeps its own fid and fid is clunked.
 * Takes the caller's reference on dc.
 */
static struct dnode *node_enter(struct dfs *fs, struct dconn *dc, uint32_t fid,
				const struct p9c_attr *a)
{
	size_t i = node_slot(dc, a->qid.path);
	struct dnode *n;

	pthread_mutex_lock(&fs->lock);
	n = node_lookup(fs, dc, a->qid.path);
	if (n) {
		n->nlookup++;
		pthread_mutex_unlock(&fs->lock);
		fid_drop(dc, fid);
		dconn_put(fs, dc);
		return n;
	}
	n = calloc(1, sizeof(*n));
	if (n) {
		*n = (struct dnode){.dc = dc, .fid = fid, .qpath = a->qid.path, .nlookup = 1};
		n->next = fs->nodes[i];
		fs->nodes[i] = n;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!n) {
		fid_drop(dc, fid);
		dconn_put(fs, dc);
	}
	return n;
}

static void node_forget(struct dfs *fs, struct dnode *n, uint64_t count)
{
	struct dnode **pp;

	pthread_mutex_lock(&fs->lock);
	n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
	if (n->nlookup) {
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	for (pp = &fs->nodes[node_slot(n->dc, n->qpath)]; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	pthread_mutex_unlock(&fs->lock);
	if (n->listing)
		fid_drop(n->dc, n->list_fid);
	fid_drop(n->dc, n->fid);
	dconn_put(fs, n->dc);
	free(n);
}

/* A new fid walked from `from` by name (NULL: a clone). 0 or -errno. */
static int walk_new(struct dconn *dc, uint32_t from, const char *name, uint32_t *fid)
{
	int err = p9c_fid_new(dc->c, fid);

	if (err)
		return err;
	err = p9c_walk(dc->c, from, *fid, name ? 1 : 0, &name, NULL);
	if (err)
		p9c_fid_put(dc->c, *fid);
	return err;
}

/*
 * Answer a lookup (or a create's entry) of fid, walked to a file of dc:
 * consumes fid and the caller's reference on dc.
 */
static int entry_of(struct dfs *fs, struct dconn *dc, uint32_t fid, struct fuse_entry_param *e)
{
	struct p9c_attr a;
	struct dnode *n;
	int err = p9c_getattr(dc->c, fid, P9_GETATTR_BASIC, &a);

	if (err) {
		fid_drop(dc, fid);
		dconn_put(fs, dc);
		return err;
	}
	n = node_enter(fs, dc, fid, &a);
	if (!n)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	e->ino = (fuse_ino_t)(uintptr_t)n;
	to_stat(&a, &e->attr);
	return 0;
}

/* A held reference on n's connection, and it counted as used. */
static struct dconn *use(struct dfs *fs, struct dnode *n)
{
	dconn_ref(fs, n->dc);
	dconn_touch(fs, n->dc);
	return n->dc;
}

/* --- lookups and attributes -------------------------------------------- */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dfs *fs = fs_of(req);
	struct dnode *p = node_of(parent);
	struct fuse_entry_param e;
	struct dconn *dc;
	uint64_t g0;
	uint32_t fid;
	int err;

	if (!p) {
		/* A distro's folder: its connection, started if need be. */
		err = dconn_get(fs, name, &dc);
		if (err)
			return reply_err(req, err);
		err = walk_new(dc, dc->root_fid, NULL, &fid);
		if (err) {
			dconn_put(fs, dc);
			return reply_err(req, err);
		}
		err = entry_of(fs, dc, fid, &e); /* takes the reference */
		if (err)
			return reply_err(req, err);
		/* Kept briefly, watched or not: an unregistered distro goes soon. */
		e.entry_timeout = e.attr_timeout = DFS_TIMEOUT_S;
		fuse_reply_entry(req, &e);
		return;
	}
	dc = use(fs, p);
	g0 = gen_of(dc);
	err = walk_new(dc, p->fid, name, &fid);
	if (err == -ENOENT && atomic_load(&dc->watched)) {
		/* A name that is not there, kept as such: told when it comes. */
		memset(&e, 0, sizeof(e));
		reply_entry(req, dc, g0, &e);
		dconn_put(fs, dc);
		return;
	}
	if (err) {
		dconn_put(fs, dc);
		return reply_err(req, err);
	}
	dconn_ref(fs, dc); /* entry_of takes one; dc is used after it */
	err = entry_of(fs, dc, fid, &e);
	if (err)
		reply_err(req, err);
	else
		reply_entry(req, dc, g0, &e);
	dconn_put(fs, dc);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct dnode *n = node_of(ino);

	if (n)
		node_forget(fs_of(req), n, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++) {
		struct dnode *n = node_of(f[i].ino);

		if (n)
			node_forget(fs_of(req), n, f[i].nlookup);
	}
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	struct p9c_attr a;
	struct stat st;
	struct dconn *dc;
	uint64_t g0;
	int err;

	(void)fi;
	if (!n) {
		top_stat(fs, &st);
		fuse_reply_attr(req, &st, DFS_TIMEOUT_S);
		return;
	}
	dc = use(fs, n);
	g0 = gen_of(dc);
	err = p9c_getattr(dc->c, n->fid, P9_GETATTR_BASIC, &a);
	if (err) {
		reply_err(req, err);
	} else {
		to_stat(&a, &st);
		reply_attr(req, dc, g0, &st);
	}
	dconn_put(fs, dc);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	struct p9c_setattr s = {0};
	struct dconn *dc;
	int err;

	(void)fi;
	if (!n)
		return reply_err(req, -EPERM);
	if (to_set & FUSE_SET_ATTR_MODE) {
		s.valid |= P9_SETATTR_MODE;
		s.mode = attr->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		s.valid |= P9_SETATTR_UID;
		s.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		s.valid |= P9_SETATTR_GID;
		s.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		s.valid |= P9_SETATTR_SIZE;
		s.size = (uint64_t)attr->st_size;
	}
	/* 9P's ATIME alone is "now"; with ATIME_SET, the time given. */
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW))
		s.valid |= P9_SETATTR_ATIME;
	if (to_set & FUSE_SET_ATTR_ATIME) {
		s.valid |= P9_SETATTR_ATIME_SET;
		s.atime_sec = (uint64_t)attr->st_atim.tv_sec;
		s.atime_nsec = (uint64_t)attr->st_atim.tv_nsec;
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
		s.valid |= P9_SETATTR_MTIME;
	if (to_set & FUSE_SET_ATTR_MTIME) {
		s.valid |= P9_SETATTR_MTIME_SET;
		s.mtime_sec = (uint64_t)attr->st_mtim.tv_sec;
		s.mtime_nsec = (uint64_t)attr->st_mtim.tv_nsec;
	}
	if (to_set & FUSE_SET_ATTR_CTIME)
		s.valid |= P9_SETATTR_CTIME;
	dc = use(fs, n);
	err = p9c_setattr(dc->c, n->fid, &s);
	dconn_put(fs, dc);
	if (err)
		return reply_err(req, err);
	op_getattr(req, ino, NULL);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	char buf[PATH_MAX];
	struct dconn *dc;
	long len;

	if (!n)
		return reply_err(req, -EINVAL);
	dc = use(fs, n);
	len = p9c_readlink(dc->c, n->fid, buf, sizeof(buf));
	dconn_put(fs, dc);
	if (len < 0)
		return reply_err(req, (int)len);
	fuse_reply_readlink(req, buf);
}

/* --- making and removing names ------------------------------------------ */

/*
 * After a mkdir, mknod, symlink or link of name in p (its result err): walk
 * to it and answer with its entry. Takes the caller's reference on dc.
 */
static void reply_made(fuse_req_t req, struct dfs *fs, struct dconn *dc, struct dnode *p,
		       const char *name, int err)
{
	struct fuse_entry_param e;
	uint64_t g0 = gen_of(dc);
	uint32_t fid;

	if (!err && !(err = walk_new(dc, p->fid, name, &fid))) {
		dconn_ref(fs, dc); /* entry_of takes one; dc is used after it */
		err = entry_of(fs, dc, fid, &e);
		if (!err)
			reply_entry(req, dc, g0, &e);
		else
			reply_err(req, err);
	} else {
		reply_err(req, err);
	}
	dconn_put(fs, dc);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct dfs *fs = fs_of(req);
	struct dnode *p = node_of(parent);
	struct dconn *dc;

	if (!p)
		return reply_err(req, -EPERM);
	dc = use(fs, p);
	reply_made(req, fs, dc, p, name,
		   p9c_mknod(dc->c, p->fid, name, mode, major(rdev), minor(rdev), dc->gid, NULL));
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct dfs *fs = fs_of(req);
	struct dnode *p = node_of(parent);
	struct dconn *dc;

	if (!p)
		return reply_err(req, -EPERM);
	dc = use(fs, p);
	reply_made(req, fs, dc, p, name,
		   p9c_mkdir(dc->c, p->fid, name, mode & 07777, dc->gid, NULL));
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct dfs *fs = fs_of(req);
	struct dnode *p = node_of(parent);
	struct dconn *dc;

	if (!p)
		return reply_err(req, -EPERM);
	dc = use(fs, p);
	reply_made(req, fs, dc, p, name, p9c_symlink(dc->c, p->fid, name, target, dc->gid, NULL));
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino), *p = node_of(newparent);
	struct dconn *dc;

	if (!n || !p)
		return reply_err(req, -EPERM);
	if (n->dc != p->dc)
		return reply_err(req, -EXDEV);
	dc = use(fs, p);
	reply_made(req, fs, dc, p, newname, p9c_link(dc->c, p->fid, n->fid, newname));
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, uint32_t flags)
{
	struct dfs *fs = fs_of(req);
	struct dnode *p = node_of(parent);
	struct dconn *dc;
	int err;

	if (!p)
		return reply_err(req, -EPERM);
	dc = use(fs, p);
	err = p9c_unlinkat(dc->c, p->fid, name, flags);
	dconn_put(fs, dc);
	fuse_reply_err(req, errno_out(err));
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, AT_REMOVEDIR);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct dfs *fs = fs_of(req);
	struct dnode *p = node_of(parent), *q = node_of(newparent);
	struct dconn *dc;
	int err;

	if (!p || !q)
		return reply_err(req, -EPERM);
	if (p->dc != q->dc)
		return reply_err(req, -EXDEV);
	if (flags) /* RENAME_NOREPLACE, RENAME_EXCHANGE: 9P2000.L has no way to ask */
		return reply_err(req, -EINVAL);
	dc = use(fs, p);
	err = p9c_renameat(dc->c, p->fid, name, q->fid, newname);
	dconn_put(fs, dc);
	fuse_reply_err(req, errno_out(err));
}

/* --- files and folders --------------------------------------------------- */

/* The open flags a server may see: what the file's I/O needs, nothing about names. */
#define PASS_FLAGS                                                                                 \
	(O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME | O_DIRECTORY)

static void handle_opened(struct dfs *fs, struct dconn *dc)
{
	pthread_mutex_lock(&fs->lock);
	dc->open_handles++;
	pthread_mutex_unlock(&fs->lock);
}

/*
 * Watched, the kernel keeps a file's pages from one open to the next:
 * dfs_changed drops them when it changes. Otherwise each open reads afresh.
 */
static void keep_pages(struct dconn *dc, struct fuse_file_info *fi)
{
	if (atomic_load(&dc->watched))
		fi->keep_cache = 1;
}

/*
 * Folders are not opened: op_opendir answers ENOSYS, after which the kernel
 * sends no OPENDIR or RELEASEDIR at all (a round trip each, for every
 * folder `git status` or `find` walks) and keeps each folder's listing,
 * which it reads anew from offset 0 when the folder's mtime changed (seen
 * when its attributes are fetched again) or dfs_changed dropped it. A
 * folder is read through one fid of its node instead, opened at its first
 * read and kept while the kernel keeps the inode. 0 or -errno.
 */
static int node_listing(struct dfs *fs, struct dnode *n)
{
	struct dconn *dc = n->dc;
	uint32_t fid;
	bool have;
	int err;

	pthread_mutex_lock(&fs->lock);
	have = n->listing;
	pthread_mutex_unlock(&fs->lock);
	if (have)
		return 0;
	err = walk_new(dc, n->fid, NULL, &fid);
	if (!err && (err = p9c_lopen(dc->c, fid, O_RDONLY | O_DIRECTORY, NULL)))
		fid_drop(dc, fid);
	if (err)
		return err;
	pthread_mutex_lock(&fs->lock);
	have = n->listing;
	if (!have) {
		n->list_fid = fid;
		n->listing = true;
	}
	pthread_mutex_unlock(&fs->lock);
	if (have)
		fid_drop(dc, fid); /* another opendir was first */
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	struct dconn *dc;
	uint32_t fid;
	int err;

	if (!n)
		return reply_err(req, -EISDIR);
	dc = use(fs, n);
	err = walk_new(dc, n->fid, NULL, &fid);
	if (!err) {
		err = p9c_lopen(dc->c, fid, (uint32_t)fi->flags & PASS_FLAGS, NULL);
		if (err)
			fid_drop(dc, fid);
	}
	if (err) {
		dconn_put(fs, dc);
		return reply_err(req, err);
	}
	handle_opened(fs, dc);
	fi->fh = fid;
	keep_pages(dc, fi);
	/* The reference on dc stays with the handle until release. */
	fuse_reply_open(req, fi);
}

static void release_common(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);

	if (n) {
		fid_drop(n->dc, (uint32_t)fi->fh);
		pthread_mutex_lock(&fs->lock);
		n->dc->open_handles--;
		pthread_mutex_unlock(&fs->lock);
		dconn_put(fs, n->dc);
	}
	fuse_reply_err(req, 0);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct dfs *fs = fs_of(req);
	struct dnode *p = node_of(parent);
	struct fuse_entry_param e;
	struct dconn *dc;
	uint32_t fid, nfid;
	int err;

	if (!p)
		return reply_err(req, -EPERM);
	dc = use(fs, p);
	uint64_t g0 = gen_of(dc);
	err = walk_new(dc, p->fid, NULL, &fid);
	if (!err) {
		err = p9c_lcreate(dc->c, fid, name, (uint32_t)fi->flags & PASS_FLAGS, mode & 07777,
				  dc->gid, NULL);
		if (err)
			fid_drop(dc, fid);
	}
	if (err) {
		dconn_put(fs, dc);
		return reply_err(req, err);
	}
	/* fid is the open file now; the inode needs a fid of its own. */
	err = walk_new(dc, p->fid, name, &nfid);
	if (!err) {
		dconn_ref(fs, dc); /* the entry's; the handle keeps the one from use() */
		err = entry_of(fs, dc, nfid, &e);
	}
	if (err) {
		fid_drop(dc, fid);
		dconn_put(fs, dc);
		return reply_err(req, err);
	}
	handle_opened(fs, dc);
	fi->fh = fid;
	keep_pages(dc, fi);
	pthread_rwlock_rdlock(&dc->gen_lock);
	e.entry_timeout = e.attr_timeout = keep_for(dc, g0);
	fuse_reply_create(req, &e, fi);
	pthread_rwlock_unlock(&dc->gen_lock);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	size_t got = 0;
	char *buf;

	if (!n)
		return reply_err(req, -EISDIR);
	dconn_touch(fs, n->dc);
	buf = malloc(size ? size : 1);
	if (!buf)
		return reply_err(req, -ENOMEM);
	while (got < size) {
		uint32_t want =
		    (uint32_t)(size - got < p9c_iounit(n->dc->c) ? size - got
								 : p9c_iounit(n->dc->c));
		long r = p9c_read(n->dc->c, (uint32_t)fi->fh, (uint64_t)off + got, buf + got, want);

		if (r < 0) {
			free(buf);
			return reply_err(req, (int)r);
		}
		got += (size_t)r;
		if ((uint32_t)r < want)
			break;
	}
	fuse_reply_buf(req, buf, got);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	size_t put = 0;

	if (!n)
		return reply_err(req, -EISDIR);
	dconn_touch(fs, n->dc);
	while (put < size) {
		uint32_t want =
		    (uint32_t)(size - put < p9c_iounit(n->dc->c) ? size - put
								 : p9c_iounit(n->dc->c));
		long r =
		    p9c_write(n->dc->c, (uint32_t)fi->fh, (uint64_t)off + put, buf + put, want);

		if (r < 0) {
			if (put)
				break;
			return reply_err(req, (int)r);
		}
		put += (size_t)r;
		if (r == 0)
			break;
	}
	fuse_reply_write(req, put);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct dnode *n = node_of(ino);

	fuse_reply_err(req, !n ? 0 : errno_out(p9c_fsync(n->dc->c, (uint32_t)fi->fh, datasync)));
}

/* See node_listing: the kernel takes this ENOSYS as "folders need no opening". */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, ENOSYS);
}

/* The top folder: ".", ".." and the registered distros, in registry order. */
static void readdir_top(fuse_req_t req, struct dfs *fs, size_t size, off_t off)
{
	char **names = NULL, *buf = calloc(1, size ? size : 1);
	size_t used = 0;
	int n = buf ? dfs_distro_names(fs, &names) : -ENOMEM;

	if (n < 0) {
		free(buf);
		return reply_err(req, n);
	}
	for (off_t i = off; i < n + 2; i++) {
		struct stat st = {.st_ino = (ino_t)(i + 2), .st_mode = S_IFDIR};
		const char *name = i == 0 ? "." : i == 1 ? ".." : names[i - 2];
		size_t len = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);

		if (len > size - used)
			break;
		used += len;
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	uint32_t want;
	char *raw, *buf;
	size_t used = 0, pos = 0;
	long got;

	if (!n)
		return readdir_top(req, fs, size, off);
	(void)fi;
	dconn_touch(fs, n->dc);
	int err = node_listing(fs, n);
	if (err)
		return reply_err(req, err);
	pthread_mutex_lock(&fs->lock);
	uint32_t fid = n->list_fid;
	pthread_mutex_unlock(&fs->lock);
	want = (uint32_t)(size < p9c_iounit(n->dc->c) ? size : p9c_iounit(n->dc->c));
	raw = malloc(want ? want : 1);
	buf = malloc(size ? size : 1);
	got = raw && buf ? p9c_readdir(n->dc->c, fid, (uint64_t)off, raw, want) : -ENOMEM;
	for (; got > 0;) {
		struct p9c_dirent d;
		struct stat st = {0};
		size_t len;
		int r = p9c_dirent_next(raw, (size_t)got, &pos, &d);

		if (r < 0) {
			got = r;
			break;
		}
		if (r == 0)
			break;
		st.st_ino = d.qid.path;
		st.st_mode = (mode_t)(d.type & 017) << 12; /* DT_* is the S_IFMT field shifted */
		len = fuse_add_direntry(req, buf + used, size - used, d.name, &st, (off_t)d.offset);
		if (len > size - used)
			break; /* the rest comes again from this entry's offset */
		used += len;
	}
	if (got < 0)
		reply_err(req, (int)got);
	else
		fuse_reply_buf(req, buf, used);
	free(raw);
	free(buf);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	struct statvfs sv = {.f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255};
	struct p9c_statfs s;
	struct dconn *dc;
	int err;

	if (!n) {
		fuse_reply_statfs(req, &sv);
		return;
	}
	dc = use(fs, n);
	err = p9c_statfs(dc->c, n->fid, &s);
	dconn_put(fs, dc);
	if (err)
		return reply_err(req, err);
	sv.f_bsize = sv.f_frsize = s.bsize;
	sv.f_blocks = s.blocks;
	sv.f_bfree = s.bfree;
	sv.f_bavail = s.bavail;
	sv.f_files = s.files;
	sv.f_ffree = s.ffree;
	sv.f_favail = s.ffree;
	sv.f_fsid = s.fsid;
	sv.f_namemax = s.namelen;
	fuse_reply_statfs(req, &sv);
}

/* --- extended attributes --------------------------------------------------- */

/* getxattr and listxattr (name ""): the value through a walked xattr fid. */
static void xattr_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	uint64_t len = 0, got = 0;
	struct dconn *dc;
	char *buf = NULL;
	uint32_t fid;
	int err;

	if (!n)
		return reply_err(req, *name ? -ENODATA : 0);
	dc = use(fs, n);
	err = p9c_fid_new(dc->c, &fid);
	if (err)
		goto out;
	err = p9c_xattrwalk(dc->c, n->fid, fid, name, &len);
	if (err) {
		p9c_fid_put(dc->c, fid);
		goto out;
	}
	if (len > XATTR_MAX)
		err = -E2BIG;
	else if (size && len > size)
		err = -ERANGE;
	else if (size && !(buf = malloc(len ? len : 1)))
		err = -ENOMEM;
	while (!err && size && got < len) {
		long r = p9c_read(dc->c, fid, got, buf + got, (uint32_t)(len - got));

		if (r <= 0)
			err = r < 0 ? (int)r : -EIO; /* shorter than it said: a broken reply */
		else
			got += (uint64_t)r;
	}
	fid_drop(dc, fid);
out:
	dconn_put(fs, dc);
	if (err)
		reply_err(req, err);
	else if (!size)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	if (!*name)
		return reply_err(req, -ENODATA);
	xattr_get(req, ino, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	xattr_get(req, ino, "", size);
}

/* setxattr, and removexattr (value NULL): Txattrcreate on a clone, the value, Tclunk commits. */
static void xattr_set(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		      size_t size, int flags)
{
	struct dfs *fs = fs_of(req);
	struct dnode *n = node_of(ino);
	struct dconn *dc;
	size_t put = 0;
	uint32_t fid;
	int err;

	if (!n)
		return reply_err(req, -EPERM);
	dc = use(fs, n);
	err = walk_new(dc, n->fid, NULL, &fid);
	if (err)
		goto out;
	err = p9c_xattrcreate(dc->c, fid, name, size, (uint32_t)flags);
	while (!err && put < size) {
		long r = p9c_write(dc->c, fid, put, value + put, (uint32_t)(size - put));

		if (r <= 0)
			err = r < 0 ? (int)r : -EIO;
		else
			put += (size_t)r;
	}
	/* The clunk is what sets the attribute: its answer is the call's. */
	if (err)
		p9c_clunk(dc->c, fid);
	else
		err = p9c_clunk(dc->c, fid);
	p9c_fid_put(dc->c, fid);
out:
	dconn_put(fs, dc);
	fuse_reply_err(req, errno_out(err));
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	xattr_set(req, ino, name, value, size, flags);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	xattr_set(req, ino, name, NULL, 0, XATTR_REPLACE);
}

/* --- what the distro changed ------------------------------------------------ */

/* Every inode of dc (NULL: of every distro): their attributes and pages go. */
static void forget_all(struct dfs *fs, struct dconn *dc)
{
	fuse_ino_t *inos = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < DFS_NODE_HASH; i++)
		for (struct dnode *d = fs->nodes[i]; d; d = d->next) {
			if (dc && d->dc != dc)
				continue;
			if (n == cap) {
				size_t ncap = cap ? 2 * cap : 256;
				fuse_ino_t *grown = realloc(inos, ncap * sizeof(*inos));

				if (!grown)
					goto out;
				inos = grown;
				cap = ncap;
			}
			inos[n++] = (fuse_ino_t)(uintptr_t)d;
		}
out:
	pthread_mutex_unlock(&fs->lock);
	/* (A node forgotten meanwhile is an inode number the kernel no longer knows: a no-op.) */
	for (size_t i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_inode(fs->se, inos[i], 0, 0);
	free(inos);
}

void dfs_changed(struct dfs *fs, struct dconn *dc, uint32_t flags, const void *recs, size_t len)
{
	struct p9c_watch_rec r;
	size_t pos = 0;

	/* Replies still on their way may predate these changes: short timeouts for them. */
	pthread_rwlock_wrlock(&dc->gen_lock);
	dc->gen++;
	pthread_rwlock_unlock(&dc->gen_lock);
	if (!fs->se)
		return;
	/* Lost, or the watch ended: names the kernel holds stay until their timeout. */
	if (flags & P9_WATCH_LOST)
		forget_all(fs, dc);
	while (p9c_watch_next(recs, len, &pos, &r) == 1) {
		fuse_ino_t ino = node_find(fs, dc, r.kind == P9_WATCH_NAME ? r.dir : r.ino);

		if (!ino)
			continue; /* nothing the kernel holds */
		switch (r.kind) {
		case P9_WATCH_NAME:
			/* The name (or its absence), and the folder's times and listing. */
			fuse_lowlevel_notify_inval_entry(fs->se, ino, r.name, strlen(r.name));
			fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
			break;
		case P9_WATCH_ATTR:
			fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
			break;
		case P9_WATCH_DATA:
			fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
			break;
		}
	}
}

void dfs_forget_all(struct dfs *fs)
{
	if (fs->se)
		forget_all(fs, NULL);
}

const struct fuse_lowlevel_ops dfs_ops = {
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .symlink = op_symlink,
    .link = op_link,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write = op_write,
    .fsync = op_fsync,
    .release = release_common,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
};
