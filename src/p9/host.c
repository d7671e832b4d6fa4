/*
 * host.c - every system call that resolves something the guest named.
 *
 * The rules (see p9.h): one component per call, relative to a descriptor
 * already known to be inside the share, O_PATH|O_NOFOLLOW, so a symlink is
 * only ever a leaf; ".." handled here and nowhere else; files reopened for
 * I/O through /proc/self/fd/N of their own O_PATH descriptor, which can only
 * name that inode. xattrs go the same way (the *xattrat() calls of Linux
 * 6.13 relative to the /proc/self/fd directory descriptor, older kernels the
 * /proc/self/fd/N path), because the f*xattr() calls refuse O_PATH
 * descriptors and the path-based ones would need a path. chmod and chown
 * of an inode (the real and VolFs modes) likewise: by its descriptor with
 * AT_EMPTY_PATH, or through /proc/self/fd/N.
 *
 * Also the objs (one O_PATH descriptor each) and the descriptor budget they
 * are counted against.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "p9/internal.h"

#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif

/* The kernel's struct xattr_args (Linux 6.13). */
struct p9_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

/* Deep enough for any real tree; a longer ".." chain is treated as escaping. */
#define MAX_DEPTH 4096

#define STATX_FLAGS (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT)
#define STATX_WANT  (STATX_BASIC_STATS | STATX_BTIME)

static dev_t stx_dev(const struct statx *st)
{
	return makedev(st->stx_dev_major, st->stx_dev_minor);
}

static bool same_inode(const struct statx *a, const struct statx *b)
{
	return a->stx_ino == b->stx_ino && a->stx_dev_major == b->stx_dev_major &&
	       a->stx_dev_minor == b->stx_dev_minor;
}

static bool obj_is(const struct p9_obj *o, const struct statx *st)
{
	return o->ino == st->stx_ino && o->dev == stx_dev(st);
}

static int fd_stat(int fd, struct statx *st)
{
	if (statx(fd, "", STATX_FLAGS, STATX_WANT, st) < 0)
		return -errno;
	return 0;
}

/* --- descriptor budget ------------------------------------------------------ */

/* Here, with the objs: the last p9_obj_put gives back what the obj counted. */
static atomic_uint fds_used, fds_max;
static atomic_bool fds_max_set;

void p9_fd_budget_default(void)
{
	struct rlimit rl;
	rlim_t keep;

	if (atomic_load(&fds_max_set) || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur > UINT32_MAX)
		rl.rlim_cur = UINT32_MAX;
	keep = rl.rlim_cur / 8;
	keep = keep < 256 ? 256 : keep > 8192 ? 8192 : keep;
	if (keep > rl.rlim_cur / 2)
		keep = rl.rlim_cur / 2;
	atomic_store(&fds_max, (unsigned)(rl.rlim_cur - keep));
}

void p9_set_fd_budget(unsigned max)
{
	atomic_store(&fds_max_set, max != 0);
	if (max)
		atomic_store(&fds_max, max);
	else
		p9_fd_budget_default();
}

int p9_obj_charge(struct p9_conn *c, struct p9_obj *o)
{
	if (!o || o->owner || o == c->srv->root)
		return 0;
	if (atomic_fetch_add(&c->nfds, 1) >= c->lim.max_fds) {
		atomic_fetch_sub(&c->nfds, 1);
		return -EMFILE;
	}
	if (atomic_fetch_add(&fds_used, 1) >= atomic_load(&fds_max)) {
		atomic_fetch_sub(&fds_used, 1);
		atomic_fetch_sub(&c->nfds, 1);
		return -ENFILE;
	}
	o->owner = c;
	return 0;
}

void p9_obj_uncharge(struct p9_obj *o)
{
	if (!o->owner)
		return;
	atomic_fetch_sub(&o->owner->nfds, 1);
	atomic_fetch_sub(&fds_used, 1);
	o->owner = NULL;
}

/* --- objs ------------------------------------------------------------------ */

struct p9_obj *p9_obj_new(int fd, const struct statx *st)
{
	struct p9_obj *o = malloc(sizeof(*o));

