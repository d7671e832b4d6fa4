/*
 * path.c - guest path -> host path, the way a chroot would resolve it.
 *
 * The walk is done here, one component at a time, because the host kernel
 * would resolve ".." and absolute symlinks against the host's root. Every
 * prefix that is not known to be a directory is tried with readlink(2): one
 * system call tells "not a link" (EINVAL), "missing" (ENOENT) and the target.
 * Symlinks found in the distro and in the tools folder (/usr/lib/lxs) hold
 * guest paths; symlinks found under /mnt/host, /dev and /sys hold host
 * paths and are mapped back to guest ones;
 * /proc's magic links are answered in guest terms (root is "/", exe is the
 * guest program), and those the guest cannot name (pipe:[..], socket:[..],
 * deleted files) are handed to the kernel as they are.
 */
#include <linux/fcntl.h>
#include <linux/errno.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <asm/stat.h>

#include "pico.h"
#include "sys.h"

static int has_prefix(const char *s, const char *p, size_t n)
{
	return memcmp(s, p, n) == 0 && (s[n] == '/' || s[n] == 0);
}

/* /proc, /dev and /sys are the host's own. */
static int sys_region(const char *g)
{
	if (g[1] == 'p' && has_prefix(g, "/proc", 5))
		return R_PROC;
	if (g[1] == 'd' && has_prefix(g, "/dev", 4))
		return R_DEV;
	if (g[1] == 's' && has_prefix(g, "/sys", 4))
		return R_SYS;
	return -1;
}

static int guest_region(const char *g)
{
	int r;

	if (g[1] == 'm' && pico.has_share && has_prefix(g, "/mnt/host", 9))
		return R_HOST;
	if (g[1] == 'u' && pico.toolslen && has_prefix(g, PICO_TOOLS_G, PICO_TOOLS_GLEN))
		return R_TOOLS;
	r = sys_region(g);
	return r < 0 ? R_VOL : r;
}

int pico_guest_region(const char *g)
{
	return guest_region(g);
}

/* Canonical guest path g (glen bytes) -> host; returns the host length or
 * -ENAMETOOLONG. */
static long hostify(const char *g, size_t glen, int region, char *host)
{
	const char *pre = "";
	size_t plen = 0;
	if (region == R_VOL) {
		pre = pico.root;
		plen = pico.rootlen;
		if (glen == 1) /* "/" is the root folder itself */
			glen = 0;
	} else if (region == R_HOST) {
		g += 9, glen -= 9;
		pre = pico.share;
		plen = pico.sharelen;
		if (glen == 0 && plen == 0)
			g = "/", glen = 1;
	} else if (region == R_TOOLS) {
		g += PICO_TOOLS_GLEN, glen -= PICO_TOOLS_GLEN;
		pre = pico.tools;
		plen = pico.toolslen;
	}
	if (plen + glen + 1 > PICO_HOST)
		return -ENAMETOOLONG;
	memcpy(host, pre, plen);
	memcpy(host + plen, g, glen);
	host[plen + glen] = 0;
	if (plen + glen == 0)
		host[0] = '/', host[1] = 0, glen = 1;
	return (long)(plen + glen);
}

/* The tools folder is tried first: it may lie inside the share (or, in a
 * test, inside the root's folder), and what is under it is its. */
int pico_host_region(const char *h)
{
	if (pico.toolslen && has_prefix(h, pico.tools, pico.toolslen))
		return R_TOOLS;
	if (has_prefix(h, pico.root, pico.rootlen))
		return R_VOL;
	int r = sys_region(h);
	return r < 0 ? R_HOST : r;
}

