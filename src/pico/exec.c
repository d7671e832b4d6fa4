/*
 * exec.c - the checks an execve passes before it is made: is the file one
 * the guest may execute, and a #! script's interpreter. The translator
 * (trap.c) runs them so that their errors reach the caller; the loader
 * (loader.c) reads the same headers again after the real execve.
 */
#include <asm/stat.h>
#include <linux/stat.h>
#include <linux/elf.h>
#include <linux/fcntl.h>
#include <linux/errno.h>

#include "common/volfs.h"
#include "pico.h"
#include "sys.h"

int pico_parse_shebang(char *buf, long n, char **interp, char **arg)
{
	char *p = buf + 2, *end = buf + n;
	char *nl = p;
	while (nl < end && *nl != '\n')
		nl++;
	if (nl == end && n >= 256)
		return -ENOEXEC;
	*nl = 0;
	while (p < nl && (*p == ' ' || *p == '\t'))
		p++;
	if (p == nl)
		return -ENOEXEC;
	*interp = p;
	while (p < nl && *p != ' ' && *p != '\t')
		p++;
	*arg = 0;
	if (p < nl) {
		*p++ = 0;
		while (p < nl && (*p == ' ' || *p == '\t'))
			p++;
		char *e = nl;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = 0;
		if (p < e)
			*arg = p;
	}
	return 0;
}

long pico_read_head(const char *host, char *buf, long size, struct stat *st, int *fdp)
{
	long fd = sys4(__NR_openat, AT_FDCWD, (long)host, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	long r = sys2(__NR_fstat, fd, (long)st);
	if (r == 0 && S_ISDIR(st->st_mode))
		r = -EACCES;
	if (r == 0 && !S_ISREG(st->st_mode))
		r = -EACCES;
	if (r == 0)
		r = sys4(__NR_pread64, fd, (long)buf, size, 0);
	if (r < 0 || !fdp)
		sys1(__NR_close, fd);
	else
		*fdp = (int)fd;
	return r;
}

static int may_exec(const char *host, int region, const struct stat *st)
{
	struct lxs_meta m;
	char v[LXS_META_MAX];
	unsigned mode = st->st_mode, uid = 0, gid = 0;
	if (region != R_VOL)
		return sys4(__NR_faccessat2, AT_FDCWD, (long)host, 1, 0) == 0 ? 0 : -EACCES;
	long n = sys4(__NR_getxattr, (long)host, (long)LXS_META_XATTR, (long)v, sizeof v);
	if (n > 0 && lxs_meta_parse(v, n, &m) == 0) {
		mode = m.mode, uid = m.uid, gid = m.gid;
		if (!S_ISREG(mode))
			return -EACCES;
	}
	if (pico.euid == 0)
		return (mode & 0111) ? 0 : -EACCES;
	unsigned bit = pico.euid == uid ? 0100 : (pico.egid == gid ? 0010 : 0001);
	for (unsigned i = 0; bit == 0001 && i < pico.ngroups; i++)
		if (pico.groups[i] == gid)
			bit = 0010;
	return (mode & bit) ? 0 : -EACCES;
}

int pico_check_exec(const char *host, int region, struct pico_shebang *sb)
{
	struct pico_shebang own;
	struct stat st;
	if (!sb)
		sb = &own;
	char *buf = sb->buf;
	sb->interp = sb->arg = 0;
	long n = pico_read_head(host, buf, sizeof sb->buf - 1, &st, NULL);
	if (n < 0)
		return (int)n;
	int r = may_exec(host, region, &st);
	if (r < 0)
		return r;
	if (n >= 4 && memcmp(buf, ELFMAG, 4) == 0)
		return 0;
	/* A missing #! interpreter is reported by the loader after the real
	 * execve (exit 127): resolving it here would cost stack the guest's
	 * thread may not have (see trap.c). */
	if (n >= 2 && buf[0] == '#' && buf[1] == '!') {
		buf[n] = 0;
		return pico_parse_shebang(buf, n, &sb->interp, &sb->arg) ? -ENOEXEC : 0;
	}
	return -ENOEXEC;
}