	if (!o) {
		close(fd);
		return NULL;
	}
	atomic_init(&o->refs, 1);
	o->fd = fd;
	o->dev = stx_dev(st);
	o->ino = st->stx_ino;
	o->type = st->stx_mode & S_IFMT;
	o->on_proc = false;
	o->owner = NULL;
	return o;
}

struct p9_obj *p9_obj_get(struct p9_obj *o)
{
	if (o)
		atomic_fetch_add(&o->refs, 1);
	return o;
}

void p9_obj_put(struct p9_obj *o)
{
	if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	p9_obj_uncharge(o);
	close(o->fd);
	free(o);
}

int p9_host_stat(struct p9_obj *o, struct statx *st)
{
	return fd_stat(o->fd, st);
}

/* An fd's obj, or -errno; the fd is consumed either way. */
static int obj_from_fd(int fd, struct p9_obj **out, struct statx *st)
{
	struct statx tmp;
	int err;

	if (!st)
		st = &tmp;
	err = fd_stat(fd, st);
	if (err) {
		close(fd);
		return err;
	}
	*out = p9_obj_new(fd, st);
	return *out ? 0 : -ENOMEM;
}

/*
 * The host's procfs is served without its per-process part. /proc/<pid>/
 * (with /proc/self and /proc/thread-self, links into it) holds windows on
 * a process that file rights alone do not make safe to hand to a guest:
 * mem rewrites the VMM's own memory, fd/, map_files/, root, cwd and exe are
 * magic links, environ and the writable knobs (oom_score_adj, ...) follow.
 * Naming what to hide inside it would miss what a later kernel adds, so the
 * whole subtree goes. The rule, checked on each object a walk produces:
 *  - on the same file system as the directory walked in (same st_dev, so
 *    same superblock), a procfs object inherits the directory's procfs-ness,
 *    and in a procfs root directory the names "self", "thread-self" and
 *    all-digit ones are refused;
 *  - crossing onto a procfs from another file system (a mount point) is
 *    allowed only at that procfs's root directory, so a bind mount of some
 *    /proc/<pid> elsewhere, or any other mount of proc, cannot be entered
 *    except through the rule above; fstatfs runs only on such crossings.
 * The server never follows symlinks, so a link to /proc/self anywhere is a
 * leaf the guest resolves itself, by walking one of the refused names.
 * A share rooted on a procfs must be rooted at its top for the same reason.
 * /sys and /dev have no such windows reachable here: device nodes are never
 * opened (p9_host_reopen) and their magic links are symlinks, never followed.
 */
#define PROC_ROOT_INO 1