int pico_to_guest(const char *h, char *g)
{
	size_t n = strlen(h);
	if (h[0] != '/')
		return -ENOENT;
	/* g may be h: everything below moves with memmove */
	if (pico.toolslen && has_prefix(h, pico.tools, pico.toolslen)) {
		n -= pico.toolslen;
		if (PICO_TOOLS_GLEN + n >= PICO_PATH)
			return -ENAMETOOLONG;
		memmove(g + PICO_TOOLS_GLEN, h + pico.toolslen, n + 1);
		memcpy(g, PICO_TOOLS_G, PICO_TOOLS_GLEN);
		return 0;
	}
	if (has_prefix(h, pico.root, pico.rootlen)) {
		if (n == pico.rootlen) {
			g[0] = '/', g[1] = 0;
			return 0;
		}
		memmove(g, h + pico.rootlen, n - pico.rootlen + 1);
		return 0;
	}
	if (sys_region(h) >= 0) {
		if (n >= PICO_PATH)
			return -ENAMETOOLONG;
		memmove(g, h, n + 1);
		return 0;
	}
	if (!pico.has_share)
		return -ENOENT;
	if (pico.sharelen && !has_prefix(h, pico.share, pico.sharelen))
		return -ENOENT;
	n -= pico.sharelen;
	if (9 + n >= PICO_PATH)
		return -ENAMETOOLONG;
	memmove(g + 9, h + pico.sharelen, n + 1);
	memcpy(g, "/mnt/host", 9);
	if (g[9] == '/' && g[10] == 0)
		g[9] = 0;
	return 0;
}

long pico_fd_readonly(long fd)
{
	char host[PICO_HOST];
	struct stat st;
	if (!pico.toolslen)
		return 0;
	/* another file system's file cannot be one of the folder's */
	if (pico.tools_dev && sys2(__NR_fstat, fd, (long)&st) == 0 && st.st_dev != pico.tools_dev)
		return 0;
	if (pico_fd_host((int)fd, host) < 0 || host[0] != '/')
		return 0;
	return pico_host_region(host) == R_TOOLS ? -EROFS : 0;
}

long pico_fd_host(int fd, char *host)
{
	char link[32] = "/proc/self/fd/";
	char *e = pico_utoa(link + 14, (unsigned long)fd);
	*e = 0;
	if (fd < 0)
		return -EBADF;
	long n = sys4(__NR_readlinkat, AT_FDCWD, (long)link, (long)host, PICO_HOST - 1);
	if (n < 0)
		return n == -ENOENT ? -EBADF : n;
	host[n] = 0;
	return n;
}

/* scratch: PICO_HOST bytes */
static int fd_guest_into(int fd, char *guest, char *host)
{
	long n;
	if (fd == AT_FDCWD) {
		n = sys2(__NR_getcwd, (long)host, PICO_HOST);
		if (n < 0)
			return (int)n;
	} else {
		n = pico_fd_host(fd, host);
		if (n < 0)
			return (int)n;
		if (host[0] != '/')
			return -ENOTDIR;
	}
	int r = pico_to_guest(host, guest);
	/* A file the guest cannot name (a host file its output went to) is
	 * still no folder to start from: say so as Linux would. */
	struct stat st;
	if (r == -ENOENT && fd != AT_FDCWD && sys2(__NR_fstat, fd, (long)&st) == 0 &&
	    !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return r;
}

__attribute__((noinline)) int pico_fd_guest(int fd, char *guest)
{
	char host[PICO_HOST];
	return fd_guest_into(fd, guest, host);
}

/* /proc/<pid or self>/<what> with nothing after it: which of the magic links
 * that name paths it is. */
enum { M_NONE, M_EXE, M_CWD, M_ROOT, M_FD, M_NS };
static int proc_magic(const char *g, size_t n, int *self)
{
	const char *p = g + 6, *end = g + n; /* after "/proc/" */
	const char *pid = p;
	if (n < 7)
		return M_NONE;
	if (end - p >= 4 && memcmp(p, "self", 4) == 0)
		p += 4;
	else
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	if (p == pid || p >= end || *p != '/')
		return M_NONE;
	*self = 1;
	if (p - pid != 4 || memcmp(pid, "self", 4) != 0) {
		const char *q = pid;
		unsigned long v;
		pico_atou(&q, &v);
		*self = (long)v == sys0(__NR_getpid);
	}
	p++;
	/* Threads: /proc/<pid>/task/<tid>/... has the same links. */
	if (end - p > 5 && memcmp(p, "task/", 5) == 0) {
		p += 5;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p >= end || *p != '/')
			return M_NONE;
		p++;
	}
	size_t rest = (size_t)(end - p);
	if (rest == 3 && memcmp(p, "exe", 3) == 0)
		return M_EXE;
	if (rest == 3 && memcmp(p, "cwd", 3) == 0)
		return M_CWD;
	if (rest == 4 && memcmp(p, "root", 4) == 0)
		return M_ROOT;
	if (rest > 3 && memcmp(p, "fd/", 3) == 0) {
		for (const char *q = p + 3; q < end; q++)
			if (*q < '0' || *q > '9')
				return M_NONE;
		return M_FD;
	}
	/* ns/<name>: "net:[4026531840]", the kernel's to follow (the host's
	 * namespaces are the guest's). */
	if (rest > 3 && memcmp(p, "ns/", 3) == 0) {
		for (const char *q = p + 3; q < end; q++)
			if (*q == '/')
				return M_NONE;
		return M_NS;
	}
	return M_NONE;
}

