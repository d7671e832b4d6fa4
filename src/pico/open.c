/*
 * open.c - open and openat as the guest sees them (pico_open), and the
 * open of a path already translated (pico_open_host), which openat2
 * (open2.c) uses too: the guest's permission checks (perm.c), /proc views
 * (procview.c, privilege.c), the owner and mode of a new file (meta.c),
 * O_TMPFILE.
 */
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <asm/stat.h>

#include "pico.h"
#include "sys.h"

#ifndef __NR_faccessat2
#define __NR_faccessat2 439
#endif

static long do_open(long dirfd, const char *path, long flags, long mode)
{
	char host[PICO_HOST];
	int follow = !(flags & O_NOFOLLOW) && !((flags & O_CREAT) && (flags & O_EXCL));
	/* The faked root's relative paths go to the kernel as they are, so
	 * one that may be /proc's maps or environ (from a cwd in /proc) takes
	 * the walk, which tells the region. */
	int walk = path[0] != '/' && pico_proc_view_name(path);
	if (pico.fsuid == 0 && !walk && (flags & __O_TMPFILE) != __O_TMPFILE &&
	    pico_lexical((int)dirfd, path, host) >= 0 &&
	    (!(flags & O_CREAT) || !pico_need_meta_on_create(host, S_IFREG, (unsigned)mode))) {
		long fd =
		    pico_open_nolinks(host, flags, (mode & 07777) | ((flags & O_CREAT) ? 0600 : 0));
		if (fd != -ELOOP && fd != -EINVAL)
			return fd;
	}
	int region = pico_resolve((int)dirfd, path, (follow ? P_FOLLOW : 0) | (walk ? P_WALK : 0),
				  host, NULL);
	if (region < 0)
		return region;
	return pico_open_host(host, region, flags, mode, 0);
}

long pico_open(long dirfd, const char *path, long flags, long mode)
{
	return do_open(dirfd, path, flags, mode);
}

/* The open itself, of a translated path: the guest's permission checks,
 * /proc views, metadata of a new file. resolve: openat2's flags for the
 * host's walk of host (0: openat). */
static long host_open(const char *host, long flags, long mode, unsigned long resolve)
{
	if (!resolve)
		return sys4(__NR_openat, AT_FDCWD, (long)host, flags, mode);
	unsigned long m = (flags & (O_CREAT | __O_TMPFILE)) ? (unsigned long)mode : 0;
	struct open_how how = {(unsigned long)flags, m, resolve};
	return sys4(__NR_openat2, AT_FDCWD, (long)host, (long)&how, sizeof how);
}

/* O_TMPFILE: a file with no name yet, in the folder host; its owner and
 * the mode the host cannot take go on it through the descriptor. */
static long tmpfile_open(const char *host, long flags, long mode, unsigned long resolve)
{
	char name[PICO_HOST];
	size_t n = strlen(host);
	long fd = host_open(host, flags, (mode & 0777) | 0600, resolve);
	if (fd < 0 || n + 2 > sizeof name)
		return fd;
	memcpy(name, host, n);
	memcpy(name + n, "/x", 3); /* a name in that folder, for need_meta_on_create */
	if (pico_need_meta_on_create(name, S_IFREG, (unsigned)mode)) {
		struct pico_target t = {NULL, fd};
		pico_created_t(&t, name, S_IFREG, (unsigned)mode);
	}
	return fd;
}

/* The tools folder is read-only, as a read-only mount: an open that would
 * write, truncate or create there fails with EROFS, as Linux answers it
 * (O_CREAT of a file that is there opens it; with O_EXCL, EEXIST). */
static long tools_open_check(const char *host, long *flags)
{
	if (*flags & O_PATH)
		return 0; /* O_PATH takes no other flags */
	if ((*flags & O_ACCMODE) != O_RDONLY || (*flags & (O_TRUNC | __O_TMPFILE)))
		return -EROFS;
	if (!(*flags & O_CREAT))
		return 0;
	long r = sys4(__NR_faccessat2, AT_FDCWD, (long)host, 0, AT_SYMLINK_NOFOLLOW);
	if (r == -ENOENT)
		return -EROFS;
	if (r < 0)
		return r;
	if (*flags & O_EXCL)
		return -EEXIST;
	*flags &= ~(long)O_CREAT; /* only opened, never made */
	return 0;
}

long pico_open_host(const char *host, int region, long flags, long mode, unsigned long resolve)
{
	if (region == R_TOOLS) {
		long r = tools_open_check(host, &flags);
		if (r < 0)
			return r;
	}
	if (pico.fsuid != 0 && region == R_VOL && !(flags & O_PATH)) {
		unsigned acc = (unsigned)flags & O_ACCMODE;
		unsigned want = acc == O_RDONLY ? 4 : acc == O_WRONLY ? 2 : 6;
		if (flags & O_TRUNC)
			want |= 2;
		long r = pico_dac_check(host, want);
		if (r == 0 && (flags & O_CREAT) &&
		    sys4(__NR_faccessat2, AT_FDCWD, (long)host, 0, AT_SYMLINK_NOFOLLOW) == -ENOENT)
			r = pico_dac_parent(host);
		if (r == 0 && (flags & O_NOATIME))
			r = pico_noatime_ok(host);
		if (r < 0)
			return r;
	}
	if (region == R_PROC) {
		long v = pico_proc_view(host, flags);
		if (v == PICO_NOT_VIEW)
			v = pico_oom_open(host, flags);
		if (v != PICO_NOT_VIEW)
			return v;
	}
	if ((flags & __O_TMPFILE) == __O_TMPFILE && region == R_VOL)
		return tmpfile_open(host, flags, mode, resolve);
	if (!(flags & O_CREAT) || region != R_VOL)
		return host_open(host, flags, mode, resolve);
	unsigned hmode = (unsigned)(mode & 0777) | 0600;
	if (!pico_need_meta_on_create(host, S_IFREG, (unsigned)mode))
		return host_open(host, flags, hmode, resolve);
	long fd = host_open(host, flags | O_EXCL, hmode, resolve);
	if (fd == -EEXIST && !(flags & O_EXCL))
		return host_open(host, flags & ~(long)O_CREAT, 0, resolve);
	if (fd >= 0)
		pico_created(host, S_IFREG, (unsigned)mode);
	return fd;
}