static bool proc_per_process(const char *name)
{
	if (!strcmp(name, "self") || !strcmp(name, "thread-self"))
		return true;
	for (const char *p = name; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return *name != 0;
}

/* Sets o->on_proc; 0 or -EACCES. dir NULL: o is a share root. */
static int proc_guard(struct p9_obj *dir, const char *name, struct p9_obj *o)
{
	struct statfs sf;

	if (dir && o->dev == dir->dev) {
		o->on_proc = dir->on_proc;
		if (o->on_proc && name && dir->ino == PROC_ROOT_INO && proc_per_process(name))
			return -EACCES;
		return 0;
	}
	if (fstatfs(o->fd, &sf) < 0)
		return -errno;
	o->on_proc = sf.f_type == PROC_SUPER_MAGIC;
	if (o->on_proc && name != NULL && (!S_ISDIR(o->type) || o->ino != PROC_ROOT_INO))
		return -EACCES;
	return 0;
}

int p9_host_init(struct p9_server *s, int root_fd)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct statx st, up;
	struct statfs sf;
	int fd, err;

	fd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = obj_from_fd(fd, &s->root, &st);
	if (err)
		return err;
	err = proc_guard(NULL, NULL, s->root);
	if (!err && s->root->on_proc && s->root->ino != PROC_ROOT_INO)
		err = -EACCES;
	if (err) {
		p9_obj_put(s->root);
		s->root = NULL;
		return err;
	}

	/* Is there anything above the root at all? If not, ".." needs no check. */
	fd = openat(s->root->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->root_is_top = fd >= 0 && fd_stat(fd, &up) == 0 && same_inode(&st, &up);
	if (fd >= 0)
		close(fd);

	fd = (int)syscall(SYS_openat2, s->root->fd, ".", &how, sizeof(how));
	s->has_openat2 = fd >= 0;
	if (fd >= 0)
		close(fd);

	/* Only a real procfs gives the inode-pinned reopen we rely on. */
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd >= 0 && (fstatfs(s->proc_fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)) {
		close(s->proc_fd);
		s->proc_fd = -1;
	}
	atomic_init(&s->has_xattrat, -1);
	return 0;
}

int p9_host_lookup(struct p9_server *s, struct p9_obj *dir, const char *name, struct p9_obj **out,
		   struct statx *st)
{
	int fd, err;

	*out = NULL;
	if (s->has_openat2) {
		/*
		 * Beneath dir is all a single name can reach anyway; asking
		 * the kernel to enforce it too costs nothing and survives a
		 * future bug in the name checks.
		 */
		struct open_how how = {
		    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		fd = (int)syscall(SYS_openat2, dir->fd, name, &how, sizeof(how));
	} else {
		fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	err = obj_from_fd(fd, out, st);
	if (!err)
		err = proc_guard(dir, name, *out);
	if (err && *out) {
		p9_obj_put(*out);
		*out = NULL;
	}
	return err;
}

/*
 * Is the directory fd (with statx st) the share root or below it? Climbs
 * ".." until it meets the root (yes) or the top of the namespace (no). A
 * directory the host moved out of the share is therefore not beneath.
 */
static int beneath(struct p9_server *s, int fd, const struct statx *st)
{
	struct statx cs = *st, us;
	int cur = fd, up, err = -ELOOP;

	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		if (obj_is(s->root, &cs)) {
			err = 0;
			break;
		}
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0) {
			err = -errno;
			break;
		}
		err = fd_stat(up, &us);
		if (cur != fd)
			close(cur);
		cur = up;
		if (err)
			break;
		if (same_inode(&us, &cs)) {
			err = -EACCES;
			break;
		}
		cs = us;
		err = -ELOOP;
	}
	if (cur != fd)
		close(cur);
	return err;
}

int p9_host_parent(struct p9_server *s, struct p9_obj *dir, struct p9_obj **out, struct statx *st)
{
	int fd, err;

	if (dir == s->root || (dir->dev == s->root->dev && dir->ino == s->root->ino)) {
		/* ".." of the root is the root, as in any chroot. */
		err = p9_host_stat(s->root, st);
		if (!err)
			*out = p9_obj_get(s->root);
		return err;
	}
	if (!S_ISDIR(dir->type))
		return -ENOTDIR;
	fd = openat(dir->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fd_stat(fd, st);
	if (!err && !s->root_is_top)
		err = beneath(s, fd, st);
	if (err) {
		close(fd);
		return err;
	}
	*out = p9_obj_new(fd, st);
	if (!*out)
		return -ENOMEM;
	/* A parent is never per-process: nothing below one was ever reached. */
	err = proc_guard(dir, NULL, *out);
	if (err) {
		p9_obj_put(*out);
		*out = NULL;
	}
	return err;
}

static void fd_name(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "%d", fd);
}

int p9_host_reopen(struct p9_server *s, struct p9_obj *o, struct p9_obj *dir, const char *name,
		   int flags)
{
	struct statx st;
	char num[16];
	int fd, err;

	flags |= O_CLOEXEC | O_NOCTTY;
	if (S_ISLNK(o->type))
		return -ELOOP;
	if (!S_ISREG(o->type) && !S_ISDIR(o->type))
		return -EOPNOTSUPP; /* devices and FIFOs are the guest's own */
	if (S_ISDIR(o->type))
		flags |= O_DIRECTORY;

	if (s->proc_fd >= 0) {
		fd_name(num, sizeof(num), o->fd);
		fd = openat(s->proc_fd, num, flags);
	} else if (S_ISDIR(o->type)) {
		fd = openat(o->fd, ".", flags);
	} else if (dir && name) {
		/* The name may have been replaced: never block, never follow, check. */
		fd = openat(dir->fd, name, flags | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0 && (errno == ENOENT || errno == ELOOP))
			return -ESTALE; /* the file lives on under another name */
		if (fd >= 0 && !(flags & O_NONBLOCK))
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	} else {
		return -EOPNOTSUPP;
	}
	if (fd < 0)
		return -errno;
	err = fd_stat(fd, &st);
	if (!err && !obj_is(o, &st))
		err = -ESTALE;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int p9_host_check_name(struct p9_obj *dir, const char *name, struct p9_obj *o)
{
	struct statx st;

	if (statx(dir->fd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_INO, &st) < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	return obj_is(o, &st) ? 0 : -ESTALE;
}

int p9_host_find_name(struct p9_server *s, struct p9_obj *o, struct p9_obj **dirp, char **namep)
{
	struct p9_obj *dir = NULL;
	struct statx st;
	char buf[8192];
	int dfd = -1, err;
	long n;

	if (!S_ISDIR(o->type))
		return -ESTALE; /* a file's other names are not ours to guess */
	if (o->dev == s->root->dev && o->ino == s->root->ino)
		return -EBUSY;
	err = p9_host_parent(s, o, &dir, &st);
	if (err)
		return err;
	if (obj_is(o, &st)) {
		err = -EBUSY; /* a mount or namespace top: it has no name */
		goto out;
	}
	dfd = p9_host_reopen(s, dir, NULL, NULL, O_RDONLY);
	if (dfd < 0) {
		err = dfd;
		goto out;
	}
	err = -ESTALE;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long pos = 0; pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);

			if (!d->d_reclen)
				break;
			pos += d->d_reclen;
			if (d->d_ino != o->ino || !strcmp(d->d_name, ".") ||
			    !strcmp(d->d_name, ".."))
				continue;
			if (p9_host_check_name(dir, d->d_name, o))
				continue;
			*namep = strdup(d->d_name);
			err = *namep ? 0 : -ENOMEM;
			goto out;
		}
	}
	if (n < 0)
		err = -errno;
out:
	if (dfd >= 0)
		close(dfd);
	if (err)
		p9_obj_put(dir);
	else
		*dirp = dir;
	return err;
}

