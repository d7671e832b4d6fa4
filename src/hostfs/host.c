/*
 * host.c - every system call that resolves something the guest named.
 *
 * The rules (see hostfs.h): one component per call, relative to a descriptor
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
 * Also the objs (one O_PATH descriptor each), the descriptor budget they
 * are counted against, a share's life (hfs_new) and the guest's inode
 * numbers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "hostfs/hostfs.h"

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
struct hfs_xattr_args {
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

static bool obj_is(const struct hfs_obj *o, const struct statx *st)
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

/* Here, with the objs: the last hfs_obj_put gives back what the obj counted. */
static atomic_uint fds_used, fds_max;
static atomic_bool fds_max_set;

/* The budget from RLIMIT_NOFILE, unless hfs_set_fd_budget() fixed one. */
static void budget_default(void)
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

void hfs_set_fd_budget(unsigned max)
{
	atomic_store(&fds_max_set, max != 0);
	if (max)
		atomic_store(&fds_max, max);
	else
		budget_default();
}

int hfs_charge(struct hostfs *h, struct hfs_budget *b, struct hfs_obj *o)
{
	if (!o || o->charged || o == h->root)
		return 0;
	if (atomic_fetch_add(&b->used, 1) >= b->max) {
		atomic_fetch_sub(&b->used, 1);
		return -EMFILE;
	}
	if (atomic_fetch_add(&fds_used, 1) >= atomic_load(&fds_max)) {
		atomic_fetch_sub(&fds_used, 1);
		atomic_fetch_sub(&b->used, 1);
		return -ENFILE;
	}
	o->charged = b;
	return 0;
}

void hfs_uncharge(struct hfs_obj *o)
{
	if (!o->charged)
		return;
	atomic_fetch_sub(&o->charged->used, 1);
	atomic_fetch_sub(&fds_used, 1);
	o->charged = NULL;
}

/* --- objs ------------------------------------------------------------------ */

struct hfs_obj *hfs_obj_new(int fd, const struct statx *st)
{
	struct hfs_obj *o = malloc(sizeof(*o));

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
	o->charged = NULL;
	return o;
}

struct hfs_obj *hfs_obj_get(struct hfs_obj *o)
{
	if (o)
		atomic_fetch_add(&o->refs, 1);
	return o;
}

void hfs_obj_put(struct hfs_obj *o)
{
	if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	hfs_uncharge(o);
	close(o->fd);
	free(o);
}

int hfs_stat(struct hfs_obj *o, struct statx *st)
{
	return fd_stat(o->fd, st);
}

/* An fd's obj, or -errno; the fd is consumed either way. */
static int obj_from_fd(int fd, struct hfs_obj **out, struct statx *st)
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
	*out = hfs_obj_new(fd, st);
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
 * opened (hfs_reopen) and their magic links are symlinks, never followed.
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
static int proc_guard(struct hfs_obj *dir, const char *name, struct hfs_obj *o)
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

