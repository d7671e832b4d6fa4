/*
 * trap.c - the SIGSYS handler: every system call the filter traps lands here,
 * in the guest thread that made it, and is answered by rewriting the saved
 * rax. Calls the host can do once paths are translated are re-issued from
 * here (the filter lets our own text through); identities, signal masks and
 * metadata the host cannot hold are emulated.
 *
 * The handler runs with SA_NODEFER and an empty mask, so a guest signal
 * handler may interrupt it and trap again: nothing here keeps state between
 * two calls except the process-wide ids, which are single stores.
 */
#include <asm/signal.h>
#include <linux/signal.h>
#include <asm/siginfo.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>
#include <asm/stat.h>
#include <linux/stat.h>
#include <linux/fcntl.h>
#include <linux/errno.h>
#include <linux/xattr.h>
#include <linux/capability.h>
#include <linux/mman.h>
#include <linux/un.h>
#include <linux/socket.h>
#include <asm/socket.h>
#include <linux/seccomp.h>
#include <linux/prctl.h>
#include <linux/openat2.h>

#include "common/posix_const.h"
#include "common/volfs.h"
#include "pico.h"
#include "sys.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_faccessat2
#define __NR_faccessat2 439
#endif

struct pico_state pico;

#define SIGSYS_BIT  (1UL << (SIGSYS - 1))
#define SEGV_BIT    (1UL << (SIGSEGV - 1))
#define BUS_BIT     (1UL << (SIGBUS - 1))
#define UNBLOCKABLE (SIGSYS_BIT | (1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1)))

struct ksigaction {
	unsigned long handler, flags, restorer, mask;
};

/* ---- metadata ------------------------------------------------------------ */

/* Fixes up what stat returned: the attribute if there is one, otherwise
 * the host owner becomes root (VolFs) or the guest user (elsewhere); the
 * tools folder's files are the system's, so root's whoever made them. */
static void fix_ids(unsigned *uid, unsigned *gid, int region)
{
	if (region == R_TOOLS) {
		*uid = *gid = 0;
		return;
	}
	if (*uid == pico.host_uid)
		*uid = region == R_VOL ? 0 : pico.euid;
	if (*gid == pico.host_gid)
		*gid = region == R_VOL ? 0 : pico.egid;
}

static void fix_stat(struct stat *st, const struct lxs_meta *m, int region)
{
	if (m) {
		st->st_uid = m->uid;
		st->st_gid = m->gid;
		st->st_mode = m->mode;
		st->st_rdev = pico_dev_make(m->major, m->minor);
		return;
	}
	unsigned u = st->st_uid, g = st->st_gid;
	fix_ids(&u, &g, region);
	st->st_uid = u, st->st_gid = g;
}

static void fix_statx(struct statx *sx, const struct lxs_meta *m, int region)
{
	if (m) {
		sx->stx_uid = m->uid;
		sx->stx_gid = m->gid;
		sx->stx_mode = (unsigned short)m->mode;
		sx->stx_rdev_major = m->major;
		sx->stx_rdev_minor = m->minor;
		return;
	}
	fix_ids(&sx->stx_uid, &sx->stx_gid, region);
}

/* Metadata of an open fd, with the region it lives in; 0, -ENODATA, -errno. */
static long fd_meta(int fd, unsigned mode, struct lxs_meta *m, int *region)
{
	char host[PICO_HOST];
	*region = R_VOL;
	if (!S_ISREG(mode) && !S_ISDIR(mode)) {
		*region = R_DEV;
		return -ENODATA;
	}
	long r = pico_meta_get(NULL, fd, m);
	if (r == 0 || (r == -ENODATA && pico.euid == 0 && pico.egid == 0))
		return r;
	/* O_PATH fds have no xattr calls, and without an attribute only the
	 * path tells VolFs from the host's files. */
	if (pico_fd_host(fd, host) < 0)
		return -ENODATA;
	*region = pico_host_region(host);
	if (r == -EBADF && *region == R_VOL)
		return pico_meta_get(host, -1, m);
	return -ENODATA;
}

/* umask: the guest's kept, the real one without the owner's bits (pico.h). */
static long do_umask(long mask)
{
	unsigned old = pico_cur_umask();
	pico.umask = (unsigned)mask & 0777;
	sys1(__NR_umask, (long)(pico.umask & 077));
	return old;
}

void pico_umask_init(void)
{
	if (pico.umask == ~0u)
		pico.umask = (unsigned)sys1(__NR_umask, 022) & 0777;
	sys1(__NR_umask, (long)(pico.umask & 077));
}

/* ---- files ---------------------------------------------------------------- */

/* stat's fast path: an fd on a VolFs path that holds no symlink, opened
 * so that fstat and fgetxattr work on it (O_PATH fds take no xattr calls).
 * -EAGAIN and others: use the slow path. */
static long fast_stat_open(long dirfd, const char *path, long flags, char *host)
{
	if (pico_lexical((int)dirfd, path, host) < 0)
		return -EAGAIN;
	if (pico_may_search(host) < 0)
		return -EAGAIN; /* the slow path says so, or finds a link that allows it */
	long fd = pico_open_nolinks(host,
				    O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY |
					((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0),
				    0);
	return fd == -ENOENT || fd == -ENOTDIR || fd >= 0 ? fd : -EAGAIN;
}

static long do_fstat(long fd, struct stat *st)
{
	struct lxs_meta m;
	int region;
	long r = sys2(__NR_fstat, fd, (long)st);
	if (r < 0)
		return r;
	r = fd_meta((int)fd, st->st_mode, &m, &region);
	fix_stat(st, r == 0 ? &m : NULL, region);
	if (st->st_ino == 1 && pico_is_proc_root(st->st_ino, st->st_dev))
		st->st_blksize = PICO_PROC_BLKSIZE; /* lists through pidview.c */
	return 0;
}

static long do_fstatat(long dirfd, const char *path, struct stat *st, long flags)
{
	char host[PICO_HOST];
	struct lxs_meta m;
	if ((flags & AT_EMPTY_PATH) && (!path || !path[0]))
		return do_fstat(dirfd, st);
	long fd = fast_stat_open(dirfd, path, flags, host);
	if (fd >= 0) {
		long r = sys2(__NR_fstat, fd, (long)st);
		int got = r == 0 && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) &&
			  pico_meta_get(NULL, (int)fd, &m) == 0;
		sys1(__NR_close, fd);
		if (r < 0)
			return r;
		fix_stat(st, got ? &m : NULL, R_VOL);
		return 0;
	}
	if (fd == -ENOENT || fd == -ENOTDIR)
		return fd;
	int region = pico_resolve((int)dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : P_FOLLOW,
				  host, NULL);
	if (region < 0)
		return region;
	long r = sys4(__NR_newfstatat, AT_FDCWD, (long)host, (long)st, flags & AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return r;
	int got = region == R_VOL && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) &&
		  pico_meta_get(host, -1, &m) == 0;
	fix_stat(st, got ? &m : NULL, region);
	return 0;
}

static long do_statx(long dirfd, const char *path, long flags, long mask, struct statx *sx)
{
	char host[PICO_HOST];
	struct lxs_meta m;
	long r;
	int region;
	if ((flags & AT_EMPTY_PATH) && (!path || !path[0])) {
		r = sys5(__NR_statx, dirfd, (long)"", flags, mask, (long)sx);
		if (r < 0)
			return r;
		r = fd_meta((int)dirfd, sx->stx_mode, &m, &region);
		fix_statx(sx, r == 0 ? &m : NULL, region);
		if (sx->stx_ino == 1 &&
		    pico_is_proc_root(1, pico_dev_make(sx->stx_dev_major, sx->stx_dev_minor)))
			sx->stx_blksize = PICO_PROC_BLKSIZE; /* lists through pidview.c */
		return 0;
	}
	long fd = fast_stat_open(dirfd, path, flags, host);
	if (fd >= 0) {
		r = sys5(__NR_statx, fd, (long)"", AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE),
			 mask, (long)sx);
		int got = r == 0 && (S_ISREG(sx->stx_mode) || S_ISDIR(sx->stx_mode)) &&
			  pico_meta_get(NULL, (int)fd, &m) == 0;
		sys1(__NR_close, fd);
		if (r < 0)
			return r;
		fix_statx(sx, got ? &m : NULL, R_VOL);
		return 0;
	}
	if (fd == -ENOENT || fd == -ENOTDIR)
		return fd;
	region = pico_resolve((int)dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : P_FOLLOW, host,
			      NULL);
	if (region < 0)
		return region;
	r = sys5(__NR_statx, AT_FDCWD, (long)host, flags & ~(long)AT_EMPTY_PATH, mask, (long)sx);
	if (r < 0)
		return r;
	int got = region == R_VOL && (S_ISREG(sx->stx_mode) || S_ISDIR(sx->stx_mode)) &&
		  pico_meta_get(host, -1, &m) == 0;
	fix_statx(sx, got ? &m : NULL, region);
	return 0;
}

static long do_access(long dirfd, const char *path, long mode, long flags)
{
	char host[PICO_HOST];
	struct stat st;
	struct lxs_meta m;
	if (mode & ~7L)
		return -EINVAL;
	int region = pico_resolve((int)dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : P_FOLLOW,
				  host, NULL);
	if (region < 0)
		return region;
	if (region == R_TOOLS && (mode & 2 /* W_OK */)) {
		/* as Linux says for a file on a read-only mount */
		long r = sys4(__NR_newfstatat, AT_FDCWD, (long)host, (long)&st,
			      flags & AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return r;
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
			return -EROFS;
	}
	if (region != R_VOL) {
		long r =
		    sys4(__NR_faccessat2, AT_FDCWD, (long)host, mode, flags & AT_SYMLINK_NOFOLLOW);
		/* The faked root reads and writes what the user can. */
		return r;
	}
	long r = pico_meta_of(host, &st, &m);
	if (r < 0)
		return r;
	if (mode == 0)
		return 0;
	unsigned uid = (flags & AT_EACCESS) ? pico.euid : pico.ruid;
	unsigned gid = (flags & AT_EACCESS) ? pico.egid : pico.rgid;
	if (uid == 0) {
		if ((mode & 1) && !S_ISDIR(m.mode) && !(m.mode & 0111))
			return -EACCES;
		return 0;
	}
	unsigned bits;
	if (uid == m.uid)
		bits = (m.mode >> 6) & 7;
	else if (gid == m.gid || pico_in_groups(m.gid))
		bits = (m.mode >> 3) & 7;
	else
		bits = m.mode & 7;
	return ((unsigned)mode & ~bits) ? -EACCES : 0;
}

static long do_chmod(struct pico_target *t, int region, long mode)
{
	struct stat st;
	struct lxs_meta m;
	if (region != R_VOL) {
		long r = t->fd >= 0 ? sys2(__NR_fchmod, t->fd, mode)
				    : sys3(__NR_fchmodat, AT_FDCWD, (long)t->host, mode);
		return r == -EPERM && pico.euid == 0 ? 0 : r;
	}
	long r = pico_meta_of_t(t, &st, &m);
	if (r < 0)
		return r;
	if (pico.euid != 0 && pico.euid != m.uid)
		return -EPERM;
	if (S_ISLNK(st.st_mode))
		return -EOPNOTSUPP;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) /* no attribute: the host's mode is all */
		return t->fd >= 0 ? sys2(__NR_fchmod, t->fd, mode & 07777)
				  : sys3(__NR_fchmodat, AT_FDCWD, (long)t->host, mode & 07777);
	m.mode = (m.mode & S_IFMT) | ((unsigned)mode & 07777);
	if (pico.euid != 0 && !pico_in_groups(m.gid))
		m.mode &= ~(unsigned)S_ISGID;
	unsigned hp = S_ISREG(st.st_mode) && !S_ISREG(m.mode) ? 0600 : lxs_host_perm(m.mode);
	r = t->fd >= 0 ? sys2(__NR_fchmod, t->fd, hp)
		       : sys3(__NR_fchmodat, AT_FDCWD, (long)t->host, hp);
	if (r < 0)
		return r;
	return pico_meta_put_t(t, &m, hp);
}

