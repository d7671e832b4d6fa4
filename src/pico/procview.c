/*
 * procview.c - /proc files whose host contents would show the guest how it
 * is put together: the maps (every program under the root folder's host
 * path; the loader mapped in every process, whose file mappings and
 * anonymous one (its bss) are all named [lxs-pico]) and the environment
 * (the loader's LXS_PICO_* variables, which stay in the memory the kernel
 * shows even after the loader has taken them out of the guest's environ).
 * The status files show the host's ids; their Uid:, Gid: and Groups: lines
 * get the guest's (this process's own, or what another guest process
 * published: privilege.c, pico_ids_of).
 * Opening one gives the guest a memfd holding a rewritten copy, read once:
 * as with the real file, what it reads is a snapshot.
 */
#include <linux/fcntl.h>
#include <linux/errno.h>
#include <linux/memfd.h>

#include "pico.h"
#include "sys.h"

enum { V_NONE, V_MAPS, V_ENVIRON, V_STATUS };

/* Past "<digits>/" at p, or NULL when p does not start with one. */
static const char *skip_id(const char *p)
{
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '/' ? p + 1 : NULL;
}

/* host is what the guest's path resolved to: /proc/<pid>[/task/<tid>]/<file>
 * (self and thread-self are links the walk followed). */
static int view_kind(const char *host)
{
	const char *p = host;
	if (memcmp(p, "/proc/", 6) != 0 || !(p = skip_id(p + 6)))
		return V_NONE;
	if (memcmp(p, "task/", 5) == 0 && !(p = skip_id(p + 5)))
		return V_NONE;
	if (pico_streq(p, "maps") || pico_streq(p, "smaps") || pico_streq(p, "numa_maps"))
		return V_MAPS;
	if (pico_streq(p, "environ"))
		return V_ENVIRON;
	if (pico_streq(p, "status"))
		return V_STATUS;
	return V_NONE;
}

int pico_proc_view_name(const char *path)
{
	const char *base = path;
	for (const char *p = path; *p; p++)
		if (*p == '/' && p[1])
			base = p + 1;
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	return (n == 4 && memcmp(base, "maps", 4) == 0) ||
	       (n == 5 && memcmp(base, "smaps", 5) == 0) ||
	       (n == 9 && memcmp(base, "numa_maps", 9) == 0) ||
	       (n == 7 && memcmp(base, "environ", 7) == 0) ||
	       (n == 6 && memcmp(base, "status", 6) == 0) ||
	       (n == 13 && memcmp(base, "oom_score_adj", 13) == 0);
}

struct out {
	int fd;
	long err;
	unsigned n;
	char buf[4096];
};

static void flush(struct out *o)
{
	for (unsigned off = 0; off < o->n && !o->err;) {
		long w = sys3(__NR_write, o->fd, (long)(o->buf + off), o->n - off);
		if (w < 0)
			o->err = w;
		else
			off += (unsigned)w;
	}
	o->n = 0;
}

