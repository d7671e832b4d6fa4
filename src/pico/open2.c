/*
 * open2.c - openat2 and the file-handle calls, translated.
 *
 * openat2's struct is checked as the kernel checks it (size, unknown
 * flags, mode without O_CREAT, E2BIG for a longer struct with a non-zero
 * tail), then:
 *   resolve 0            the same open as openat (open.c, pico_open)
 *   RESOLVE_BENEATH or   the host kernel walks the path from the guest's
 *   RESOLVE_IN_ROOT      dirfd with the guest's flags: a walk that may not
 *                        leave a folder of the guest's is the same walk in
 *                        host terms (absolute symlinks, ".." and magic
 *                        links are refused or kept inside by the kernel
 *                        itself); it finds the file (an O_PATH probe),
 *                        which is then opened by its host path as any
 *                        other (permission checks, /proc views, metadata)
 *   RESOLVE_NO_SYMLINKS  the path taken lexically ("..": only over real
 *                        folders), the host path opened with the flag (the
 *                        root folder's path holds no symlink)
 *   RESOLVE_NO_MAGICLINKS, RESOLVE_CACHED
 *                        the path translated as for openat, the flags
 *                        given to the host's open of the translated path;
 *                        a /proc path is first probed with the flag on its
 *                        own host path (the walk answers /proc/<pid>/exe
 *                        and such in guest terms, as links to follow)
 *   RESOLVE_NO_XDEV      the file opened must be on the mount the walk
 *                        started on (the dirfd's, or the root folder's)
 * name_to_handle_at translates its path; open_by_handle_at needs
 * CAP_DAC_READ_SEARCH in the host, which an ordinary user lacks: it is
 * answered EPERM, as the host answers that user (a handle names a file
 * anywhere on the host file system, so passing it on would let a guest
 * that lxs-pico runs as real root out of the distro).
 */
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <asm/stat.h>

#include "pico.h"
#include "sys.h"

/* Each step keeps its own buffers (a trapped call's stack may be small). */
#define NOINL __attribute__((noinline))

#define VALID_OPEN                                                                                 \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | __O_SYNC |    \
	 O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME |        \
	 O_CLOEXEC | O_PATH | __O_TMPFILE)
#define PATH_FLAGS (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)
#define VALID_RESOLVE                                                                              \
	(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |         \
	 RESOLVE_IN_ROOT | RESOLVE_CACHED)

/* The kernel's build_open_flags and copy_struct_from_user, in its order. */
static long check_how(const void *uhow, unsigned long size, struct open_how *how)
{
	if (size < sizeof *how)
		return -EINVAL;
	if (size > 4096)
		return -E2BIG;
	if (pico_ucopy(how, uhow, sizeof *how))
		return -EFAULT;
	for (unsigned long off = sizeof *how; off < size;) {
		unsigned long chunk[32];
		unsigned long n = size - off < sizeof chunk ? size - off : sizeof chunk;
		memset(chunk, 0, sizeof chunk);
		if (pico_ucopy(chunk, (const char *)uhow + off, n))
			return -EFAULT;
		for (unsigned i = 0; i < 32; i++)
			if (chunk[i])
				return -E2BIG;
		off += n;
	}
	unsigned long f = how->flags;
	if (!(f & O_PATH))
		f |= O_LARGEFILE;
	if (f & ~(unsigned long)VALID_OPEN)
		return -EINVAL;
	if (how->resolve & ~(unsigned long)VALID_RESOLVE)
		return -EINVAL;
	if ((how->resolve & RESOLVE_BENEATH) && (how->resolve & RESOLVE_IN_ROOT))
		return -EINVAL;
	if ((f & O_CREAT) || (f & __O_TMPFILE) == __O_TMPFILE) {
		if (how->mode & ~07777UL)
			return -EINVAL;
	} else if (how->mode) {
		return -EINVAL;
	}
	if (f & __O_TMPFILE) {
		if ((f & (__O_TMPFILE | O_DIRECTORY | O_CREAT)) != (__O_TMPFILE | O_DIRECTORY))
			return -EINVAL;
		if ((f & O_ACCMODE) == O_RDONLY)
			return -EINVAL;
	}
	if ((f & O_PATH) && (f & ~(unsigned long)PATH_FLAGS))
		return -EINVAL;
	if ((how->resolve & RESOLVE_CACHED) && (f & (O_TRUNC | O_CREAT | __O_TMPFILE)))
		return -EAGAIN;
	how->flags = f;
	return 0;
}

static long mnt_id(int dirfd, const char *path, unsigned long long *id, long flags)
{
	struct statx sx;
	long r =
	    sys5(__NR_statx, dirfd, (long)path, AT_EMPTY_PATH | flags, STATX_MNT_ID, (long)&sx);
	if (r < 0)
		return r;
	*id = sx.stx_mnt_id;
	return 0;
}