static int host_init(struct hostfs *h, int root_fd)
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
	err = obj_from_fd(fd, &h->root, &st);
	if (err)
		return err;
	err = proc_guard(NULL, NULL, h->root);
	if (!err && h->root->on_proc && h->root->ino != PROC_ROOT_INO)
		err = -EACCES;
	if (err) {
		hfs_obj_put(h->root);
		h->root = NULL;
		return err;
	}

	/* Is there anything above the root at all? If not, ".." needs no check. */
	fd = openat(h->root->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	h->root_is_top = fd >= 0 && fd_stat(fd, &up) == 0 && same_inode(&st, &up);
	if (fd >= 0)
		close(fd);

	fd = (int)syscall(SYS_openat2, h->root->fd, ".", &how, sizeof(how));
	h->has_openat2 = fd >= 0;
	if (fd >= 0)
		close(fd);

	/* Only a real procfs gives the inode-pinned reopen we rely on. */
	h->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (h->proc_fd >= 0 && (fstatfs(h->proc_fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)) {
		close(h->proc_fd);
		h->proc_fd = -1;
	}
	atomic_init(&h->has_xattrat, -1);
	return 0;
}

int hfs_new(int root_fd, struct hostfs **out)
{
	struct hostfs *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return -ENOMEM;
	h->proc_fd = -1;
	budget_default();
	err = host_init(h, root_fd);
	if (err) {
		free(h);
		return err;
	}
	pthread_mutex_init(&h->dev_lock, NULL);
	*out = h;
	return 0;
}

int hfs_open(const char *root_path, struct hostfs **out)
{
	int fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = hfs_new(fd, out);
	close(fd);
	return err;
}

void hfs_free(struct hostfs *h)
{
	if (!h)
		return;
	hfs_obj_put(h->root);
	if (h->proc_fd >= 0)
		close(h->proc_fd);
	pthread_mutex_destroy(&h->dev_lock);
	free(h);
}

bool hfs_is_root(const struct hostfs *h, const struct hfs_obj *o)
{
	return o == h->root || (o->dev == h->root->dev && o->ino == h->root->ino);
}

int hfs_name_ok(const char *name, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '\0', len) || memchr(name, '/', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

int hfs_lookup(struct hostfs *h, struct hfs_obj *dir, const char *name, struct hfs_obj **out,
	       struct statx *st)
{
	int fd, err;

	*out = NULL;
	if (h->has_openat2) {
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
		hfs_obj_put(*out);
		*out = NULL;
	}
	return err;
}

/*
 * Is the directory fd (with statx st) the share root or below it? Climbs
 * ".." until it meets the root (yes) or the top of the namespace (no). A
 * directory the host moved out of the share is therefore not beneath.
 */
static int beneath(struct hostfs *h, int fd, const struct statx *st)
{
	struct statx cs = *st, us;
	int cur = fd, up, err = -ELOOP;

	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		if (obj_is(h->root, &cs)) {
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

int hfs_parent(struct hostfs *h, struct hfs_obj *dir, struct hfs_obj **out, struct statx *st)
{
	int fd, err;

	if (hfs_is_root(h, dir)) {
		/* ".." of the root is the root, as in any chroot. */
		err = hfs_stat(h->root, st);
		if (!err)
			*out = hfs_obj_get(h->root);
		return err;
	}
	if (!S_ISDIR(dir->type))
		return -ENOTDIR;
	fd = openat(dir->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fd_stat(fd, st);
	if (!err && !h->root_is_top)
		err = beneath(h, fd, st);
	if (err) {
		close(fd);
		return err;
	}
	*out = hfs_obj_new(fd, st);
	if (!*out)
		return -ENOMEM;
	/* A parent is never per-process: nothing below one was ever reached. */
	err = proc_guard(dir, NULL, *out);
	if (err) {
		hfs_obj_put(*out);
		*out = NULL;
	}
	return err;
}

static void fd_name(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "%d", fd);
}

int hfs_reopen(struct hostfs *h, struct hfs_obj *o, struct hfs_obj *dir, const char *name,
	       int flags)
{
	struct statx st;
	char num[16];
	int fd, err;

	/* A reopen names an inode already found: it never makes one, and
	 * O_NOFOLLOW would refuse the /proc/self/fd/N link it goes through. */
	if (flags & (O_CREAT | O_EXCL | O_NOFOLLOW))
		return -EINVAL;
	flags |= O_CLOEXEC | O_NOCTTY;
	if (S_ISLNK(o->type))
		return -ELOOP;
	if (!S_ISREG(o->type) && !S_ISDIR(o->type))
		return -EOPNOTSUPP; /* devices and FIFOs are the guest's own */
	if (S_ISDIR(o->type))
		flags |= O_DIRECTORY;

	if (h->proc_fd >= 0) {
		fd_name(num, sizeof(num), o->fd);
		fd = openat(h->proc_fd, num, flags);
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

int hfs_check_name(struct hfs_obj *dir, const char *name, struct hfs_obj *o)
{
	struct statx st;

	if (statx(dir->fd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_INO, &st) < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	return obj_is(o, &st) ? 0 : -ESTALE;
}

int hfs_find_name(struct hostfs *h, struct hfs_obj *o, struct hfs_obj **dirp, char **namep)
{
	struct hfs_obj *dir = NULL;
	struct statx st;
	char buf[8192];
	int dfd = -1, err;
	long n;

	if (!S_ISDIR(o->type))
		return -ESTALE; /* a file's other names are not ours to guess */
	if (hfs_is_root(h, o))
		return -EBUSY;
	err = hfs_parent(h, o, &dir, &st);
	if (err)
		return err;
	if (obj_is(o, &st)) {
		err = -EBUSY; /* a mount or namespace top: it has no name */
		goto out;
	}
	dfd = hfs_reopen(h, dir, NULL, NULL, O_RDONLY);
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
			if (hfs_check_name(dir, d->d_name, o))
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
		hfs_obj_put(dir);
	else
		*dirp = dir;
	return err;
}

uint64_t hfs_ino(struct hostfs *h, dev_t dev, uint64_t ino)
{
	unsigned i;

	if (dev == h->root->dev)
		return ino;
	/*
	 * Files on other mounts get the device's slot number in the top bits,
	 * so two inode numbers from two file systems do not collide in the
	 * guest's inode cache. Past HFS_DEVMAP devices, a hash: collisions
	 * become possible but nothing breaks.
	 */
	pthread_mutex_lock(&h->dev_lock);
	for (i = 0; i < h->ndevs && h->devs[i] != dev; i++)
		;
	if (i == h->ndevs && h->ndevs < HFS_DEVMAP)
		h->devs[h->ndevs++] = dev;
	pthread_mutex_unlock(&h->dev_lock);
	if (i < HFS_DEVMAP)
		return ino ^ ((uint64_t)(i + 1) << 48);
	return ino ^ ((uint64_t)dev * 0x9e3779b97f4a7c15ull);
}

/* --- xattrs of the inode itself --------------------------------------- */

static bool use_xattrat(struct hostfs *h)
{
	return atomic_load(&h->has_xattrat) != 0;
}

/* After an *xattrat() call: false (fall back) if the kernel lacks it. */
static bool xattrat_done(struct hostfs *h, long r)
{
	if (r < 0 && errno == ENOSYS) {
		atomic_store(&h->has_xattrat, 0);
		return false;
	}
	atomic_store(&h->has_xattrat, 1);
	return true;
}

static void proc_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

ssize_t hfs_getxattr(struct hostfs *h, struct hfs_obj *o, const char *name, void *buf, size_t size)
{
	char num[40];
	long r;

	if (S_ISLNK(o->type))
		return -ENODATA; /* a symlink's attributes are beyond the protocol's reach */
	if (h->proc_fd < 0)
		return -EOPNOTSUPP;
	if (use_xattrat(h)) {
		struct hfs_xattr_args a = {.value = (uintptr_t)buf, .size = (uint32_t)size};

		fd_name(num, sizeof(num), o->fd);
		r = syscall(SYS_getxattrat, h->proc_fd, num, 0, name, &a, sizeof(a));
		if (xattrat_done(h, r))
			return r < 0 ? -errno : r;
	}
	proc_path(num, sizeof(num), o->fd);
	r = getxattr(num, name, buf, size);
	return r < 0 ? -errno : r;
}

ssize_t hfs_listxattr(struct hostfs *h, struct hfs_obj *o, char *buf, size_t size)
{
	char num[40];
	long r;

	if (S_ISLNK(o->type))
		return 0;
	if (h->proc_fd < 0)
		return -EOPNOTSUPP;
	if (use_xattrat(h)) {
		fd_name(num, sizeof(num), o->fd);
		r = syscall(SYS_listxattrat, h->proc_fd, num, 0, buf, size);
		if (xattrat_done(h, r))
			return r < 0 ? -errno : r;
	}
	proc_path(num, sizeof(num), o->fd);
	r = listxattr(num, buf, size);
	return r < 0 ? -errno : r;
}

int hfs_setxattr(struct hostfs *h, struct hfs_obj *o, const char *name, const void *val,
		 size_t size, int flags)
{
	char num[40];
	long r;

	if (S_ISLNK(o->type))
		return -EOPNOTSUPP;
	if (h->proc_fd < 0)
		return -EOPNOTSUPP;
	if (use_xattrat(h)) {
		struct hfs_xattr_args a = {
		    .value = (uintptr_t)val,
		    .size = (uint32_t)size,
		    .flags = (uint32_t)flags,
		};

		fd_name(num, sizeof(num), o->fd);
		r = syscall(SYS_setxattrat, h->proc_fd, num, 0, name, &a, sizeof(a));
		if (xattrat_done(h, r))
			return r < 0 ? -errno : 0;
	}
	proc_path(num, sizeof(num), o->fd);
	r = setxattr(num, name, val, size, flags);
	return r < 0 ? -errno : 0;
}

int hfs_removexattr(struct hostfs *h, struct hfs_obj *o, const char *name)
{
	char num[40];
	long r;

	if (S_ISLNK(o->type))
		return -EOPNOTSUPP;
	if (h->proc_fd < 0)
		return -EOPNOTSUPP;
	if (use_xattrat(h)) {
		fd_name(num, sizeof(num), o->fd);
		r = syscall(SYS_removexattrat, h->proc_fd, num, 0, name);
		if (xattrat_done(h, r))
			return r < 0 ? -errno : 0;
	}
	proc_path(num, sizeof(num), o->fd);
	r = removexattr(num, name);
	return r < 0 ? -errno : 0;
}

/* --- owner and mode of the inode itself (HFS_OWNERS_REAL, _VOLFS) ---------- */

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

int hfs_chmod(struct hostfs *h, struct hfs_obj *o, mode_t mode)
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
	if (h->proc_fd >= 0) {
		fd_name(num, sizeof(num), o->fd);
		return fchmodat(h->proc_fd, num, mode, 0) < 0 ? -errno : 0;
	}
	if (S_ISDIR(o->type))
		return fchmodat(o->fd, ".", mode, 0) < 0 ? -errno : 0;
	return -EOPNOTSUPP;
}

int hfs_chown(struct hfs_obj *o, uint32_t uid, uint32_t gid)
{
	return fchownat(o->fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0
		   ? -errno
		   : 0;
}