static void put(struct out *o, const char *s, size_t n)
{
	while (n) {
		size_t k = sizeof o->buf - o->n;
		if (k > n)
			k = n;
		memcpy(o->buf + o->n, s, k);
		o->n += (unsigned)k, s += k, n -= k;
		if (o->n == sizeof o->buf)
			flush(o);
	}
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* One line of maps or smaps (without its newline). A mapping's line is
 * "start-end perms offset dev inode   path"; smaps' other lines are
 * "Key: value". */
static void map_line(struct out *o, char *l, size_t n)
{
	size_t i = 0;
	unsigned long start = 0, lo, hi;
	for (; i < n && is_hex(l[i]); i++)
		start = start << 4 |
			(unsigned long)(l[i] <= '9' ? l[i] - '0' : (l[i] | 0x20) - 'a' + 10);
	if (i == 0 || i >= n || l[i] != '-')
		goto as_is;
	i = 0;
	for (int field = 0; field < 5; field++) {
		while (i < n && l[i] != ' ')
			i++;
		while (i < n && l[i] == ' ')
			i++;
	}
	pico_image(&lo, &hi);
	if (i >= n && start >= lo && start < hi) {
		/* The translator's anonymous part (its bss), padded
		 * to the column where the kernel starts a name. */
		put(o, l, n);
		for (size_t c = n; c < 73; c++)
			put(o, " ", 1);
		put(o, "[lxs-pico]", 10);
		return;
	}
	if (i >= n || l[i] != '/')
		goto as_is;
	const char *path = l + i;
	size_t pl = n - i, ll = strlen(pico.loader);
	if (pl >= ll && memcmp(path, pico.loader, ll) == 0 && (pl == ll || path[ll] == ' ')) {
		/* the translator: mapped, but not a file of the guest's */
		put(o, l, i);
		put(o, "[lxs-pico]", 10);
		return;
	}
	char c = l[n];
	l[n] = 0;
	/* A " (deleted)" suffix stays where it is, after the guest path. */
	if (pl < PICO_PATH) {
		char g[PICO_PATH];
		if (pico_to_guest(path, g) == 0) {
			l[n] = c;
			put(o, l, i);
			put(o, g, strlen(g));
			return;
		}
	}
	l[n] = c;
as_is:
	put(o, l, n);
}

/* Rewrites the open host file fd into o. Lines longer than the buffer
 * (they are not maps lines) go through unchanged. */
static long copy_maps(int fd, struct out *o)
{
	char line[PICO_PATH + 256];
	size_t have = 0;
	for (;;) {
		long r = sys3(__NR_read, fd, (long)(line + have), (long)(sizeof line - 1 - have));
		if (r < 0)
			return r;
		if (r == 0)
			break;
		have += (size_t)r;
		size_t start = 0;
		for (size_t i = 0; i < have; i++)
			if (line[i] == '\n') {
				map_line(o, line + start, i - start);
				put(o, "\n", 1);
				start = i + 1;
			}
		if (start == 0 && have == sizeof line - 1) {
			put(o, line, have);
			have = 0;
			continue;
		}
		memmove(line, line + start, have - start);
		have -= start;
	}
	if (have)
		map_line(o, line, have);
	return 0;
}

/* Copies fd into o without the entries that start with LXS_PICO_. */
static long copy_environ(int fd, struct out *o)
{
	static const char key[] = "LXS_PICO_";
	const size_t kl = sizeof key - 1;
	char buf[2048], head[sizeof key];
	size_t hn = 0; /* bytes of the current entry held back in head */
	int state = 0; /* 0: at the start of an entry (matching), 1: keep, 2: drop */
	for (;;) {
		long r = sys3(__NR_read, fd, (long)buf, sizeof buf);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		for (long i = 0; i < r; i++) {
			char c = buf[i];
			if (state == 0) {
				if (c != 0 && c == key[hn]) {
					head[hn++] = c;
					if (hn == kl)
						state = 2, hn = 0;
					continue;
				}
				put(o, head, hn);
				hn = 0;
				state = 1;
			}
			if (state == 1)
				put(o, &c, 1);
			if (c == 0)
				state = 0;
		}
	}
	if (state == 0)
		put(o, head, hn);
	return 0;
}

/* "Uid:\t1\t2\t3\t4" (tab-separated), or "Groups:\t1 2 " (each followed
 * by a space), as the kernel writes them. */
static void put_ids(struct out *o, const char *key, const unsigned *v, unsigned n, int groups)
{
	char num[16];
	put(o, key, strlen(key));
	for (unsigned i = 0; i < n; i++) {
		if (i && !groups)
			put(o, "\t", 1);
		char *e = pico_utoa(num, v[i]);
		if (groups)
			*e++ = ' ';
		put(o, num, (size_t)(e - num));
	}
}

/* status with the guest's ids in place of the host's; another process's
 * as it published them, or as they are if it published none. */
static long copy_status(int fd, const char *host, struct out *o)
{
	unsigned ids[8], groups[PICO_NGROUPS];
	int ng;
	const char *e = host + 6;
	while (*e >= '0' && *e <= '9')
		e++;
	const char *q = host + 6;
	unsigned long pid;
	if (pico_atou(&q, &pid) == 0 && (long)pid == sys0(__NR_getpid)) {
		unsigned mine[8] = {pico.ruid, pico.euid, pico.suid, pico.fsuid,
				    pico.rgid, pico.egid, pico.sgid, pico.fsgid};
		memcpy(ids, mine, sizeof ids);
		ng = (int)pico.ngroups;
		memcpy(groups, pico.groups, (size_t)ng * sizeof groups[0]);
	} else {
		ng = pico_ids_of(host, (size_t)(e - host), ids, groups);
	}
	char text[4096]; /* a status file is about 1.5 KiB */
	size_t have = 0;
	for (;;) {
		long r = sys3(__NR_read, fd, (long)(text + have), (long)(sizeof text - have));
		if (r < 0)
			return r;
		if (r == 0)
			break;
		have += (size_t)r;
		if (have == sizeof text)
			break;
	}
	for (size_t i = 0; i < have;) {
		size_t j = i;
		while (j < have && text[j] != '\n')
			j++;
		const char *l = text + i;
		size_t n = j - i;
		if (ng >= 0 && n >= 4 && memcmp(l, "Uid:", 4) == 0) {
			put_ids(o, "Uid:\t", ids, 4, 0);
		} else if (ng >= 0 && n >= 4 && memcmp(l, "Gid:", 4) == 0) {
			put_ids(o, "Gid:\t", ids + 4, 4, 0);
		} else if (ng >= 0 && n >= 7 && memcmp(l, "Groups:", 7) == 0) {
			put_ids(o, "Groups:\t", groups, (unsigned)ng, 1);
		} else {
			put(o, l, n);
		}
		if (j < have)
			put(o, "\n", 1);
		i = j + 1;
	}
	return 0;
}

__attribute__((noinline)) long pico_proc_view(const char *host, long flags)
{
	struct out o;
	int kind = view_kind(host);
	if (kind == V_NONE || (flags & O_ACCMODE) != O_RDONLY || (flags & (O_DIRECTORY | O_PATH)))
		return PICO_NOT_VIEW;
	long fd = sys4(__NR_openat, AT_FDCWD, (long)host, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	const char *name = kind == V_MAPS ? "maps" : kind == V_STATUS ? "status" : "environ";
	long m = sys2(__NR_memfd_create, (long)name, (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (m < 0) {
		sys1(__NR_close, fd);
		return m;
	}
	o.fd = (int)m, o.err = 0, o.n = 0;
	long r = kind == V_MAPS     ? copy_maps((int)fd, &o)
		 : kind == V_STATUS ? copy_status((int)fd, host, &o)
				    : copy_environ((int)fd, &o);
	flush(&o);
	sys1(__NR_close, fd);
	if (r == 0)
		r = o.err;
	if (r == 0)
		r = sys3(__NR_lseek, m, 0, 0 /* SEEK_SET */);
	if (r < 0) {
		sys1(__NR_close, m);
		return r;
	}
	return m;
}