/*
 * What a symlink at guest path g (region `region`) whose host readlink gave
 * t[0..n) points to, in guest terms, written back into t. Returns the new
 * length, -1 if the kernel must follow the link itself (pipe:[..]), or -2
 * if it leads to a host file the guest has no name for.
 */
/* The guest path another guest process runs (/proc/<pid>/exe names only
 * the loader): the loader was given it in LXS_PICO_EXE, which stays in
 * /proc/<pid>/environ. Written to t (PICO_PATH); length or -1. */
static long other_exe(const char *g, size_t glen, char *t)
{
	char path[64];
	if (glen < 3 || glen - 3 + 8 > sizeof path)
		return -1;
	memcpy(path, g, glen - 3);
	memcpy(path + glen - 3, "environ", 8);
	long o = pico_proc_env(path, "LXS_PICO_EXE=", t, PICO_PATH);
	return o > 0 ? o : -1;
}

static long link_target(const char *g, size_t glen, int region, char *t, long n)
{
	/* The tools folder's links are made for the guest (host-path/NAME ->
	 * ../bin/lxs-host): an absolute one holds a guest path too. */
	if (region == R_VOL || region == R_TOOLS)
		return n;
	if (region == R_PROC) {
		int self = 0, m = proc_magic(g, glen, &self);
		if (m == M_ROOT) {
			t[0] = '/';
			return 1;
		}
		if (m == M_EXE && self) {
			size_t l = strlen(pico.exe);
			memcpy(t, pico.exe, l);
			return (long)l;
		}
		if (m == M_EXE) {
			long l = other_exe(g, glen, t);
			if (l > 0)
				return l;
		}
		if (m != M_NONE) {
			static const char del[] = " (deleted)";
			if (t[0] != '/' || (n > 10 && memcmp(t + n - 10, del, 10) == 0))
				return -1;
		}
	}
	if (t[0] != '/')
		return n;
	t[n] = 0;
	/* A host path the guest has no name for: never follow it. */
	if (n + 9 >= PICO_PATH || pico_to_guest(t, t) < 0)
		return -2;
	return (long)strlen(t);
}