uint64_t p9_host_qid_path(struct p9_server *s, dev_t dev, uint64_t ino)
{
	unsigned i;

	if (dev == s->root->dev)
		return ino;
	/*
	 * Files on other mounts get the device's slot number in the top bits,
	 * so two inode numbers from two file systems do not collide in the
	 * guest's inode cache. Past P9_DEVMAP devices, a hash: collisions
	 * become possible but nothing breaks.
	 */
	pthread_mutex_lock(&s->dev_lock);
	for (i = 0; i < s->ndevs && s->devs[i] != dev; i++)
		;
	if (i == s->ndevs && s->ndevs < P9_DEVMAP)
		s->devs[s->ndevs++] = dev;
	pthread_mutex_unlock(&s->dev_lock);
	if (i < P9_DEVMAP)
		return ino ^ ((uint64_t)(i + 1) << 48);
	return ino ^ ((uint64_t)dev * 0x9e3779b97f4a7c15ull);
}

void p9_host_qid(struct p9_server *s, const struct statx *st, struct p9_qid *q)
{
	if (S_ISDIR(st->stx_mode))
		q->type = P9_QTDIR;
	else if (S_ISLNK(st->stx_mode))
		q->type = P9_QTSYMLINK;
	else
		q->type = P9_QTFILE;
	/* Changes when the file does, as the Linux client's caches expect. */
	q->version = (uint32_t)((uint64_t)st->stx_mtime.tv_sec ^ (st->stx_size << 8));
	q->path = p9_host_qid_path(s, stx_dev(st), st->stx_ino);
}

/* --- xattrs of the inode itself --------------------------------------- */

static bool use_xattrat(struct p9_server *s)
{
	return atomic_load(&s->has_xattrat) != 0;
}

/* After an *xattrat() call: false (fall back) if the kernel lacks it. */
static bool xattrat_done(struct p9_server *s, long r)
{
	if (r < 0 && errno == ENOSYS) {
		atomic_store(&s->has_xattrat, 0);
		return false;
	}
	atomic_store(&s->has_xattrat, 1);
	return true;
}

static void proc_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