static long do_chown(struct pico_target *t, int region, long uid, long gid)
{
	struct stat st;
	struct lxs_meta m;
	if (region != R_VOL) {
		long r = t->fd >= 0 ? sys3(__NR_fchown, t->fd, uid, gid)
				    : sys5(__NR_fchownat, AT_FDCWD, (long)t->host, uid, gid,
					   AT_SYMLINK_NOFOLLOW);
		return r == -EPERM && pico.euid == 0 ? 0 : r;
	}
	long r = pico_meta_of_t(t, &st, &m);
	if (r < 0)
		return r;
	unsigned u = (unsigned)uid, g = (unsigned)gid;
	if (pico.euid != 0) {
		if ((u != (unsigned)-1 && u != m.uid) || m.uid != pico.euid)
			return -EPERM;
		if (g != (unsigned)-1 && g != m.gid && !pico_in_groups(g))
			return -EPERM;
	}
	/* Linux keeps no user.* xattrs on symlinks, FIFOs or sockets: their
	 * owner stays 0:0 */
	if (S_ISLNK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return 0;
	if (u != (unsigned)-1)
		m.uid = u;
	if (g != (unsigned)-1)
		m.gid = g;
	if (!S_ISDIR(m.mode) && (u != (unsigned)-1 || g != (unsigned)-1)) {
		m.mode &= ~(unsigned)S_ISUID;
		if (m.mode & S_IXGRP)
			m.mode &= ~(unsigned)S_ISGID;
	}
	return pico_meta_put_t(t, &m, st.st_mode & 07777);
}

/*
 * The tools folder (R_TOOLS) is read-only, as a read-only mount would be:
 * a name there is changed (ro_change) or made (ro_create) with the errno
 * Linux gives, the missing name's or the existing one's first. The host
 * folder is the user's own, so nothing but this keeps it as lxs made it.
 */
static long ro_change(const char *host)
{
	struct stat st;
	long r = sys4(__NR_newfstatat, AT_FDCWD, (long)host, (long)&st, AT_SYMLINK_NOFOLLOW);
	return r < 0 ? r : -EROFS;
}

static long ro_create(const char *host)
{
	struct stat st;
	long r = sys4(__NR_newfstatat, AT_FDCWD, (long)host, (long)&st, AT_SYMLINK_NOFOLLOW);
	return r == 0 ? -EEXIST : r == -ENOENT ? -EROFS : r;
}

static long do_mknod(long dirfd, const char *path, long mode, long dev)
{
	char host[PICO_HOST];
	unsigned type = (unsigned)mode & S_IFMT;
	int region = pico_resolve((int)dirfd, path, 0, host, NULL);
	if (region < 0)
		return region;
	if (type == 0)
		type = S_IFREG;
	if (region == R_TOOLS)
		return ro_create(host);
	if (region == R_VOL && pico_dac_parent(host) < 0)
		return -EACCES;
	if (type == S_IFIFO || type == S_IFSOCK || region != R_VOL)
		return sys4(__NR_mknodat, AT_FDCWD, (long)host, mode, dev);
	if (type == S_IFREG) {
		long fd = sys4(__NR_openat, AT_FDCWD, (long)host,
			       O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, (mode & 0777) | 0600);
		if (fd < 0)
			return fd;
		sys1(__NR_close, fd);
		if (pico_need_meta_on_create(host, S_IFREG, (unsigned)mode))
			pico_created(host, S_IFREG, (unsigned)mode);
		return 0;
	}
	if (type != S_IFCHR && type != S_IFBLK)
		return -EINVAL;
	if (pico.euid != 0)
		return -EPERM;
	long fd =
	    sys4(__NR_openat, AT_FDCWD, (long)host, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return fd;
	sys1(__NR_close, fd);
	struct lxs_meta m = {
	    pico.fsuid, pico.fsgid, type | ((unsigned)mode & 07777 & ~pico_cur_umask()),
	    pico_dev_major((unsigned long)dev), pico_dev_minor((unsigned long)dev)};
	pico_setgid_parent(host, &m.gid);
	return pico_meta_put(host, &m, 0600);
}

static long do_mkdir(long dirfd, const char *path, long mode)
{
	char host[PICO_HOST];
	int region = pico_resolve((int)dirfd, path, 0, host, NULL);
	if (region < 0)
		return region;
	if (region == R_TOOLS)
		return ro_create(host);
	if (region != R_VOL)
		return sys3(__NR_mkdirat, AT_FDCWD, (long)host, mode);
	long r = pico_dac_parent(host);
	if (r < 0)
		return r;
	r = sys3(__NR_mkdirat, AT_FDCWD, (long)host, (mode & 0777) | 0700);
	if (r == 0 && pico_need_meta_on_create(host, S_IFDIR, (unsigned)mode))
		pico_created(host, S_IFDIR, (unsigned)mode);
	return r;
}

/* One path, no follow of the last component, then the host call. */
static long path1(long dirfd, const char *path, int follow, char *host)
{
	return pico_resolve((int)dirfd, path, follow ? P_FOLLOW : 0, host, NULL);
}

static long do_readlink(long dirfd, const char *path, char *buf, long size)
{
	char host[PICO_HOST], guest[PICO_PATH], t[PICO_HOST];
	if (size <= 0)
		return -EINVAL;
	if (!path[0]) /* the link an O_PATH descriptor holds: its text as stored */
		return sys4(__NR_readlinkat, dirfd, (long)path, (long)buf, size);
	int region = pico_resolve((int)dirfd, path, 0, host, guest);
	if (region < 0)
		return region;
	long n = sys4(__NR_readlinkat, AT_FDCWD, (long)host, (long)t, PICO_PATH - 1);
	if (n < 0)
		return n;
	t[n] = 0;
	if (region == R_PROC) {
		/* /proc/<pid>/{exe,root,cwd,fd/N} are where escapes and
		 * confusion come from: answer them in guest terms, by
		 * resolving the link itself the way the guest would. */
		int r = pico_resolve(AT_FDCWD, guest, P_FOLLOW, t, guest);
		if (r >= 0 && r != R_PROC) {
			memcpy(t, guest, strlen(guest) + 1);
		} else {
			/* not a path in guest terms (pipe:[..]): as the host says */
			n = sys4(__NR_readlinkat, AT_FDCWD, (long)host, (long)t, PICO_PATH - 1);
			if (n < 0)
				return n;
			t[n] = 0;
			if (t[0] == '/' && pico_to_guest(t, t) < 0)
				return -ENOENT;
		}
		n = (long)strlen(t);
	} else if (region != R_VOL && region != R_TOOLS && t[0] == '/') {
		if (n + 9 < PICO_PATH && pico_to_guest(t, t) == 0)
			n = (long)strlen(t);
	}
	if (n > size)
		n = size;
	return pico_ucopy(buf, t, (size_t)n) ? -EFAULT : n;
}

static long do_getcwd(char *buf, long size)
{
	char guest[PICO_PATH];
	long r = pico_fd_guest(AT_FDCWD, guest);
	if (r < 0)
		return r;
	long n = (long)strlen(guest) + 1;
	if ((unsigned long)n > (unsigned long)size) /* the kernel's size is unsigned */
		return -ERANGE;
	return pico_ucopy(buf, guest, (size_t)n) ? -EFAULT : n;
}

/* ---- xattrs: guest names -> host names (see common/volfs.h) ---------------- */

static long xname(const char *name, char *out)
{
	switch (lxs_xattr_to_host(name, out)) {
	case LXS_XNAME_OK:
		return 0;
	case LXS_XNAME_LONG:
		return -ERANGE;
	case LXS_XNAME_RESERVED:
		return -EPERM;
	default:
		return -EOPNOTSUPP;
	}
}

/* Turns a host listxattr result in buf into the guest's, in place. */
static long xlist_filter(char *buf, long n)
{
	return lxs_xattr_list_to_guest(buf, n);
}

static int user_xattrs_allowed(long target, int byfd)
{
	char v[LXS_META_MAX];
	struct lxs_meta m;
	long n = byfd ? sys4(__NR_fgetxattr, target, (long)LXS_META_XATTR, (long)v, sizeof v)
		      : sys4(__NR_lgetxattr, target, (long)LXS_META_XATTR, (long)v, sizeof v);
	if (n <= 0 || lxs_meta_parse(v, n, &m) < 0)
		return 1; /* as the host has it */
	unsigned t = m.mode & S_IFMT;
	return t == S_IFREG || t == S_IFDIR;
}

static long do_xattr(long nr, long a0, long a1, long a2, long a3, long a4)
{
	char host[PICO_HOST], name[LXS_XATTR_HOST_MAX], lbuf[4096];
	long target = a0, r, region = R_VOL;
	int follow = nr == __NR_getxattr || nr == __NR_setxattr || nr == __NR_listxattr ||
		     nr == __NR_removexattr;
	int byfd = nr == __NR_fgetxattr || nr == __NR_fsetxattr || nr == __NR_flistxattr ||
		   nr == __NR_fremovexattr;
	if (!byfd) {
		region = r = path1(AT_FDCWD, (const char *)a0, follow, host);
		if (r < 0)
			return r;
		target = (long)host;
	}
	int is_list = nr == __NR_listxattr || nr == __NR_llistxattr || nr == __NR_flistxattr;
	if (is_list) {
		long lnr = byfd ? __NR_flistxattr : __NR_llistxattr;
		/* The host's list is longer than the guest's (our names are in
		 * it): listed here and then measured against the guest's size. */
		r = sys3(lnr, target, (long)lbuf, sizeof lbuf);
		if (r >= 0) {
			r = xlist_filter(lbuf, r);
			if (a2 == 0 || r < 0)
				return r;
			if (r > a2)
				return -ERANGE;
			return pico_ucopy((char *)a1, lbuf, (unsigned long)r) ? -EFAULT : r;
		}
		if (r != -ERANGE || a2 == 0)
			return r;
		r = sys3(lnr, target, a1, a2);
		return r < 0 ? r : xlist_filter((char *)a1, r);
	}
	int is_get = nr == __NR_getxattr || nr == __NR_lgetxattr || nr == __NR_fgetxattr;
	r = xname((const char *)a1, name);
	if (r < 0 && byfd) { /* the descriptor is looked at first (O_PATH: EBADF) */
		long fl = sys2(__NR_fcntl, target, F_GETFL);
		if (fl < 0 || (fl & O_PATH))
			return fl < 0 ? fl : -EBADF;
	}
	if (r < 0)
		return is_get && r == -EPERM ? -ENODATA : r;
	/* user.* belongs to regular files and folders only; a device, fifo or
	 * socket here is a regular file on the host holding its type. */
	if (memcmp(name, "user.", 5) == 0 && !user_xattrs_allowed(target, byfd))
		return is_get ? -ENODATA : -EPERM;
	if (!is_get) {
		r = byfd ? pico_fd_readonly(target) : region == R_TOOLS ? ro_change(host) : 0;
		if (r < 0)
			return r;
	}
	/* Always the l- variant on resolved paths: the link was followed already. */
	switch (nr) {
	case __NR_getxattr:
	case __NR_lgetxattr:
		return sys4(__NR_lgetxattr, target, (long)name, a2, a3);
	case __NR_fgetxattr:
		return sys4(__NR_fgetxattr, target, (long)name, a2, a3);
	case __NR_setxattr:
	case __NR_lsetxattr:
		return sys5(__NR_lsetxattr, target, (long)name, a2, a3, a4);
	case __NR_fsetxattr:
		return sys5(__NR_fsetxattr, target, (long)name, a2, a3, a4);
	case __NR_removexattr:
	case __NR_lremovexattr:
		return sys2(__NR_lremovexattr, target, (long)name);
	default:
		return sys2(__NR_fremovexattr, target, (long)name);
	}
}

/* ---- sockets: AF_UNIX paths ------------------------------------------------ */

static long do_sockaddr(long nr, long fd, const void *addr, long len)
{
	struct sockaddr_un nu, copy;
	const struct sockaddr_un *su = &copy;
	char host[PICO_HOST];
	if (!addr || len <= 2 || len > (long)sizeof nu ||
	    pico_ucopy(&copy, addr, (unsigned long)len) || su->sun_family != 1 /* AF_UNIX */ ||
	    su->sun_path[0] == 0)
		return sys3(nr, fd, (long)addr, len);
	/* Another family's socket: the kernel's own answer (EAFNOSUPPORT,
	 * EINVAL), not a translated path's. */
	int domain = 0, dl = sizeof domain;
	long r = sys5(__NR_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, (long)&domain, (long)&dl);
	if (r < 0 || domain != 1 /* AF_UNIX */)
		return sys3(nr, fd, (long)addr, len);
	char path[sizeof nu.sun_path + 1];
	size_t pl = (size_t)len - 2;
	memcpy(path, su->sun_path, pl);
	path[pl] = 0;
	r = pico_resolve(AT_FDCWD, path, nr == __NR_connect ? P_FOLLOW : 0, host, NULL);
	if (r < 0)
		return r;
	if (r == R_TOOLS && nr == __NR_bind) { /* a socket is a new name: read-only there */
		r = ro_create(host);
		return r == -EEXIST ? -EADDRINUSE : r;
	}
	nu.sun_family = 1; /* AF_UNIX */
	size_t hl = strlen(host);
	if (hl < sizeof nu.sun_path) {
		memcpy(nu.sun_path, host, hl + 1);
		return sys3(nr, fd, (long)&nu, (long)(2 + hl + 1));
	}
	/* A socket address holds 107 bytes, less than a distro's folder may
	 * take on the host: name the socket through its folder, opened. */
	char *slash = host + hl;
	while (slash > host && *slash != '/')
		slash--;
	if (slash == host || strlen(slash) > sizeof nu.sun_path - 32)
		return -ENAMETOOLONG;
	*slash = 0;
	long dfd = sys4(__NR_openat, AT_FDCWD, (long)host, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return dfd;
	char *e = pico_utoa(nu.sun_path + 14, (unsigned long)dfd);
	memcpy(nu.sun_path, "/proc/self/fd/", 14);
	memcpy(e, slash, strlen(slash + 1) + 2);
	*e = '/';
	r = sys3(nr, fd, (long)&nu, (long)(2 + strlen(nu.sun_path) + 1));
	sys1(__NR_close, dfd);
	return r;
}

/* ---- identities ------------------------------------------------------------ */

static int id_ok(unsigned v, unsigned a, unsigned b, unsigned c)
{
	return v == (unsigned)-1 || v == a || v == b || v == c;
}

/* priv: CAP_SETUID or CAP_SETGID (privilege.c) */
static long set_res(unsigned *r, unsigned *e, unsigned *s, unsigned *fs, int priv, long nr, long a0,
		    long a1, long a2)
{
	unsigned nr_ = (unsigned)a0, ne = (unsigned)a1, ns = (unsigned)a2;
	switch (nr) {
	case 0: /* setuid / setgid */
		if (priv) {
			*r = *e = *s = *fs = nr_;
			return 0;
		}
		if (nr_ != *r && nr_ != *s)
			return -EPERM;
		*e = *fs = nr_;
		return 0;
	case 1: /* setreuid / setregid */
		if (!priv && (!id_ok(nr_, *r, *e, *e) || !id_ok(ne, *r, *e, *s)))
			return -EPERM;
		{
			unsigned old_r = *r;
			if (nr_ != (unsigned)-1)
				*r = nr_;
			if (ne != (unsigned)-1)
				*e = ne;
			if (nr_ != (unsigned)-1 || (ne != (unsigned)-1 && ne != old_r))
				*s = *e;
		}
		*fs = *e;
		return 0;
	default: /* setresuid / setresgid */
		if (!priv &&
		    (!id_ok(nr_, *r, *e, *s) || !id_ok(ne, *r, *e, *s) || !id_ok(ns, *r, *e, *s)))
			return -EPERM;
		if (nr_ != (unsigned)-1)
			*r = nr_;
		if (ne != (unsigned)-1)
			*e = ne;
		if (ns != (unsigned)-1)
			*s = ns;
		*fs = *e;
		return 0;
	}
}

/* A uid change moves the capability sets as Linux's does; every change is
 * published for other processes' /proc/<pid>/status (privilege.c). */
static long uid_changed(long r, unsigned old_r, unsigned old_e, unsigned old_s)
{
	if (r == 0)
		pico_caps_setuid(old_r, old_e, old_s);
	pico_ids_publish();
	return r;
}

static long do_ids(long nr, long a0, long a1, long a2)
{
	unsigned o_r = pico.ruid, o_e = pico.euid, o_s = pico.suid;
	int setuid_ok = pico_capable(7 /* CAP_SETUID */),
	    setgid_ok = pico_capable(6 /* CAP_SETGID */);
	switch (nr) {
	case __NR_getuid:
		return pico.ruid;
	case __NR_geteuid:
		return pico.euid;
	case __NR_getgid:
		return pico.rgid;
	case __NR_getegid:
		return pico.egid;
	case __NR_getresuid:
	case __NR_getresgid: {
		int u = nr == __NR_getresuid;
		unsigned v[3] = {u ? pico.ruid : pico.rgid, u ? pico.euid : pico.egid,
				 u ? pico.suid : pico.sgid};
		if (pico_ucopy((void *)a0, &v[0], 4) || pico_ucopy((void *)a1, &v[1], 4) ||
		    pico_ucopy((void *)a2, &v[2], 4))
			return -EFAULT;
		return 0;
	}
	case __NR_setuid:
		return uid_changed(set_res(&pico.ruid, &pico.euid, &pico.suid, &pico.fsuid,
					   setuid_ok, 0, a0, 0, 0),
				   o_r, o_e, o_s);
	case __NR_setreuid:
		return uid_changed(set_res(&pico.ruid, &pico.euid, &pico.suid, &pico.fsuid,
					   setuid_ok, 1, a0, a1, 0),
				   o_r, o_e, o_s);
	case __NR_setresuid:
		return uid_changed(set_res(&pico.ruid, &pico.euid, &pico.suid, &pico.fsuid,
					   setuid_ok, 2, a0, a1, a2),
				   o_r, o_e, o_s);
	case __NR_setgid:
	case __NR_setregid:
	case __NR_setresgid: {
		long k = nr == __NR_setgid ? 0 : nr == __NR_setregid ? 1 : 2;
		long r = set_res(&pico.rgid, &pico.egid, &pico.sgid, &pico.fsgid, setgid_ok, k, a0,
				 a1, a2);
		pico_ids_publish();
		return r;
	}
	case __NR_setfsuid: {
		unsigned old = pico.fsuid;
		/* -1 (no valid id) only asks, as in Linux */
		if ((unsigned)a0 != (unsigned)-1 &&
		    (setuid_ok || id_ok((unsigned)a0, pico.ruid, pico.euid, pico.suid)))
			pico.fsuid = (unsigned)a0;
		pico_caps_setfsuid(old);
		pico_ids_publish();
		return old;
	}
	case __NR_setfsgid: {
		unsigned old = pico.fsgid;
		/* -1 (no valid id) only asks, as in Linux */
		if ((unsigned)a0 != (unsigned)-1 &&
		    (setgid_ok || id_ok((unsigned)a0, pico.rgid, pico.egid, pico.sgid)))
			pico.fsgid = (unsigned)a0;
		pico_ids_publish();
		return old;
	}
	case __NR_getgroups:
		if (a0 == 0)
			return pico.ngroups;
		if (a0 < (long)pico.ngroups)
			return -EINVAL;
		if (pico_ucopy((void *)a1, pico.groups, pico.ngroups * sizeof(unsigned)))
			return -EFAULT;
		return pico.ngroups;
	case __NR_setgroups:
		if (!setgid_ok)
			return -EPERM;
		if (a0 < 0 || a0 > 65536) /* NGROUPS_MAX */
			return -EINVAL;
		if (a0 >
		    PICO_NGROUPS) { /* more than are kept: the list is read first, as Linux would */
			unsigned one;
			for (long i = 0; i < a0; i += 1024)
				if (pico_ucopy(&one, (const unsigned *)a1 + i, sizeof one))
					return -EFAULT;
			if (pico_ucopy(&one, (const unsigned *)a1 + a0 - 1, sizeof one))
				return -EFAULT;
			return -EINVAL;
		}
		unsigned g[PICO_NGROUPS];
		if (pico_ucopy(g, (void *)a1, (size_t)a0 * sizeof(unsigned)))
			return -EFAULT;
		memcpy(pico.groups, g, (size_t)a0 * sizeof(unsigned));
		pico.ngroups = (unsigned)a0;
		pico_ids_publish();
		return 0;
	case __NR_capget:
		return pico_capget((void *)a0, (void *)a1);
	case __NR_capset:
		return pico_capset((void *)a0, (const void *)a1);
	}
	return -ENOSYS;
}

/* ---- signals ---------------------------------------------------------------- */

/*
 * SIGSYS (our traps), SIGSEGV and SIGBUS (faults on guest pointers, see
 * rt.c) are the translator's. The guest's actions for them are virtual:
 * kept in pico.vsig and run by deliver() when the signal is the guest's.
 */
enum { VSIG_SYS, VSIG_SEGV, VSIG_BUS };

static int vsig_index(long sig)
{
	return sig == SIGSYS    ? VSIG_SYS
	       : sig == SIGSEGV ? VSIG_SEGV
	       : sig == SIGBUS  ? VSIG_BUS
				: -1;
}

/* A vfork child (posix_spawn's) shares the parent's memory, so the table
 * too, but not its signal actions: what it sets must not become the
 * parent's. A fork child has a copy of its own, and takes it over. */
static int vsig_mine(void)
{
	long me = sys0(__NR_getpid);
	if (me == pico.vsig_pid)
		return 1;
	if (sys5(__NR_kcmp, me, pico.vsig_pid, 1 /* KCMP_VM */, 0, 0) == 0)
		return 0;
	pico.vsig_pid = (int)me;
	return 1;
}

static long set_fault_action(int sig, int onstack);

static long do_sigaction(long sig, const struct ksigaction *act, struct ksigaction *oact, long size)
{
	struct ksigaction a, old;
	if (size != 8)
		return -EINVAL;
	if (act && pico_ucopy(&a, act, sizeof a))
		return -EFAULT;
	int v = vsig_index(sig);
	if (v >= 0) {
		memcpy(&old, pico.vsig[v], sizeof old);
		if (oact && pico_ucopy(oact, &old, sizeof old))
			return -EFAULT;
		if (act && vsig_mine()) {
			memcpy(pico.vsig[v], &a, sizeof a);
			if (v != VSIG_SYS)
				set_fault_action((int)sig, !!(a.flags & SA_ONSTACK));
		}
		return 0;
	}
	if (act)
		a.mask &= ~SIGSYS_BIT;
	return sys4(__NR_rt_sigaction, sig, act ? (long)&a : 0, (long)oact, size);
}

/*
 * Runs the guest's action for a signal that turned out to be its own, the
 * way the kernel would have: its handler, called on this signal frame
 * (so it sees and may edit the interrupted context, and may siglongjmp
 * away) with its sa_mask blocked until the frame returns; the default
 * action (or ignoring what the kernel would force) kills the process with
 * the signal. `forced`: a fault or a seccomp trap, which SIG_IGN does not
 * stop.
 */
static void deliver(int v, int sig, siginfo_t *si, struct ucontext *uc, int forced)
{
	unsigned long *va = pico.vsig[v];
	unsigned long h = va[0], flags = va[1], bit = 1UL << (sig - 1);
	if (h == (unsigned long)SIG_IGN && !forced)
		return;
	if (h == (unsigned long)SIG_DFL || h == (unsigned long)SIG_IGN) {
		struct ksigaction dfl = {0, 0, 0, 0};
		sys4(__NR_rt_sigaction, sig, (long)&dfl, 0, 8);
		sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, (long)&bit, 0, 8);
		sys3(__NR_tgkill, sys0(__NR_getpid), sys0(__NR_gettid), sig);
		return;
	}
	if (flags & SA_RESETHAND)
		va[0] = (unsigned long)SIG_DFL;
	unsigned long block = (va[3] | ((flags & SA_NODEFER) ? 0 : bit)) & ~UNBLOCKABLE;
	if (block)
		sys4(__NR_rt_sigprocmask, SIG_BLOCK, (long)&block, 0, 8);
	((void (*)(int, siginfo_t *, void *))h)(sig, si, uc);
}

/*
 * SIGSYS held: the filter's traps must always get through, so SIGSYS is
 * never blocked for real, and a guest that blocks it (sighold, a full
 * mask) is given a slot in pico.sys_hold for as long as it does. A SIGSYS
 * sent to it meanwhile (kill, tgkill, sigqueue) waits in the slot and is
 * delivered when the thread lets it through again, as Linux would. Slots
 * are claimed with a compare-and-swap and otherwise touched only by their
 * own thread (the handler runs in the thread the signal came to).
 */
static struct pico_sys_hold *sys_hold_find(int tid)
{
	for (unsigned i = 0; i < sizeof pico.sys_hold / sizeof pico.sys_hold[0]; i++)
		if (__atomic_load_n(&pico.sys_hold[i].tid, __ATOMIC_ACQUIRE) == tid)
			return &pico.sys_hold[i];
	return 0;
}

static void sys_hold_set(int tid)
{
	const unsigned n = sizeof pico.sys_hold / sizeof pico.sys_hold[0];
	if (sys_hold_find(tid))
		return;
	long pid = sys0(__NR_getpid);
	/* a free slot, else one whose thread has gone (a fork child's copy
	 * holds its parent's threads too); when none, SIGSYS is not held */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < n; i++) {
			int old = __atomic_load_n(&pico.sys_hold[i].tid, __ATOMIC_ACQUIRE);
			if (old && (pass == 0 || sys3(__NR_tgkill, pid, old, 0) != -ESRCH))
				continue;
			if (__atomic_compare_exchange_n(&pico.sys_hold[i].tid, &old, tid, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				if (old) /* (a free slot's is 0 already) */
					pico.sys_hold[i].pending = 0;
				return;
			}
		}
}

/* SIGSYS let through again: the one that waited, if any, is delivered now. */
static void sys_hold_clear(int tid, struct ucontext *uc)
{
	struct pico_sys_hold *h = sys_hold_find(tid);
	if (!h)
		return;
	siginfo_t si;
	int pending = h->pending;
	memcpy(&si, h->si, sizeof si);
	h->pending = 0;
	__atomic_store_n(&h->tid, 0, __ATOMIC_RELEASE);
	if (pending)
		deliver(VSIG_SYS, SIGSYS, &si, uc, 0);
}

/* rt_sigsuspend(mask): the mask replaces the thread's while it waits, for
 * SIGSYS too; one that waited and is let through ends the wait at once. */
static long do_sigsuspend(const unsigned long *umask, long size, struct ucontext *uc)
{
	unsigned long m;
	if (size != 8)
		return -EINVAL;
	if (pico_ucopy(&m, umask, sizeof m))
		return -EFAULT;
	int tid = (int)sys0(__NR_gettid), hold = !!(m & SIGSYS_BIT);
	struct pico_sys_hold *h = sys_hold_find(tid);
	int held = h != 0;
	if (held && !hold) {
		int pending = h->pending;
		sys_hold_clear(tid, uc);
		if (pending)
			return -EINTR;
	} else if (!held && hold) {
		sys_hold_set(tid);
	}
	m &= ~UNBLOCKABLE;
	long r = sys2(__NR_rt_sigsuspend, (long)&m, 8);
	if (held && !hold)
		sys_hold_set(tid);
	else if (!held && hold)
		sys_hold_clear(tid, uc);
	return r;
}

/* The mask is set in the frame the handler returns through: a mask set
 * with the real call here would be undone by rt_sigreturn. */
static long do_sigprocmask(struct ucontext *uc, long how, const unsigned long *set,
			   unsigned long *oset, long size)
{
	unsigned long *cur = (unsigned long *)&uc->uc_sigmask;
	if (size != 8)
		return -EINVAL;
	int tid = (int)sys0(__NR_gettid);
	unsigned long old = *cur | (sys_hold_find(tid) ? SIGSYS_BIT : 0), s = 0;
	if (set) {
		if (pico_ucopy(&s, set, sizeof s))
			return -EFAULT;
		if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
			return -EINVAL;
	}
	if (oset && pico_ucopy(oset, &old, sizeof old))
		return -EFAULT;
	if (!set)
		return 0;
	int hold = how == SIG_BLOCK     ? (s & SIGSYS_BIT) || (old & SIGSYS_BIT)
		   : how == SIG_UNBLOCK ? !(s & SIGSYS_BIT) && (old & SIGSYS_BIT)
					: !!(s & SIGSYS_BIT);
	s &= ~UNBLOCKABLE;
	*cur = how == SIG_BLOCK ? *cur | s : how == SIG_UNBLOCK ? *cur & ~s : s;
	if (hold)
		sys_hold_set(tid);
	else if (old & SIGSYS_BIT)
		sys_hold_clear(tid, uc); /* last: its handler runs after this call's work */
	return 0;
}

/* ---- dispatch --------------------------------------------------------------- */

/*
 * Stack: a trapped call runs on whatever stack the guest thread was on, and
 * some are small (posix_spawn's child gets ~32 KiB, Go's signal stack 32
 * KiB). Each kind of call therefore has its own non-inlined function with
 * only the buffers it needs; the deepest (a two-path call) stays under ~24 KiB.
 */
#define NOINL __attribute__((noinline))

/* syslog(2), the kernel's log: reading is the host's to allow (its
 * dmesg_restrict); clearing it and the console's settings are a no-op
 * for the faked root, since the log is the host's. */
static long do_syslog(long type, long buf, long len)
{
	/* As check_syslog_permissions: all but reading the whole log and its
	 * size want CAP_SYSLOG; those two are the host's to allow. */
	int priv = pico_capable(34 /* CAP_SYSLOG */) || pico_capable(21 /* CAP_SYS_ADMIN */);
	if (type < 0 || type > 10)
		return -EINVAL;
	if ((type == 3 || type == 10) && !priv)
		return sys3(__NR_syslog, type, buf, len);
	if (!priv)
		return -EPERM;
	if (type == 3 || type == 10)
		return type == 3 && (!buf || len < 0) ? -EINVAL : sys3(__NR_syslog, type, buf, len);
	switch (type) {
	case 2: /* read */
	case 4: /* read and clear: read all only */
		if (!buf || len < 0)
			return -EINVAL;
		return len == 0 ? 0 : sys3(__NR_syslog, 3, buf, len);
	case 8: /* console level */
		return len < 1 || len > 8 ? -EINVAL : 0;
	case 9: /* unread size */
		return sys3(__NR_syslog, type, buf, len);
	}
	return 0; /* close, open, clear, console off and on: the log is the host's */
}

/*
 * chroot: the guest's "/" becomes a folder of the distro, for this process
 * and what it starts (the state carries it across execve; fork copies it),
 * as Linux's. The distro stays the distro's (its processes still see each
 * other); /proc, /dev and /sys stay the host's, as if mounted in it; the
 * host share is not inside. The cwd stays where it is, as Linux leaves it.
 */
static long do_chroot(const char *h, int region)
{
	struct stat st;
	size_t n = strlen(h);
	if (region != R_VOL)
		return -EPERM; /* /proc, /dev, /sys or the host share as "/": not done */
	long r = sys4(__NR_newfstatat, AT_FDCWD, (long)h, (long)&st, 0);
	if (r < 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (pico.fsuid != 0 && (r = pico_dac_check(h, 1)) < 0)
		return r;
	if (!pico_capable(18 /* CAP_SYS_CHROOT */))
		return -EPERM;
	while (n > 1 && h[n - 1] == '/')
		n--;
	if (n >= sizeof pico.root)
		return -ENAMETOOLONG;
	/* The tools folder shows at /usr/lib/lxs of the distro's root, as a
	 * mount there would: a chroot to another folder does not see it. */
	if (n != pico.rootlen || memcmp(h, pico.root, n) != 0)
		pico.toolslen = 0, pico.tools[0] = 0;
	memcpy(pico.root, h, n);
	pico.root[n] = 0;
	pico.rootlen = (unsigned)n;
	pico.has_share = 0;
	pico.root_dev = st.st_dev;
	return 0;
}

/* One translated path, then the host call with it in place of the path. */
NOINL static long path_call(long nr, long dirfd, const char *path, int follow, long x, long y)
{
	char h[PICO_HOST];
	long r = path1(dirfd, path, follow, h);
	if (r < 0)
		return r;
	if (r == R_TOOLS && nr != __NR_chdir && nr != __NR_statfs && nr != __NR_inotify_add_watch &&
	    nr != __NR_chroot)
		return nr == __NR_symlinkat ? ro_create(h) : ro_change(h);
	if (r == R_VOL && nr == __NR_truncate && pico.fsuid != 0) {
		long d = pico_dac_check(h, 2); /* write permission, as open for writing */
		if (d < 0)
			return d;
	}
	if (r == R_VOL && (nr == __NR_rmdir || nr == __NR_unlink || nr == __NR_unlinkat ||
			   nr == __NR_symlinkat)) {
		long d = pico_dac_parent(h);
		if (d == 0 && nr != __NR_symlinkat)
			d = pico_may_unlink(h);
		if (d < 0)
			return d;
	}
	switch (nr) {
	case __NR_chdir: {
		long c = sys1(nr, (long)h);
		/* Shared by the threads as the cwd is; a vfork child's chdir
		 * can leave it set for its parent, which only costs walks. */
		if (c == 0)
			pico.cwd_tools = r == R_TOOLS;
		return c;
	}
	case __NR_rmdir:
	case __NR_unlink:
		return sys1(nr, (long)h);
	case __NR_unlinkat:
		return sys3(nr, AT_FDCWD, (long)h, x);
	case __NR_truncate:
	case __NR_utime:
	case __NR_utimes:
	case __NR_statfs:
		return sys2(nr, (long)h, x);
	case __NR_futimesat:
		return sys3(nr, AT_FDCWD, (long)h, x);
	case __NR_utimensat:
		return sys4(nr, AT_FDCWD, (long)h, x, y & AT_SYMLINK_NOFOLLOW);
	case __NR_symlinkat:
		return sys3(nr, x, AT_FDCWD, (long)h);
	case __NR_inotify_add_watch:
		return sys3(nr, x, (long)h, y);
	case __NR_chmod: {
		struct pico_target t = {h, -1};
		return do_chmod(&t, (int)r, x);
	}
	case __NR_chown: {
		struct pico_target t = {h, -1};
		return do_chown(&t, (int)r, x, y);
	}
	case __NR_chroot: {
		/* the canonical host path (the walk's), not a relative one */
		char g[PICO_PATH];
		int region = pico_resolve((int)dirfd, path, P_FOLLOW | P_WALK, h, g);
		return region < 0 ? region : do_chroot(h, region);
	}
	}
	return -ENOSYS;
}

/* rename and link: two translated paths. */
NOINL static long path2_call(long nr, long d1, const char *p1, long d2, const char *p2, long fl)
{
	char h1[PICO_HOST], h2[PICO_HOST];
	long r;
	if (nr == __NR_linkat && (fl & AT_EMPTY_PATH) && p1 && !p1[0]) {
		if ((r = path1(d2, p2, 0, h2)) < 0)
			return r;
		/* (a tools file linked elsewhere could be changed there) */
		if (r == R_TOOLS || (r = pico_fd_readonly(d1)) < 0)
			return r == R_TOOLS ? -EROFS : r;
		return sys5(__NR_linkat, d1, (long)"", AT_FDCWD, (long)h2, AT_EMPTY_PATH);
	}
	int follow1 = nr == __NR_linkat && (fl & AT_SYMLINK_FOLLOW);
	long r1;
	if ((r1 = r = path1(d1, p1, follow1, h1)) < 0 || (r = path1(d2, p2, 0, h2)) < 0)
		return r;
	/* Into or out of the tools folder (read-only), or a hard link to one
	 * of its files, which could be changed through the link: EROFS, once
	 * the source is known to be there. */
	if (r1 == R_TOOLS || r == R_TOOLS)
		return ro_change(h1);
	if ((r == R_VOL && (r = pico_dac_parent(h2)) < 0) ||
	    (nr == __NR_renameat2 && r1 == R_VOL && (r = pico_dac_parent(h1)) < 0) ||
	    (nr == __NR_renameat2 &&
	     ((r = pico_may_unlink(h1)) < 0 || (r = pico_may_unlink(h2)) < 0)))
		return r;
	if (nr == __NR_renameat2)
		return sys5(__NR_renameat2, AT_FDCWD, (long)h1, AT_FDCWD, (long)h2, fl);
	/* what is left to follow is a /proc magic link (O_TMPFILE files) */
	return sys5(__NR_linkat, AT_FDCWD, (long)h1, AT_FDCWD, (long)h2, fl & AT_SYMLINK_FOLLOW);
}

NOINL static long fd_meta_call(long nr, long fd, long x, long y)
{
	char h[PICO_HOST];
	struct stat st;
	/* Without a host share nothing else on the distro's file system is
	 * the guest's to reach, so the device number tells VolFs without a
	 * readlink of /proc/self/fd (tar calls fchown and fchmod per file). */
	if (!pico.has_share && pico.root_dev && sys2(__NR_fstat, fd, (long)&st) == 0 &&
	    st.st_dev == pico.root_dev && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
	    (!pico.toolslen || (pico.tools_dev && st.st_dev != pico.tools_dev))) {
		long fl = sys2(__NR_fcntl, fd, F_GETFL);
		if (fl >= 0 && (fl & O_PATH))
			return -EBADF; /* as for any O_PATH descriptor */
		if (fl >= 0) {
			struct pico_target t = {NULL, fd};
			return nr == __NR_fchmod ? do_chmod(&t, R_VOL, x)
						 : do_chown(&t, R_VOL, x, y);
		}
	} else {
		long fl = sys2(__NR_fcntl, fd, F_GETFL);
		if (fl < 0 || (fl & O_PATH))
			return fl < 0 ? fl : -EBADF;
	}
	long r = pico_fd_host((int)fd, h);
	if (r < 0)
		return r;
	int region = h[0] == '/' ? pico_host_region(h) : R_DEV;
	if (region == R_TOOLS)
		return -EROFS;
	if (region != R_VOL)
		return nr == __NR_fchmod ? sys2(__NR_fchmod, fd, x) : sys3(__NR_fchown, fd, x, y);
	struct pico_target t = {h, fd};
	return nr == __NR_fchmod ? do_chmod(&t, region, x) : do_chown(&t, region, x, y);
}

/* The cwd must stay where the guest can name it: relative paths are
 * handed to the kernel as they are (pico_lexical). */
NOINL static long fchdir_call(long fd)
{
	char h[PICO_HOST];
	long r = pico_fd_host((int)fd, h);
	if (r < 0)
		return r;
	if (h[0] != '/')
		return -ENOTDIR;
	int region = pico_host_region(h);
	if (pico.fsuid != 0 && region == R_VOL && (r = pico_dac_check(h, 1)) < 0)
		return r; /* search permission, as chdir's walk would need */
	if (pico_to_guest(h, h) < 0)
		return -EACCES;
	r = sys1(__NR_fchdir, fd);
	if (r == 0)
		pico.cwd_tools = region == R_TOOLS;
	return r;
}

NOINL static long chmod_call(long dirfd, const char *path, int follow, long mode)
{
	return path_call(__NR_chmod, dirfd, path, follow, mode, 0);
}

NOINL static long chown_call(long dirfd, const char *path, int follow, long uid, long gid)
{
	return path_call(__NR_chown, dirfd, path, follow, uid, gid);
}

/* Calls that take no path: identities and signals. */
#define NOT_LIGHT (-4096L - 1)
NOINL static long dispatch_light(long nr, const long *a, struct ucontext *uc)
{
	switch (nr) {
	case __NR_getuid:
	case __NR_geteuid:
	case __NR_getgid:
	case __NR_getegid:
	case __NR_getresuid:
	case __NR_getresgid:
	case __NR_setuid:
	case __NR_setreuid:
	case __NR_setresuid:
	case __NR_setgid:
	case __NR_setregid:
	case __NR_setresgid:
	case __NR_setfsuid:
	case __NR_setfsgid:
	case __NR_getgroups:
	case __NR_setgroups:
	case __NR_capget:
	case __NR_capset:
		return do_ids(nr, a[0], a[1], a[2]);
	case __NR_rt_sigaction:
		return do_sigaction(a[0], (const struct ksigaction *)a[1],
				    (struct ksigaction *)a[2], a[3]);
	case __NR_rt_sigprocmask:
		return do_sigprocmask(uc, a[0], (const unsigned long *)a[1], (unsigned long *)a[2],
				      a[3]);
	case __NR_rt_sigsuspend:
		return do_sigsuspend((const unsigned long *)a[0], a[1], uc);
	case __NR_mount:
	case __NR_umount2:
	case __NR_pivot_root:
	case __NR_swapon:
	case __NR_swapoff:
	case __NR_acct:
		return -EPERM;
	case __NR_vhangup: /* the terminal is the host's: the fake root's hangup is a no-op */
		return pico.euid == 0 ? 0 : -EPERM;
	case __NR_syslog: /* (int type, char *buf, int len) */
		return do_syslog((int)a[0], a[1], (int)a[2]);
	case __NR_userfaultfd: {
		/* Without vm.unprivileged_userfaultfd the host wants
		 * CAP_SYS_PTRACE, unless only user-mode faults are handled:
		 * what the faked root gets (a fault the kernel takes while
		 * copying to or from the range fails instead of waiting). */
		long r = sys1(__NR_userfaultfd, a[0]);
		if (r == -EPERM && !(a[0] & 1 /* UFFD_USER_MODE_ONLY */) &&
		    pico_capable(19 /* CAP_SYS_PTRACE */))
			r = sys1(__NR_userfaultfd, a[0] | 1);
		return r;
	}
	case __NR_fchmod:
	case __NR_fchown:
		return fd_meta_call(nr, a[0], a[1], a[2]);
	case __NR_umask:
		return do_umask(a[0]);
	case __NR_mlock:
	case __NR_mlock2:
	case __NR_mlockall:
	case __NR_getrlimit:
	case __NR_setrlimit:
		return pico_priv_call(nr, a);
	case __NR_fchdir:
		return fchdir_call(a[0]);
	case __NR_seccomp:
		return pico_guest_seccomp(a[0], a[1], (const void *)a[2]);
	case __NR_prctl: /* only PR_SET_SECCOMP is trapped */
		if (a[0] == PR_SET_SECCOMP && a[1] == SECCOMP_MODE_FILTER)
			return pico_guest_seccomp(SECCOMP_SET_MODE_FILTER, 0, (const void *)a[2]);
		if (a[0] == PR_SET_SECCOMP && a[1] == SECCOMP_MODE_STRICT)
			return pico_guest_seccomp(SECCOMP_SET_MODE_STRICT, 0, (const void *)a[2]);
		if (a[0] != PR_SET_SECCOMP)
			return pico_prctl(a);
		return sys5(__NR_prctl, a[0], a[1], a[2], a[3], a[4]);
	}
	return NOT_LIGHT;
}

NOINL static long dispatch(long nr, const long *a)
{
	switch (nr) {
	case __NR_open:
		return pico_open(AT_FDCWD, (const char *)a[0], a[1], a[2]);
	case __NR_creat:
		return pico_open(AT_FDCWD, (const char *)a[0], O_CREAT | O_WRONLY | O_TRUNC, a[1]);
	case __NR_openat:
		return pico_open(a[0], (const char *)a[1], a[2], a[3]);
	case __NR_stat:
		return do_fstatat(AT_FDCWD, (const char *)a[0], (struct stat *)a[1], 0);
	case __NR_lstat:
		return do_fstatat(AT_FDCWD, (const char *)a[0], (struct stat *)a[1],
				  AT_SYMLINK_NOFOLLOW);
	case __NR_fstat:
		return do_fstat(a[0], (struct stat *)a[1]);
	case __NR_newfstatat:
		return do_fstatat(a[0], (const char *)a[1], (struct stat *)a[2], a[3]);
	case __NR_statx:
		return do_statx(a[0], (const char *)a[1], a[2], a[3], (struct statx *)a[4]);
	case __NR_access:
		return do_access(AT_FDCWD, (const char *)a[0], a[1], 0);
	case __NR_faccessat:
		return do_access(a[0], (const char *)a[1], a[2], 0);
	case __NR_faccessat2:
		return do_access(a[0], (const char *)a[1], a[2], a[3]);
	case __NR_readlink:
		return do_readlink(AT_FDCWD, (const char *)a[0], (char *)a[1], a[2]);
	case __NR_readlinkat:
		return do_readlink(a[0], (const char *)a[1], (char *)a[2], a[3]);
	case __NR_getcwd:
		return do_getcwd((char *)a[0], a[1]);
	case __NR_chdir:
		return path_call(nr, AT_FDCWD, (const char *)a[0], 1, 0, 0);
	case __NR_mkdir:
		return do_mkdir(AT_FDCWD, (const char *)a[0], a[1]);
	case __NR_mkdirat:
		return do_mkdir(a[0], (const char *)a[1], a[2]);
	case __NR_rmdir:
	case __NR_unlink:
		return path_call(nr, AT_FDCWD, (const char *)a[0], 0, 0, 0);
	case __NR_unlinkat:
		return path_call(nr, a[0], (const char *)a[1], 0, a[2], 0);
	case __NR_rename:
		return path2_call(__NR_renameat2, AT_FDCWD, (const char *)a[0], AT_FDCWD,
				  (const char *)a[1], 0);
	case __NR_renameat:
		return path2_call(__NR_renameat2, a[0], (const char *)a[1], a[2],
				  (const char *)a[3], 0);
	case __NR_renameat2:
		return path2_call(__NR_renameat2, a[0], (const char *)a[1], a[2],
				  (const char *)a[3], a[4]);
	case __NR_link:
		return path2_call(__NR_linkat, AT_FDCWD, (const char *)a[0], AT_FDCWD,
				  (const char *)a[1], 0);
	case __NR_linkat:
		return path2_call(__NR_linkat, a[0], (const char *)a[1], a[2], (const char *)a[3],
				  a[4]);
	case __NR_symlink:
		return path_call(__NR_symlinkat, AT_FDCWD, (const char *)a[1], 0, a[0], 0);
	case __NR_symlinkat:
		return path_call(__NR_symlinkat, a[1], (const char *)a[2], 0, a[0], 0);
	case __NR_chmod:
		return chmod_call(AT_FDCWD, (const char *)a[0], 1, a[1]);
	case __NR_fchmodat:
		return chmod_call(a[0], (const char *)a[1], 1, a[2]);
	case __NR_fchmodat2:
		if ((a[3] & AT_EMPTY_PATH) && a[1] && !((const char *)a[1])[0])
			return fd_meta_call(__NR_fchmod, a[0], a[2], 0);
		return chmod_call(a[0], (const char *)a[1], !(a[3] & AT_SYMLINK_NOFOLLOW), a[2]);
	case __NR_chown:
	case __NR_lchown:
		return chown_call(AT_FDCWD, (const char *)a[0], nr == __NR_chown, a[1], a[2]);
	case __NR_fchownat:
		if ((a[4] & AT_EMPTY_PATH) && a[1] && !((const char *)a[1])[0])
			return fd_meta_call(__NR_fchown, a[0], a[2], a[3]);
		return chown_call(a[0], (const char *)a[1], !(a[4] & AT_SYMLINK_NOFOLLOW), a[2],
				  a[3]);
	case __NR_truncate:
	case __NR_utime:
	case __NR_utimes:
	case __NR_statfs:
		return path_call(nr, AT_FDCWD, (const char *)a[0], 1, a[1], 0);
	case __NR_futimesat:
		return path_call(nr, a[0], (const char *)a[1], 1, a[2], 0);
	case __NR_utimensat:
		if (!a[1] || ((a[3] & AT_EMPTY_PATH) && !((const char *)a[1])[0])) {
			long e = pico_fd_readonly(a[0]); /* the file of an fd */
			return e < 0 ? e : sys4(__NR_utimensat, a[0], a[1], a[2], a[3]);
		}
		return path_call(nr, a[0], (const char *)a[1], !(a[3] & AT_SYMLINK_NOFOLLOW), a[2],
				 a[3]);
	case __NR_mknod:
		return do_mknod(AT_FDCWD, (const char *)a[0], a[1], a[2]);
	case __NR_mknodat:
		return do_mknod(a[0], (const char *)a[1], a[2], a[3]);
	case __NR_chroot:
		return path_call(nr, AT_FDCWD, (const char *)a[0], 1, 0, 0);
	case __NR_getxattr:
	case __NR_lgetxattr:
	case __NR_fgetxattr:
	case __NR_setxattr:
	case __NR_lsetxattr:
	case __NR_fsetxattr:
	case __NR_listxattr:
	case __NR_llistxattr:
	case __NR_flistxattr:
	case __NR_removexattr:
	case __NR_lremovexattr:
	case __NR_fremovexattr:
		return do_xattr(nr, a[0], a[1], a[2], a[3], a[4]);
	case __NR_inotify_add_watch:
		return path_call(nr, AT_FDCWD, (const char *)a[1], !(a[2] & 0x02000000), a[0],
				 a[2]);
	case __NR_bind:
	case __NR_connect:
		return do_sockaddr(nr, a[0], (const void *)a[1], a[2]);
	case __NR_shmctl:
	case __NR_semctl:
	case __NR_msgctl:
		return pico_ipc_ctl(nr, a);
	case __NR_landlock_restrict_self:
		/* as for a seccomp filter: no_new_privs or CAP_SYS_ADMIN */
		if (a[1] == 0 && !pico_may_confine())
			return -EPERM;
		return sys2(nr, a[0], a[1]);
	case __NR_openat2:
		return pico_openat2(a[0], (const char *)a[1], (const void *)a[2],
				    (unsigned long)a[3]);
	case __NR_name_to_handle_at:
		return pico_name_to_handle_at(a[0], (const char *)a[1], (void *)a[2], (void *)a[3],
					      a[4]);
	case __NR_open_by_handle_at:
		return -EPERM; /* the host's answer to an ordinary user: open2.c */
	}
	/* Everything else the filter did not let through: path-taking or
	 * otherwise untranslatable calls (clone3, io_uring_setup, ...). */
	return -ENOSYS;
}

NOINL static long exec_call(long nr, const long *a)
{
	if (nr == __NR_execve)
		return pico_execve(AT_FDCWD, (const char *)a[0], (char *const *)a[1],
				   (char *const *)a[2], 0);
	if ((int)a[4] & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	return pico_execve((int)a[0], (const char *)a[1], (char *const *)a[2], (char *const *)a[3],
			   (int)a[4]);
}

extern char text_start[] __asm__("__executable_start") __attribute__((visibility("hidden")));
extern const char image_start __asm__("__ehdr_start") __attribute__((visibility("hidden")));
extern char text_end[] __asm__("etext") __attribute__((visibility("hidden")));

/* A guest path argument: readable up to its NUL, and not too long. */
static long upath(long p)
{
	long n = pico_ustrlen((const char *)p, PICO_PATH);
	return n < 0 ? n : 0;
}

/* An xattr name: as the kernel says for one longer than XATTR_NAME_MAX. */
static long uxname(long p)
{
	long n = pico_ustrlen((const char *)p, 256);
	return n == -ENAMETOOLONG ? -ERANGE : n < 0 ? n : 0;
}

/*
 * The strings a trapped call passes are checked here, before anything
 * reads them, so that a bad pointer gets EFAULT as it would from Linux.
 * (Buffers are checked where they are used; those the host kernel fills
 * in are its to check.)
 */
/* Flags the kernel refuses before it looks at the path (the translated
 * calls below may not pass them to the host unchanged). */
static long bad_flags(long nr, const long *a)
{
	unsigned long f, ok;
	switch (nr) {
	case __NR_newfstatat:
		f = (unsigned long)a[3], ok = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH;
		break;
	case __NR_utimensat:
	case __NR_fchmodat2:
		f = (unsigned long)a[3], ok = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH;
		break;
	case __NR_fchownat:
		f = (unsigned long)a[4], ok = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH;
		break;
	case __NR_linkat:
		f = (unsigned long)a[4], ok = AT_SYMLINK_FOLLOW | AT_EMPTY_PATH;
		break;
	case __NR_faccessat2:
		if ((unsigned long)a[2] & ~7UL) /* F_OK | R_OK | W_OK | X_OK */
			return -EINVAL;
		f = (unsigned long)a[3], ok = AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH;
		break;
	default:
		return 0;
	}
	return (f & 0xffffffffUL & ~ok) ? -EINVAL : 0;
}

NOINL static long check_args(long nr, const long *a)
{
	long r;
	if ((r = bad_flags(nr, a)) < 0)
		return r;
	switch (nr) {
	case __NR_getxattr:
	case __NR_lgetxattr:
	case __NR_setxattr:
	case __NR_lsetxattr:
	case __NR_removexattr:
	case __NR_lremovexattr:
		if ((r = upath(a[0])) < 0)
			return r;
		return uxname(a[1]);
	case __NR_fgetxattr:
	case __NR_fsetxattr:
	case __NR_fremovexattr:
		return uxname(a[1]);
	case __NR_open:
	case __NR_creat:
	case __NR_stat:
	case __NR_lstat:
	case __NR_access:
	case __NR_readlink:
	case __NR_chdir:
	case __NR_mkdir:
	case __NR_rmdir:
	case __NR_unlink:
	case __NR_chmod:
	case __NR_chown:
	case __NR_lchown:
	case __NR_truncate:
	case __NR_utime:
	case __NR_utimes:
	case __NR_statfs:
	case __NR_mknod:
	case __NR_chroot:
	case __NR_listxattr:
	case __NR_llistxattr:
	case __NR_execve:
		return upath(a[0]);
	case __NR_newfstatat:
	case __NR_statx:
		/* (Linux 6.11+ takes NULL for "" with AT_EMPTY_PATH) */
		if (!a[1] && (a[nr == __NR_statx ? 2 : 3] & AT_EMPTY_PATH))
			return 0;
		return upath(a[1]);
	case __NR_utimensat:
	case __NR_futimesat:
		return a[1] ? upath(a[1]) : 0;
	case __NR_name_to_handle_at:
		if ((a[4] & AT_EMPTY_PATH) && a[1] && pico_ustrlen((const char *)a[1], 1) == 0)
			return 0;
		return upath(a[1]);
	case __NR_openat:
	case __NR_openat2:
	case __NR_faccessat:
	case __NR_faccessat2:
	case __NR_readlinkat:
	case __NR_mkdirat:
	case __NR_unlinkat:
	case __NR_fchmodat:
	case __NR_fchmodat2:
	case __NR_fchownat:
	case __NR_mknodat:
	case __NR_inotify_add_watch:
	case __NR_execveat:
		return upath(a[1]);
	case __NR_rename:
	case __NR_link:
	case __NR_symlink:
		if ((r = upath(a[0])) < 0)
			return r;
		return upath(a[1]);
	case __NR_renameat:
	case __NR_renameat2:
	case __NR_linkat:
		if ((r = upath(a[1])) < 0)
			return r;
		return upath(a[3]);
	case __NR_symlinkat:
		if ((r = upath(a[0])) < 0)
			return r;
		return upath(a[2]);
	}
	return 0;
}

/*
 * What the guest's own seccomp filters decided, when it was not ALLOW: they
 * are rewritten on the way in (pico_guest_filter) so that their ERRNO and
 * TRAP results reach us as a trap carrying data; our own filter's traps
 * carry none.
 */
static void guest_verdict(siginfo_t *si, struct ucontext *uc)
{
	unsigned d = (unsigned)si->si_errno & 0xffff;
	if (d == PICO_GUEST_STRICT) {
		sys3(__NR_tgkill, sys0(__NR_getpid), sys0(__NR_gettid), SIGKILL);
		return;
	}
	if ((d & 0xf000) == PICO_GUEST_ERRNO) {
		uc->uc_mcontext.rax = (unsigned long)-(long)(d & 0xfff);
		return;
	}
	si->si_errno = d == PICO_GUEST_TRAP0 ? 0 : (int)d;
	deliver(VSIG_SYS, SIGSYS, si, uc, 1);
}

/* A trapped call: number, arguments, and the frame it came in. */
struct trapped {
	long nr, a[6];
	struct ucontext *uc;
};

static long translate(void *arg)
{
	struct trapped *t = arg;
	long nr = t->nr, *a = t->a, r;
	if ((r = pico_guard_call(nr, a)) != PICO_NOT_GUARDED)
		return r;
	if ((r = check_args(nr, a)) < 0)
		return r;
	if (nr == __NR_execve || nr == __NR_execveat)
		return exec_call(nr, a);
	if (nr == __NR_kill || nr == __NR_tkill || nr == __NR_tgkill ||
	    nr == __NR_rt_sigqueueinfo || nr == __NR_rt_tgsigqueueinfo) {
		/* A signal the guest sends itself comes when the call returns
		 * to it, as on Linux: not here, on the handler's stack (maybe
		 * not the alternate one its action asks for) and with SIGSEGV
		 * and SIGBUS unblocked even if it holds them. Everything is
		 * blocked until rt_sigreturn puts the guest's mask back; these
		 * calls touch no guest memory after this. */
		unsigned long all = ~0UL;
		sys4(__NR_rt_sigprocmask, SIG_BLOCK, (long)&all, 0, 8);
	}
	if ((r = dispatch_light(nr, a, t->uc)) == NOT_LIGHT &&
	    (r = pico_pid_call(nr, a)) == PICO_NOT_PID)
		r = dispatch(nr, a);
	return r;
}

/*
 * Translating a call takes up to ~24 KiB of stack (path buffers). The
 * handler has SA_ONSTACK because Go gives every thread a 32 KiB alternate
 * signal stack and runs on goroutine stacks smaller than that; but Rust's
 * runtime sets up only 8 KiB (sqv, apt's signature checker, died there).
 * When the alternate stack leaves too little room, the call is translated
 * on the stack the guest was interrupted on, as if the handler had no
 * SA_ONSTACK, or, when that is the alternate stack itself (a guest signal
 * handler's call), on a stack mapped for the call. The alternate stack is
 * turned off meanwhile: a signal taken now (a fault on a guest pointer, a
 * guest signal) would be pushed at its top, over this handler's frame.
 */
#define TRANSLATE_ROOM (28UL << 10)
#define SPARE_STACK    (64UL << 10)

static long translate_off_altstack(void *arg)
{
	struct trapped *t = arg;
	stack_t off = {0, SS_DISABLE, 0}, alt = t->uc->uc_stack;
	sys2(__NR_sigaltstack, (long)&off, 0);
	long r = translate(t);
	alt.ss_flags &= SS_AUTODISARM;
	sys2(__NR_sigaltstack, (long)&alt, 0);
	return r;
}

static long translate_with_room(struct trapped *t)
{
	const stack_t *alt = &t->uc->uc_stack;
	unsigned long here = (unsigned long)&here, lo = (unsigned long)alt->ss_sp,
		      hi = lo + alt->ss_size;
	if ((alt->ss_flags & SS_DISABLE) || here < lo || here >= hi || here - lo >= TRANSLATE_ROOM)
		return translate(t);
	unsigned long isp = t->uc->uc_mcontext.rsp;
	/* Below the interrupted code's red zone (128 bytes), with a margin. */
	if (!(alt->ss_flags & SS_ONSTACK) && (isp < lo || isp > hi))
		return pico_on_stack(translate_off_altstack, t,
				     (void *)((isp - 128 - 256) & ~15UL));
	long m = sys6(__NR_mmap, 0, (long)SPARE_STACK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (m < 0 && m > -4096)
		return translate(t); /* no memory for it: try where we are */
	long r = pico_on_stack(translate_off_altstack, t, (void *)(m + SPARE_STACK));
	sys2(__NR_munmap, m, (long)SPARE_STACK);
	return r;
}

/* SIGSEGV and SIGBUS the guest holds that were sent to it (a fault with
 * them blocked would have killed it) and wait: taken off while the handler
 * runs with them unblocked, and put back for the guest's mask to hold. */
struct held_faults {
	int n;
	siginfo_t si[2];
};

static void take_held_faults(unsigned long guest_mask, struct held_faults *h)
{
	unsigned long pend = 0, m = SEGV_BIT | BUS_BIT;
	h->n = 0;
	if (sys2(__NR_rt_sigpending, (long)&pend, 8) < 0 || !(pend & guest_mask & m))
		return;
	struct timespec {
		long s, ns;
	} now = {0, 0};
	unsigned long want = pend & guest_mask & m;
	while (h->n < 2 &&
	       sys4(__NR_rt_sigtimedwait, (long)&want, (long)&h->si[h->n], (long)&now, 8) > 0)
		h->n++;
}

static void put_back_held_faults(const struct held_faults *h)
{
	long pid = sys0(__NR_getpid), tid = sys0(__NR_gettid);
	unsigned long m = SEGV_BIT | BUS_BIT; /* held again first, or they would come at once */
	sys4(__NR_rt_sigprocmask, SIG_BLOCK, (long)&m, 0, 8);
	for (int i = 0; i < h->n; i++)
		sys4(__NR_rt_tgsigqueueinfo, pid, tid, h->si[i].si_signo, (long)&h->si[i]);
}

static void handle(siginfo_t *si, struct ucontext *uc);

static void handler(int sig, siginfo_t *si, void *ctx)
{
	struct ucontext *uc = ctx;
	unsigned long mask = *(unsigned long *)&uc->uc_sigmask;
	struct held_faults held = {0};
	(void)sig;
	/* A fault on a guest pointer must reach fault_handler: with SIGSEGV
	 * blocked the kernel would kill the process instead. */
	if (mask & (SEGV_BIT | BUS_BIT)) {
		unsigned long m = SEGV_BIT | BUS_BIT;
		take_held_faults(mask, &held);
		sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, (long)&m, 0, 8);
	}
	handle(si, uc);
	if (held.n)
		put_back_held_faults(&held);
}

static void handle(siginfo_t *si, struct ucontext *uc)
{
	struct sigcontext *mc = &uc->uc_mcontext;
	if (si->si_code != SYS_SECCOMP) { /* kill, tgkill, sigqueue */
		struct pico_sys_hold *h = sys_hold_find((int)sys0(__NR_gettid));
		if (h) {
			memcpy(h->si, si, sizeof h->si);
			h->pending = 1;
			return;
		}
		deliver(VSIG_SYS, SIGSYS, si, uc, 0);
		return;
	}
	if (si->si_errno) {
		guest_verdict(si, uc);
		return;
	}
	if ((char *)si->si_call_addr >= text_start && (char *)si->si_call_addr < text_end) {
		/* A filter stacked on ours and not rewritten (one the guest's
		 * parent installed) trapped one of our own calls: translating
		 * it again would only recurse. */
		mc->rax = (unsigned long)-ENOSYS;
		return;
	}
	struct trapped t = {si->si_syscall,
			    {(long)mc->rdi, (long)mc->rsi, (long)mc->rdx, (long)mc->r10,
			     (long)mc->r8, (long)mc->r9},
			    uc};
	mc->rax = (unsigned long)translate_with_room(&t);
}

extern char pico_uaccess_lo[], pico_uaccess_hi[], pico_uaccess_fault[];

/* SIGSEGV and SIGBUS: a fault in the uaccess routines (rt.c) returns
 * -EFAULT from them; anything else is the guest's. */
static void fault_handler(int sig, siginfo_t *si, void *ctx)
{
	struct ucontext *uc = ctx;
	unsigned long ip = uc->uc_mcontext.rip;
	if (si->si_code > 0 && ip >= (unsigned long)pico_uaccess_lo &&
	    ip < (unsigned long)pico_uaccess_hi) {
		uc->uc_mcontext.rip = (unsigned long)pico_uaccess_fault;
		return;
	}
	deliver(sig == SIGSEGV ? VSIG_SEGV : VSIG_BUS, sig, si, uc, si->si_code > 0);
}

/* The handler returns through this; it must lie in the loader's text for
 * the filter to let its rt_sigreturn through. */
extern void pico_restorer(void) __attribute__((visibility("hidden")));
__asm__(".text\n.globl pico_restorer\npico_restorer:\n\tmov $15, %eax\n\tsyscall\n\thlt\n");

/* The translator's SIGSEGV or SIGBUS action. It takes the alternate stack
 * only when the guest's own action does (a stack-overflow handler):
 * otherwise a fault is delivered on the thread's stack, as Linux would,
 * and one taken while the alternate stack cannot be written (LTP's
 * signal06 makes it read-only) is not the end of the process. */
static long set_fault_action(int sig, int onstack)
{
	struct ksigaction fa = {(unsigned long)fault_handler,
				SA_SIGINFO | SA_RESTORER | SA_NODEFER | SA_RESTART |
				    (onstack ? SA_ONSTACK : 0),
				(unsigned long)pico_restorer, 0};
	return sys4(__NR_rt_sigaction, sig, (long)&fa, 0, 8);
}

int pico_install_handler(void)
{
	struct ksigaction sa = {(unsigned long)handler,
				SA_SIGINFO | SA_RESTORER | SA_NODEFER | SA_RESTART | SA_ONSTACK,
				(unsigned long)pico_restorer, 0};
	long r = set_fault_action(SIGSEGV, 0);
	if (r == 0)
		r = set_fault_action(SIGBUS, 0);
	if (r < 0)
		return (int)r;
	return (int)sys4(__NR_rt_sigaction, SIGSYS, (long)&sa, 0, 8);
}

/* ---- state across execve ------------------------------------------------------ */

static char *put_str(char *p, char *end, char key, const char *s)
{
	size_t n = strlen(s);
	if (!p || p + n + 3 > end)
		return NULL;
	*p++ = key;
	memcpy(p, s, n);
	p += n;
	*p++ = '\n';
	return p;
}

static char *put_nums(char *p, char *end, char key, const unsigned *v, unsigned n)
{
	if (!p || p + 2 + n * 11 + 1 > end)
		return NULL;
	*p++ = key;
	for (unsigned i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		p = pico_utoa(p, v[i]);
	}
	*p++ = '\n';
	return p;
}

long pico_state_format(char *buf, size_t size)
{
	char *p = buf, *end = buf + size;
	unsigned ids[10] = {pico.ruid, pico.euid, pico.suid,  pico.fsuid,    pico.rgid,
			    pico.egid, pico.sgid, pico.fsgid, pico.host_uid, pico.host_gid};
	p = put_str(p, end, 'R', pico.distro); /* first: pidview.c looks for it */
	if (!pico_streq(pico.root, pico.distro))
		p = put_str(p, end, 'H', pico.root);
	if (pico.has_share)
		p = put_str(p, end, 'S', pico.sharelen ? pico.share : "/");
	if (pico.toolslen)
		p = put_str(p, end, 'T', pico.tools);
	p = put_nums(p, end, 'I', ids, 10);
	p = put_nums(p, end, 'G', pico.groups, pico.ngroups);
	/* Ignored signals stay ignored across execve, virtual ones too. */
	unsigned ign = 0;
	for (unsigned i = 0; i < 3; i++)
		if (pico.vsig[i][0] == (unsigned long)SIG_IGN)
			ign |= 1u << i;
	if (ign)
		p = put_nums(p, end, 'V', &ign, 1);
	p = put_nums(p, end, 'U', &pico.umask, 1);
	if (p)
		p = pico_priv_format(p, end);
	if (pico.first) {
		p = put_str(p, end, 'F', "1");
		p = put_str(p, end, 'C', pico.cwd);
	}
	if (!p || p >= end)
		return -E2BIG;
	*p = 0;
	return p - buf;
}

static int copy_field(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return -1;
	memcpy(dst, s, n);
	dst[n] = 0;
	return 0;
}

static int parse_nums(const char *s, const char *e, unsigned *v, unsigned max)
{
	unsigned n = 0;
	while (s < e) {
		unsigned long x;
		if (n >= max || pico_atou(&s, &x))
			return -1;
		v[n++] = (unsigned)x;
		if (s < e && *s == ',')
			s++;
	}
	return (int)n;
}

int pico_state_parse(const char *s)
{
	unsigned ids[10];
	int nids = 0;
	pico.first = 0;
	pico.umask = ~0u;
	pico.has_share = 0;
	pico.toolslen = 0;
	pico.ngroups = 0;
	pico.root[0] = 0;
	int chrooted = 0;
	while (*s) {
		const char *e = s;
		while (*e && *e != '\n')
			e++;
		char key = *s;
		const char *v = s + 1;
		size_t n = (size_t)(e - v);
		switch (key) {
		case 'R':
			if (copy_field(pico.distro, sizeof pico.distro, v, n))
				return -1;
			pico.distrolen = (unsigned)n;
			if (!chrooted) {
				memcpy(pico.root, pico.distro, n + 1);
				pico.rootlen = (unsigned)n;
			}
			break;
		case 'H': /* a chroot inside the distro */
			if (copy_field(pico.root, sizeof pico.root, v, n))
				return -1;
			pico.rootlen = (unsigned)n;
			chrooted = 1;
			break;
		case 'S':
			if (copy_field(pico.share, sizeof pico.share, v, n))
				return -1;
			pico.has_share = 1;
			pico.sharelen = (unsigned)n;
			if (n == 1 && v[0] == '/')
				pico.share[0] = 0, pico.sharelen = 0;
			break;
		case 'T': /* the tools folder: canonical, absolute, not "/" */
			if (n < 2 || v[0] != '/' || copy_field(pico.tools, sizeof pico.tools, v, n))
				return -1;
			pico.toolslen = (unsigned)n;
			break;
		case 'I':
			nids = parse_nums(v, e, ids, 10);
			break;
		case 'G': {
			int g = parse_nums(v, e, pico.groups, PICO_NGROUPS);
			if (g < 0)
				return -1;
			pico.ngroups = (unsigned)g;
			break;
		}
		case 'F':
			pico.first = 1;
			break;
		case 'U':
			if (parse_nums(v, e, &pico.umask, 1) != 1)
				return -1;
			break;
		case 'V': {
			unsigned ign;
			if (parse_nums(v, e, &ign, 1) == 1)
				for (unsigned i = 0; i < 3; i++)
					if (ign & (1u << i))
						pico.vsig[i][0] = (unsigned long)SIG_IGN;
			break;
		}
		case 'C':
			if (copy_field(pico.cwd, sizeof pico.cwd, v, n))
				return -1;
			break;
		default:
			if (pico_priv_parse(key, v, e) < 0)
				return -1;
		}
		s = *e ? e + 1 : e;
	}
	if (nids != 10 || pico.rootlen < 2 || pico.root[0] != '/')
		return -1;
	pico.ruid = ids[0], pico.euid = ids[1], pico.suid = ids[2], pico.fsuid = ids[3];
	pico.rgid = ids[4], pico.egid = ids[5], pico.sgid = ids[6], pico.fsgid = ids[7];
	pico.host_uid = ids[8], pico.host_gid = ids[9];
	return 0;
}

/* ---- execve ------------------------------------------------------------------- */

static char *cat(char *p, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	memcpy(p, a, la);
	memcpy(p + la, b, lb + 1);
	return p + la + lb + 1;
}

/* The ids a program starts with, as Linux's execve sets them: a
 * set-user-ID (set-group-ID) program, not a script, runs with its owner
 * (group) as the effective id, and the saved and file-system ids are the
 * effective ones. Nothing is gained on the host: the guest's ids are
 * the translator's to keep. */
static void exec_ids(const char *host, int region, int script)
{
	struct lxs_meta m;
	if (region == R_VOL && !script && !pico.nnp && pico_meta_get(host, -1, &m) == 0) {
		if (m.mode & S_ISUID)
			pico.euid = m.uid;
		if ((m.mode & S_ISGID) && (m.mode & S_IXGRP))
			pico.egid = m.gid;
	}
	pico.suid = pico.fsuid = pico.euid;
	pico.sgid = pico.fsgid = pico.egid;
}

long pico_execve(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	char host[PICO_HOST], guest[PICO_PATH];
	char state[pico.rootlen + pico.distrolen + pico.sharelen + pico.toolslen +
		   12 * (10 + pico.ngroups) + 64 + 1024 /* privilege.c's */];
	char *small[256];
	char **nv = small;
	struct pico_shebang sb;
	size_t envc = 0, argc = 0, maplen = 0;
	int region;
	long r;

	if ((flags & AT_EMPTY_PATH) && path && !path[0]) {
		r = pico_fd_host(dirfd, host);
		if (r < 0)
			return r;
		region = pico_host_region(host);
		if (pico_to_guest(host, guest) < 0)
			return -ENOENT;
		path = guest;
	} else {
		region = pico_resolve(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : P_FOLLOW,
				      host, guest);
		if (region < 0)
			return region;
		struct stat lst;
		if ((flags & AT_SYMLINK_NOFOLLOW) &&
		    sys4(__NR_newfstatat, AT_FDCWD, (long)host, (long)&lst, AT_SYMLINK_NOFOLLOW) ==
			0 &&
		    S_ISLNK(lst.st_mode))
			return -ELOOP; /* execveat's AT_SYMLINK_NOFOLLOW on a link */
	}
	r = pico_check_exec(host, region, &sb);
	if (r < 0)
		return r;
	if (strlen(path) >= PICO_PATH)
		return -ENAMETOOLONG;
	for (char *e; envp; envc++) {
		if (pico_ucopy(&e, &envp[envc], sizeof e))
			return -EFAULT;
		if (!e)
			break;
	}
	/* A script: the argv the kernel would have made, "interp [arg] path
	 * args...", is what the loader is started with, so that it is what
	 * /proc/<pid>/cmdline shows. */
	for (char *e; sb.interp && argv; argc++) {
		if (pico_ucopy(&e, &argv[argc], sizeof e))
			return -EFAULT;
		if (!e)
			break;
	}
	size_t nargs = sb.interp ? 4 + argc : 0, extra = sb.arg ? 2 : 1;
	int first = pico.first;
	unsigned ids[3] = {pico.euid, pico.suid, pico.fsuid},
		 gids[3] = {pico.egid, pico.sgid, pico.fsgid};
	pico.first = 0;
	exec_ids(host, region, sb.interp != 0);
	long slen = pico_state_format(state, sizeof state);
	pico.first = first;
	/* the new ids are the new program's; until execve succeeds, ours */
	pico.euid = ids[0], pico.suid = ids[1], pico.fsuid = ids[2];
	pico.egid = gids[0], pico.sgid = gids[1], pico.fsgid = gids[2];
	if (slen < 0)
		return slen;
	if (envc + 8 + nargs > sizeof small / sizeof small[0]) {
		maplen = ((envc + 8 + nargs) * sizeof(char *) + 4095) & ~4095UL;
		r = sys6(__NR_mmap, 0, (long)maplen, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r < 0)
			return r;
		nv = (char **)r;
	}
	char **av = nv + envc + 8;
	if (sb.interp) {
		av[0] = sb.interp;
		if (sb.arg)
			av[1] = sb.arg;
		av[extra] = exec_str(path);
		for (size_t i = 1; i < argc; i++)
			av[extra + i] = argv[i];
		av[extra + (argc ? argc : 1)] = 0;
		argv = av;
	}
	for (size_t i = 0; i < envc; i++)
		nv[i] = envp[i];
	/* LXS_PICO_* strings, sized to fit: a vfork child runs this on its
	 * parent's stack, and a thread's stack may be small. */
	char vars[(size_t)slen + strlen(host) + strlen(guest) + strlen(path) + 128 + PICO_IDS_LEN +
		  16];
	char *p = vars;
	nv[envc] = p;
	p = cat(p, "LXS_PICO_STATE=", state);
	nv[envc + 1] = p;
	p = cat(p, "LXS_PICO_HOST=", host);
	nv[envc + 2] = p;
	p = cat(p, "LXS_PICO_EXE=", guest);
	nv[envc + 3] = p;
	p = cat(p, "LXS_PICO_EXECFN=", path);
	/* The new loader maps this file again at our address (loader.c,
	 * stage 1), from an fd it is given: where the kernel puts it, no
	 * call that takes a path is let through. Open here, not inherited
	 * (the guest could close or replace an fd kept for this), so
	 * another thread's fork in this window would inherit it. */
	long mfd = sys4(__NR_openat, AT_FDCWD, (long)pico.loader, O_RDONLY, 0);
	if (mfd < 0) {
		r = mfd;
		goto out;
	}
	nv[envc + 4] = p;
	p = cat(p, "LXS_PICO_MAP=", "");
	p = pico_utoa(p - 1, (unsigned long)mfd);
	*p++ = ':';
	unsigned long base = (unsigned long)&image_start;
	char hex[16];
	int nh = 0;
	do
		hex[nh++] = "0123456789abcdef"[base & 15];
	while (base >>= 4);
	while (nh)
		*p++ = hex[--nh];
	*p++ = ':';
	*p++ = pico.sealed ? '1' : '0';
	*p++ = 0;
	/* Room for the ids other processes read (the new loader fills it). */
	nv[envc + 5] = p;
	p = cat(p, "LXS_PICO_IDS=", "");
	memset(p - 1, '0', PICO_IDS_LEN);
	p[PICO_IDS_LEN - 1] = 0;
	nv[envc + 6] = sb.interp ? exec_str("LXS_PICO_SCRIPT=1") : 0;
	nv[envc + 7] = 0;
	static char *const no_args[] = {0};
	r = sys3(__NR_execve, (long)pico.loader, (long)(argv ? argv : no_args), (long)nv);
	sys1(__NR_close, mfd);
out:
	if (maplen)
		sys2(__NR_munmap, (long)nv, (long)maplen);
	return r;
}