__attribute__((noinline)) int pico_lexical(int dirfd, const char *path, char *host)
{
	char g[PICO_PATH];
	size_t len, o = 0, ncomp = 0;
	if (!path)
		return -EFAULT;
	len = strlen(path);
	if (len == 0 || len >= PICO_PATH)
		return -EAGAIN;
	if (path[0] != '/' && dirfd == AT_FDCWD &&
	    !(pico.euid | pico.egid | pico.fsuid | pico.fsgid)) {
		/* Relative to the real cwd, which is always inside the guest's
		 * view (chdir is translated, fchdir checked): without ".." and
		 * symlinks the kernel walks it exactly as the guest would. Only
		 * the region is unknown, and for root every region gives the
		 * same owners. */
		int first = 1;
		for (size_t i = 0; i < len;) {
			size_t c = i;
			while (i < len && path[i] != '/')
				i++;
			if (i - c == 2 && path[c] == '.' && path[c + 1] == '.')
				return -EAGAIN;
			/* From a cwd of /proc, "<pid>/..." names a process,
			 * which the walk checks (pidview.c). */
			if (first && i > c && !(i - c == 1 && path[c] == '.')) {
				size_t d = c;
				while (d < i && path[d] >= '0' && path[d] <= '9')
					d++;
				if (d == i)
					return -EAGAIN;
				first = 0;
			}
			if (i > c)
				ncomp++;
			while (i < len && path[i] == '/')
				i++;
		}
		/* In the tools folder the region does matter (nothing there
		 * may change): that cwd takes the walk. */
		if (pico.cwd_tools)
			return -EAGAIN;
		memcpy(host, path, len + 1);
		return (int)(ncomp ? ncomp : 1);
	}
	if (path[0] != '/') {
		if (pico_fd_guest(dirfd, g) < 0)
			return -EAGAIN;
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
		if (n == 2 && path[c] == '.' && path[c + 1] == '.')
			return -EAGAIN;
		if (o + 1 + n >= PICO_PATH)
			return -EAGAIN;
		g[o++] = '/';
		memcpy(g + o, path + c, n);
		o += n;
		ncomp++;
	}
	if (o == 0)
		return -EAGAIN;
	g[o] = 0;
	if (guest_region(g) != R_VOL)
		return -EAGAIN;
	if (pico.rootlen + o + 2 > PICO_HOST)
		return -EAGAIN;
	memcpy(host, pico.root, pico.rootlen);
	memcpy(host + pico.rootlen, g, o);
	o += pico.rootlen;
	if (path[len - 1] == '/')
		host[o++] = '/';
	host[o] = 0;
	return (int)ncomp;
}

long pico_open_nolinks(const char *host, long flags, long mode)
{
	struct open_how how = {(unsigned long)flags, (unsigned long)mode, RESOLVE_NO_SYMLINKS};
	if (!(flags & O_CREAT) && !(flags & __O_TMPFILE))
		how.mode = 0;
	return sys4(__NR_openat2, AT_FDCWD, (long)host, (long)&how, sizeof how);
}

static int walk(int dirfd, const char *path, int flags, char *host, char *out);

__attribute__((noinline)) static int walk_own(int dirfd, const char *path, int flags, char *host)
{
	char out[PICO_PATH];
	return walk(dirfd, path, flags, host, out);
}

static int resolve(int dirfd, const char *path, int flags, char *host, char *guest);

int pico_resolve(int dirfd, const char *path, int flags, char *host, char *guest)
{
	int r = resolve(dirfd, path, flags, host, guest);
	if (r == R_VOL && pico.fsuid != 0) {
		long s = pico_may_search(host);
		if (s < 0)
			return (int)s;
	}
	return r;
}

static int resolve(int dirfd, const char *path, int flags, char *host, char *guest)
{
	/* Fast path: most paths hold no symlink and no "..". One openat2 that
	 * refuses symlinks proves it (the root is canonical, so only the guest
	 * part can hold one) and replaces a readlink per component. Missing
	 * components fail the same way in the real call. */
	if (!guest && !(flags & P_WALK)) {
		int nc = pico_lexical(dirfd, path, host);
		/* (for a short absolute path one readlink per component is as cheap) */
		if (nc >= 2 || (nc > 0 && (host[0] != '/' || dirfd != AT_FDCWD))) {
			long fd = pico_open_nolinks(
			    host, O_PATH | O_CLOEXEC | ((flags & P_FOLLOW) ? 0 : O_NOFOLLOW), 0);
			if (fd >= 0) {
				sys1(__NR_close, fd);
				return R_VOL;
			}
			if (fd == -ENOENT || fd == -ENOTDIR || fd == -EACCES)
				return R_VOL;
		}
		return walk_own(dirfd, path, flags, host);
	}
	return guest ? walk(dirfd, path, flags, host, guest) : walk_own(dirfd, path, flags, host);
}

/* The walk itself; out (PICO_PATH bytes) ends as the canonical guest path.
 * Its frame is what a trapped call costs in stack, and the guest's thread
 * may have little (posix_spawn's child runs on ~32 KiB): keep it lean. */