/* BENEATH, IN_ROOT: the host walks from dirfd; the file (or, to create
 * one, its folder) is found by an O_PATH probe with the guest's flags. */
NOINL static long scoped(long dirfd, const char *path, const struct open_how *how)
{
	char host[PICO_HOST];
	long flags = (long)how->flags;
	struct open_how probe = {O_PATH | O_CLOEXEC | (how->flags & (O_NOFOLLOW | O_DIRECTORY)), 0,
				 how->resolve};
	if ((flags & O_CREAT) && (flags & O_EXCL))
		probe.flags |= O_NOFOLLOW;
	long p = sys4(__NR_openat2, dirfd, (long)path, (long)&probe, sizeof probe);
	const char *name = NULL;
	size_t nl = 0;
	if (p == -ENOENT && (flags & O_CREAT)) {
		/* the folder, then the name in it */
		size_t n = strlen(path);
		while (n > 1 && path[n - 1] == '/')
			n--;
		size_t s = n;
		while (s > 0 && path[s - 1] != '/')
			s--;
		name = path + s, nl = n - s;
		char dir[PICO_PATH];
		if (s == 0)
			dir[0] = '.', dir[1] = 0;
		else
			memcpy(dir, path, s), dir[s] = 0;
		probe.flags = O_PATH | O_CLOEXEC | O_DIRECTORY;
		p = sys4(__NR_openat2, dirfd, (long)dir, (long)&probe, sizeof probe);
	}
	if (p < 0)
		return p;
	if (!name && (flags & O_CREAT) && (flags & O_EXCL)) {
		sys1(__NR_close, p);
		return -EEXIST;
	}
	long n = pico_fd_host((int)p, host);
	if (n >= 0 && host[0] != '/') {
		/* not a path (a pipe behind a magic link): reopened through
		 * the probe, as the kernel would have */
		char link[32] = "/proc/self/fd/";
		*pico_utoa(link + 14, (unsigned long)p) = 0;
		long fd = sys4(__NR_openat, AT_FDCWD, (long)link, flags, 0);
		sys1(__NR_close, p);
		return fd;
	}
	sys1(__NR_close, p);
	if (n < 0)
		return n;
	if (name) {
		if ((size_t)n + 1 + nl + 1 > PICO_HOST)
			return -ENAMETOOLONG;
		if (n > 1)
			host[n++] = '/';
		memcpy(host + n, name, nl);
		host[n + (long)nl] = 0;
	}
	/* The host path is canonical: no symlink in it may be followed now
	 * (a dangling one to create through holds a guest path). */
	return pico_open_host(host, pico_host_region(host), flags, (long)how->mode,
			      RESOLVE_NO_SYMLINKS);
}

/* The guest path dirfd + path with "." and ".." taken lexically, into g;
 * with check, every folder a ".." leaves must be a real folder. */