ssize_t p9_host_getxattr(struct p9_server *s, struct p9_obj *o, const char *name, void *buf,
			 size_t size)
{
	char num[40];
	long r;

	if (S_ISLNK(o->type))
		return -ENODATA; /* a symlink's attributes are beyond the protocol's reach */
	if (s->proc_fd < 0)
		return -EOPNOTSUPP;
	if (use_xattrat(s)) {
		struct p9_xattr_args a = {.value = (uintptr_t)buf, .size = (uint32_t)size};

		fd_name(num, sizeof(num), o->fd);
		r = syscall(SYS_getxattrat, s->proc_fd, num, 0, name, &a, sizeof(a));
		if (xattrat_done(s, r))
			return r < 0 ? -errno : r;
	}
	proc_path(num, sizeof(num), o->fd);
	r = getxattr(num, name, buf, size);
	return r < 0 ? -errno : r;
}

ssize_t p9_host_listxattr(struct p9_server *s, struct p9_obj *o, char *buf, size_t size)
{
	char num[40];
	long r;

	if (S_ISLNK(o->type))
		return 0;
	if (s->proc_fd < 0)
		return -EOPNOTSUPP;
	if (use_xattrat(s)) {
		fd_name(num, sizeof(num), o->fd);
		r = syscall(SYS_listxattrat, s->proc_fd, num, 0, buf, size);
		if (xattrat_done(s, r))
			return r < 0 ? -errno : r;
	}
	proc_path(num, sizeof(num), o->fd);
	r = listxattr(num, buf, size);
	return r < 0 ? -errno : r;
}

int p9_host_setxattr(struct p9_server *s, struct p9_obj *o, const char *name, const void *val,
		     size_t size, int flags)
{
	char num[40];
	long r;

	if (S_ISLNK(o->type))
		return -EOPNOTSUPP;
	if (s->proc_fd < 0)
		return -EOPNOTSUPP;
	if (use_xattrat(s)) {
		struct p9_xattr_args a = {
		    .value = (uintptr_t)val,
		    .size = (uint32_t)size,
		    .flags = (uint32_t)flags,
		};

		fd_name(num, sizeof(num), o->fd);
		r = syscall(SYS_setxattrat, s->proc_fd, num, 0, name, &a, sizeof(a));
		if (xattrat_done(s, r))
			return r < 0 ? -errno : 0;
	}
	proc_path(num, sizeof(num), o->fd);
	r = setxattr(num, name, val, size, flags);
	return r < 0 ? -errno : 0;
}

int p9_host_removexattr(struct p9_server *s, struct p9_obj *o, const char *name)
{
	char num[40];
	long r;

	if (S_ISLNK(o->type))
		return -EOPNOTSUPP;
	if (s->proc_fd < 0)
		return -EOPNOTSUPP;
	if (use_xattrat(s)) {
		fd_name(num, sizeof(num), o->fd);
		r = syscall(SYS_removexattrat, s->proc_fd, num, 0, name);
		if (xattrat_done(s, r))
			return r < 0 ? -errno : 0;
	}
	proc_path(num, sizeof(num), o->fd);
	r = removexattr(num, name);
	return r < 0 ? -errno : 0;
}

/* --- owner and mode of the inode itself (P9_OWNERS_REAL, _VOLFS) ---------- */

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

int p9_host_chmod(struct p9_server *s, struct p9_obj *o, mode_t mode)
{
	char num[16];

	if (S_ISLNK(o->type))
		return -EOPNOTSUPP;
	/* fchmod takes no O_PATH descriptor; fchmodat2 (Linux 6.6) takes it
	 * with AT_EMPTY_PATH, and /proc/self/fd/N names the inode before that. */
	if (syscall(SYS_fchmodat2, o->fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
	if (s->proc_fd >= 0) {
		fd_name(num, sizeof(num), o->fd);
		return fchmodat(s->proc_fd, num, mode, 0) < 0 ? -errno : 0;
	}
	if (S_ISDIR(o->type))
		return fchmodat(o->fd, ".", mode, 0) < 0 ? -errno : 0;
	return -EOPNOTSUPP;
}

int p9_host_chown(struct p9_obj *o, uint32_t uid, uint32_t gid)
{
	return fchownat(o->fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0
		   ? -errno
		   : 0;
}