__attribute__((noinline)) static int walk(int dirfd, const char *path, int flags, char *host,
					  char *out)
{
	char rest[PICO_PATH]; /* what is left to walk */
	char tmp[PICO_HOST];  /* link targets; scratch */
	size_t olen, len, pos = 0;
	int loops = 0, region;
	long r;

	if (!path)
		return -EFAULT;
	len = strlen(path);
	if (len == 0)
		return -ENOENT;
	if (len >= PICO_PATH)
		return -ENAMETOOLONG;
	int trailing = path[len - 1] == '/';
	memcpy(rest, path, len + 1);
	if (path[0] == '/') {
		out[0] = '/', out[1] = 0;
	} else {
		r = fd_guest_into(dirfd, out, tmp);
		if (r < 0)
			return (int)r;
	}
	olen = strlen(out);

	for (;;) {
		while (pos < len && rest[pos] == '/')
			pos++;
		if (pos >= len)
			break;
		size_t c = pos;
		while (pos < len && rest[pos] != '/')
			pos++;
		size_t clen = pos - c;
		if (clen == 1 && rest[c] == '.')
			continue;
		if (clen == 2 && rest[c] == '.' && rest[c + 1] == '.') {
			while (olen > 1 && out[olen - 1] != '/')
				olen--;
			if (olen > 1)
				olen--;
			out[olen] = 0;
			continue;
		}
		size_t q = pos;
		while (q < len && rest[q] == '/')
			q++;
		int last = q >= len;
		size_t need = olen + (olen > 1) + clen;
		if (need >= PICO_PATH)
			return -ENAMETOOLONG;
		int in_proc = olen == 5 && memcmp(out, "/proc", 5) == 0;
		if (olen > 1)
			out[olen++] = '/';
		memcpy(out + olen, rest + c, clen);
		olen += clen;
		out[olen] = 0;
		/* Another distro's or the host's processes do not exist here. */
		if (in_proc && !pico_proc_visible(out, olen))
			return -ENOENT;
		if (last && !(flags & P_FOLLOW) && !trailing)
			break;

		region = guest_region(out);
		r = hostify(out, olen, region, host);
		if (r < 0)
			return (int)r;
		long n = sys4(__NR_readlinkat, AT_FDCWD, (long)host, (long)tmp, PICO_PATH - 1);
		if (n == -EINVAL)
			continue;
		if (n < 0) {
			if (last)
				break;
			return (int)n;
		}
		if (++loops > 40)
			return -ELOOP;
		n = link_target(out, olen, region, tmp, n);
		if (n == -2)
			return -ENOENT;
		if (n < 0) {
			/* A magic link: the kernel follows it; what comes
			 * after it (if anything) goes along unchanged. */
			size_t hl = strlen(host), rl = len - pos;
			if (hl + rl + 1 > PICO_HOST)
				return -ENAMETOOLONG;
			memcpy(host + hl, rest + pos, rl + 1);
			if (olen + rl >= PICO_PATH)
				return -ENAMETOOLONG;
			memcpy(out + olen, rest + pos, rl + 1);
			return region;
		}
		/* Splice the target in front of what is left. */
		size_t rl = len - pos, sep = rl > 0;
		if ((size_t)n + sep + rl >= PICO_PATH)
			return -ENAMETOOLONG;
		memmove(rest + n + sep, rest + pos, rl + 1);
		memcpy(rest, tmp, (size_t)n);
		if (sep)
			rest[n] = '/';
		len = (size_t)n + sep + rl;
		rest[len] = 0;
		pos = 0;
		if (tmp[0] == '/') {
			olen = 1;
		} else {
			while (olen > 1 && out[olen - 1] != '/')
				olen--;
			if (olen > 1)
				olen--;
		}
		out[olen] = 0;
	}

	region = guest_region(out);
	r = hostify(out, olen, region, host);
	if (r < 0)
		return (int)r;
	if (trailing && olen > 1) {
		if (r + 2 > PICO_HOST)
			return -ENAMETOOLONG;
		host[r] = '/', host[r + 1] = 0;
	}
	return region;
}