NOINL static long lexical(long dirfd, const char *path, char *g, int check)
{
	char h[PICO_HOST];
	size_t o = 0, len = strlen(path);
	if (len == 0)
		return -ENOENT;
	if (path[0] != '/') {
		long r = pico_fd_guest((int)dirfd, g);
		if (r < 0)
			return r;
		o = strlen(g);
		if (o == 1)
			o = 0;
	}
	for (size_t i = 0; i < len;) {
		while (i < len && path[i] == '/')
			i++;
		size_t c = i;
		while (i < len && path[i] != '/')
			i++;
		size_t n = i - c;
		if (n == 0 || (n == 1 && path[c] == '.'))
			continue;
		if (n == 2 && path[c] == '.' && path[c + 1] == '.') {
			if (check && o) {
				g[o] = 0;
				long r = pico_resolve(AT_FDCWD, g, 0, h, NULL);
				struct stat st;
				if (r >= 0)
					r = sys4(__NR_newfstatat, AT_FDCWD, (long)h, (long)&st,
						 AT_SYMLINK_NOFOLLOW);
				if (r < 0)
					return r;
				if (S_ISLNK(st.st_mode))
					return -ELOOP;
				if (!S_ISDIR(st.st_mode))
					return -ENOTDIR;
			}
			while (o > 0 && g[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + 1 + n >= PICO_PATH)
			return -ENAMETOOLONG;
		g[o++] = '/';
		memcpy(g + o, path + c, n);
		o += n;
	}
	if (o == 0)
		g[o++] = '/';
	if (path[len - 1] == '/' && o > 1) {
		if (o + 1 >= PICO_PATH)
			return -ENAMETOOLONG;
		g[o++] = '/';
	}
	g[o] = 0;
	return 0;
}

static int in_host_tree(const char *g)
{
	int r = pico_guest_region(g);
	return r == R_PROC || r == R_DEV || r == R_SYS;
}

/* A canonical guest path's host path, joined as it is. */
static long join(const char *g, int region, char *host)
{
	const char *pre = "";
	size_t n = strlen(g), pl = 0;
	if (region == R_VOL) {
		pre = pico.root, pl = pico.rootlen;
		if (n == 1)
			n = 0;
	} else if (region == R_HOST) {
		pre = pico.share, pl = pico.sharelen, g += 9, n -= 9;
		if (n == 0 && pl == 0)
			g = "/", n = 1;
	} else if (region == R_TOOLS) {
		pre = pico.tools, pl = pico.toolslen, g += PICO_TOOLS_GLEN, n -= PICO_TOOLS_GLEN;
	}
	if (pl + n + 1 > PICO_HOST)
		return -ENAMETOOLONG;
	memcpy(host, pre, pl);
	memcpy(host + pl, g, n);
	host[pl + n] = 0;
	return 0;
}

NOINL static long unscoped(long dirfd, const char *path, const struct open_how *how)
{
	char g[PICO_PATH], host[PICO_HOST];
	long flags = (long)how->flags, region, r;
	unsigned long res = how->resolve & ~(unsigned long)RESOLVE_NO_XDEV;
	int follow = !(flags & O_NOFOLLOW) && !((flags & O_CREAT) && (flags & O_EXCL));
	if ((r = lexical(dirfd, path, g, (how->resolve & RESOLVE_NO_SYMLINKS) != 0)) < 0)
		return r;
	if (how->resolve & RESOLVE_NO_SYMLINKS) {
		/* no symlink anywhere: the lexical path is the path (the
		 * root folder's path holds none) */
		region = pico_guest_region(g);
		if ((r = join(g, (int)region, host)) < 0)
			return r;
	} else {
		if ((how->resolve & RESOLVE_NO_MAGICLINKS) && in_host_tree(g)) {
			struct open_how probe = {O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0,
						 RESOLVE_NO_MAGICLINKS};
			long p = sys4(__NR_openat2, AT_FDCWD, (long)g, (long)&probe, sizeof probe);
			if (p < 0 && p != -ENOENT)
				return p;
			if (p >= 0)
				sys1(__NR_close, p);
		}
		region =
		    pico_resolve((int)dirfd, path, (follow ? P_FOLLOW : 0) | P_WALK, host, NULL);
		if (region < 0)
			return region;
	}
	/* NO_XDEV: the file (by its host path: a /proc view is a memfd), or
	 * the one just made, on the mount the walk started on */
	unsigned long long start = 0, end = 0;
	int xdev = (how->resolve & RESOLVE_NO_XDEV) != 0, after = 0;
	if (xdev) {
		r = path[0] == '/' ? mnt_id(AT_FDCWD, pico.root, &start, 0)
				   : mnt_id((int)dirfd, "", &start, 0);
		if (r == 0)
			r = mnt_id(AT_FDCWD, host, &end, follow ? 0 : AT_SYMLINK_NOFOLLOW);
		if (r == -ENOENT)
			after = 1;
		else if (r < 0)
			return r;
		else if (end != start)
			return -EXDEV;
	}
	long fd = pico_open_host(host, (int)region, flags, (long)how->mode, res);
	if (fd >= 0 && after && (mnt_id((int)fd, "", &end, 0) < 0 || end != start)) {
		sys1(__NR_close, fd);
		return -EXDEV;
	}
	return fd;
}

long pico_openat2(long dirfd, const char *path, const void *uhow, unsigned long size)
{
	struct open_how how;
	long r = check_how(uhow, size, &how);
	if (r < 0)
		return r;
	if (!how.resolve)
		return pico_open(dirfd, path, (long)how.flags, (long)how.mode);
	if (how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT))
		return scoped(dirfd, path, &how);
	return unscoped(dirfd, path, &how);
}

long pico_name_to_handle_at(long dirfd, const char *path, void *handle, void *mnt, long flags)
{
	char host[PICO_HOST];
	if ((flags & AT_EMPTY_PATH) && !path[0])
		return sys5(__NR_name_to_handle_at, dirfd, (long)path, (long)handle, (long)mnt,
			    flags);
	long r =
	    pico_resolve((int)dirfd, path, (flags & AT_SYMLINK_FOLLOW) ? P_FOLLOW : 0, host, NULL);
	if (r < 0)
		return r;
	return sys5(__NR_name_to_handle_at, AT_FDCWD, (long)host, (long)handle, (long)mnt, flags);
}
