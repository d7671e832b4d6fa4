/*
 * privilege.c - the faked root's privileges. The guest's root is an
 * ordinary user to the host, so every call whose privileged form the host
 * refuses would tell it so. Here are the emulated capability sets
 * (capget/capset, and how id changes move them, as Linux's commoncap does)
 * and, for the calls where it keeps a consistent story, an emulation: the
 * faked root, holding the capability Linux would ask for, is told yes, the
 * value it set is kept per process and is what it reads back, and the host
 * keeps its own (never lowered, raised where the host allows):
 *   oom_score_adj (/proc/<self>/oom_score_adj)            CAP_SYS_RESOURCE
 *   nice below the current one (setpriority, PRIO_PROCESS) CAP_SYS_NICE
 *   real-time policies (sched_setscheduler/setparam)       CAP_SYS_NICE
 *   mlock/mlock2/mlockall beyond RLIMIT_MEMLOCK            CAP_IPC_LOCK
 *   hard resource limits raised (setrlimit, prlimit64)     CAP_SYS_RESOURCE
 * What is kept travels like the rest of the state: fork copies it (Linux
 * inherits all of these), execve passes it on (Linux keeps them all).
 * README.md, "Privileges", says what stays different.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/memfd.h>
#include <linux/prctl.h>
#include <linux/resource.h>
#include <linux/sched.h>

#include "pico.h"
#include "sys.h"

#define CAP_ALL ((1UL << (CAP_LAST_CAP + 1)) - 1)
/* What an fsuid change from or to 0 drops or raises (commoncap's fs set). */
#define CAP_FS_SET                                                                                 \
	((1UL << CAP_CHOWN) | (1UL << CAP_DAC_OVERRIDE) | (1UL << CAP_DAC_READ_SEARCH) |           \
	 (1UL << CAP_FOWNER) | (1UL << CAP_FSETID) | (1UL << CAP_LINUX_IMMUTABLE) |                \
	 (1UL << CAP_MAC_OVERRIDE) | (1UL << CAP_MKNOD))

int pico_capable(int cap)
{
	return (int)((pico.cap_eff >> cap) & 1);
}

/* Root's file capabilities, as execve gives them (no file capabilities
 * are kept in VolFs): the full set for a root ruid or euid, effective
 * only for a root euid; inheritable is kept. */
void pico_caps_exec(void)
{
	pico.cap_perm = (pico.ruid == 0 || pico.euid == 0) ? CAP_ALL & ~pico.cap_bdrop : 0;
	pico.cap_eff = pico.euid == 0 ? pico.cap_perm : 0;
}

void pico_caps_setuid(unsigned old_r, unsigned old_e, unsigned old_s)
{
	if ((old_r == 0 || old_e == 0 || old_s == 0) && pico.ruid && pico.euid && pico.suid &&
	    sys5(__NR_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0) != 1)
		pico.cap_perm = pico.cap_eff = 0;
	if (old_e == 0 && pico.euid != 0)
		pico.cap_eff = 0;
	if (old_e != 0 && pico.euid == 0)
		pico.cap_eff = pico.cap_perm;
}

void pico_caps_setfsuid(unsigned old_fs)
{
	if (old_fs == 0 && pico.fsuid != 0)
		pico.cap_eff &= ~CAP_FS_SET;
	if (old_fs != 0 && pico.fsuid == 0)
		pico.cap_eff |= pico.cap_perm & CAP_FS_SET;
}

/* pid names this process (the guest's sets are one per process): 0, its
 * pid, or one of its threads. */
static int is_self(int pid)
{
	if (pid == 0 || pid == sys0(__NR_getpid) || pid == sys0(__NR_gettid))
		return 1;
	if (pid < 0)
		return 0;
	char p[48] = "/proc/self/task/";
	*pico_utoa(p + 16, (unsigned long)pid) = 0;
	return sys4(__NR_faccessat2, AT_FDCWD, (long)p, 0, 0) == 0;
}

/* The version check both calls start with: the number of 32-bit words,
 * or -EINVAL with the preferred version written back, as Linux does. */
static long cap_words(void *hdr)
{
	unsigned v;
	if (pico_ucopy(&v, hdr, sizeof v))
		return -EFAULT;
	switch (v) {
	case _LINUX_CAPABILITY_VERSION_1:
		return 1;
	case _LINUX_CAPABILITY_VERSION_2:
	case _LINUX_CAPABILITY_VERSION_3:
		return 2;
	}
	v = _LINUX_CAPABILITY_VERSION_3;
	return pico_ucopy(hdr, &v, sizeof v) ? -EFAULT : -EINVAL;
}

long pico_capget(void *hdr, void *data)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2];
	long n = cap_words(hdr);
	if (n < 0)
		return !data && n == -EINVAL ? 0 : n; /* no data: a version probe */
	if (!data)
		return 0;
	if (pico_ucopy(&h, hdr, sizeof h))
		return -EFAULT;
	if (h.pid < 0)
		return -EINVAL;
	if (!is_self(h.pid))
		return sys2(__NR_capget, (long)hdr, (long)data); /* the host's answer */
	unsigned long s[3] = {pico.cap_eff, pico.cap_perm, pico.cap_inh};
	for (int i = 0; i < 2; i++) {
		d[i].effective = (unsigned)(s[0] >> (32 * i));
		d[i].permitted = (unsigned)(s[1] >> (32 * i));
		d[i].inheritable = (unsigned)(s[2] >> (32 * i));
	}
	return pico_ucopy(data, d, (size_t)n * sizeof d[0]) ? -EFAULT : 0;
}

/* Linux's rules: only oneself; permitted only shrinks, effective within
 * it; inheritable within inheritable | permitted unless CAP_SETPCAP, and
 * never outside the bounding set (taken as full). */
long pico_capset(void *hdr, const void *data)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2] = {{0, 0, 0}, {0, 0, 0}};
	long n = cap_words(hdr);
	if (n < 0)
		return n;
	if (pico_ucopy(&h, hdr, sizeof h))
		return -EFAULT;
	if (h.pid != 0 && h.pid != sys0(__NR_gettid))
		return -EPERM;
	if (pico_ucopy(d, data, (size_t)n * sizeof d[0]))
		return -EFAULT;
	unsigned long e = (d[0].effective | (unsigned long)d[1].effective << 32) & CAP_ALL;
	unsigned long p = (d[0].permitted | (unsigned long)d[1].permitted << 32) & CAP_ALL;
	unsigned long i = (d[0].inheritable | (unsigned long)d[1].inheritable << 32) & CAP_ALL;
	if (!pico_capable(CAP_SETPCAP) && (i & ~(pico.cap_inh | pico.cap_perm)))
		return -EPERM;
	if (i & ~(pico.cap_inh | (CAP_ALL & ~pico.cap_bdrop))) /* nor beyond the bounding set */
		return -EPERM;
	if ((p & ~pico.cap_perm) || (e & ~p))
		return -EPERM;
	pico.cap_eff = e, pico.cap_perm = p, pico.cap_inh = i;
	return 0;
}

/* ---- ids for other processes' eyes ------------------------------------------- */

/*
 * /proc/<pid>/status of another guest process should show its guest ids,
 * which live in its memory. Its environment block (what /proc/<pid>/environ
 * reads, live, with the ptrace read check the host already makes) holds
 * LXS_PICO_IDS=, a field of fixed width taken out of the guest's environ
 * by the loader and rewritten in place at every id change: 8 ids (r, e, s,
 * fs uid, then gid), the number of groups and the groups, 8 hex digits each.
 */
static void hex8(char *p, unsigned v)
{
	for (int i = 7; i >= 0; i--, v >>= 4)
		p[i] = "0123456789abcdef"[v & 15];
}

void pico_ids_publish(void)
{
	char *p = pico.ids_pub;
	unsigned ids[9] = {pico.ruid, pico.euid, pico.suid,  pico.fsuid,  pico.rgid,
			   pico.egid, pico.sgid, pico.fsgid, pico.ngroups};
	if (!p)
		return;
	for (int i = 0; i < 9; i++)
		hex8(p + 8 * i, ids[i]);
	for (unsigned i = 0; i < PICO_NGROUPS; i++)
		hex8(p + 8 * (9 + i), i < pico.ngroups ? pico.groups[i] : 0);
}

static int unhex8(const char *p, unsigned *v)
{
	unsigned r = 0;
	for (int i = 0; i < 8; i++) {
		char c = p[i];
		if (c >= '0' && c <= '9')
			r = r << 4 | (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			r = r << 4 | (unsigned)(c - 'a' + 10);
		else
			return -1;
	}
	*v = r;
	return 0;
}

/* procdir: "/proc/<pid>" (n bytes). Returns the number of groups, or -1
 * when the process published nothing (not a guest, or it wrote over its
 * environment block, as setproctitle does). */
int pico_ids_of(const char *procdir, size_t n, unsigned *ids, unsigned *groups)
{
	char path[64], v[PICO_IDS_LEN + 1];
	if (n + 9 > sizeof path)
		return -1;
	memcpy(path, procdir, n);
	memcpy(path + n, "/environ", 9);
	if (pico_proc_env(path, "LXS_PICO_IDS=", v, sizeof v) != PICO_IDS_LEN)
		return -1;
	unsigned ng;
	for (int i = 0; i < 8; i++)
		if (unhex8(v + 8 * i, &ids[i]))
			return -1;
	if (unhex8(v + 64, &ng) || ng > PICO_NGROUPS)
		return -1;
	for (unsigned i = 0; i < ng; i++)
		if (unhex8(v + 8 * (9 + i), &groups[i]))
			return -1;
	return (int)ng;
}

/* ---- oom_score_adj ----------------------------------------------------------- */

/* Whether host is /proc/<our pid>[/task/<tid>]/oom_score_adj. */
static int own_oom_file(const char *host)
{
	const char *p = host;
	unsigned long pid;
	if (memcmp(p, "/proc/", 6) != 0)
		return 0;
	p += 6;
	if (pico_atou(&p, &pid) || *p != '/' || (long)pid != sys0(__NR_getpid))
		return 0;
	p++;
	if (memcmp(p, "task/", 5) == 0) {
		unsigned long tid;
		p += 5;
		if (pico_atou(&p, &tid) || *p != '/')
			return 0;
		p++;
	}
	return pico_streq(p, "oom_score_adj");
}

static char *itoa_signed(char *p, long v)
{
	if (v < 0)
		*p++ = '-', v = -v;
	return pico_utoa(p, (unsigned long)v);
}

/* The value written (the kernel parses each write; this takes the file's
 * text): the host gets it if it will take it (then nothing is kept), else
 * it is kept. */
static void oom_apply(long v)
{
	char buf[16];
	long fd =
	    sys4(__NR_openat, AT_FDCWD, (long)"/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC, 0);
	if (fd >= 0) {
		char *e = itoa_signed(buf, v);
		long w = sys3(__NR_write, fd, (long)buf, e - buf);
		sys1(__NR_close, fd);
		if (w > 0) {
			pico.oom_set = 0;
			return;
		}
	}
	pico.oom_set = 1, pico.oom_adj = (int)v;
}

void pico_oom_collect(void)
{
	const char *page = (const char *)pico.oom_page, *p;
	char text[32];
	if (!page)
		return;
	pico.oom_page = 0;
	/* read fault-safe: the page is in the guest's address space */
	if (pico_ucopy(text, page, sizeof text - 1))
		return;
	text[sizeof text - 1] = 0;
	p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	int neg = *p == '-';
	p += neg || *p == '+';
	unsigned long v;
	if (pico_atou(&p, &v) == 0 && (*p == 0 || *p == '\n') && v <= 1000)
		oom_apply(neg ? -(long)v : (long)v);
	sys2(__NR_munmap, (long)page, 4096);
}

/* A memfd holding text, at offset 0, with close-on-exec as asked. */
static long text_memfd(const char *name, const char *s, size_t n, long flags)
{
	long m = sys2(__NR_memfd_create, (long)name, (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (m < 0)
		return m;
	long w = n ? sys3(__NR_write, m, (long)s, (long)n) : 0;
	if (w >= 0)
		w = sys3(__NR_lseek, m, 0, 0);
	if (w < 0) {
		sys1(__NR_close, m);
		return w;
	}
	return m;
}

/*
 * The guest opens its own oom_score_adj. Reading, when a value is kept: a
 * memfd with it. Writing, for the faked root with CAP_SYS_RESOURCE or once
 * a value is kept (Linux lets anyone go back down to what a privileged
 * write set): a memfd of one page, mapped here, so that what is written
 * to it can be read back after the guest closed it: at the next open of
 * the file, and before execve. Anything else is the host's file.
 */
long pico_oom_open(const char *host, long flags)
{
	if (!own_oom_file(host) || (flags & (O_PATH | O_DIRECTORY)))
		return PICO_NOT_VIEW;
	pico_oom_collect();
	char buf[16], *e = buf;
	if ((flags & O_ACCMODE) == O_RDONLY) {
		if (!pico.oom_set)
			return PICO_NOT_VIEW;
		e = itoa_signed(buf, pico.oom_adj);
		*e++ = '\n';
		return text_memfd("oom_score_adj", buf, (size_t)(e - buf), flags);
	}
	if (!pico.oom_set && !pico_capable(CAP_SYS_RESOURCE))
		return PICO_NOT_VIEW;
	long m = text_memfd("oom_score_adj", 0, 0, flags);
	if (m < 0)
		return m;
	long r = sys2(__NR_ftruncate, m, 4096);
	if (r == 0)
		r = sys6(__NR_mmap, 0, 4096, PROT_READ, MAP_SHARED, m, 0);
	if (r < 0) {
		sys1(__NR_close, m);
		return r;
	}
	pico.oom_page = (unsigned long)r;
	return m;
}

/* ---- priorities, policies, locks, limits -------------------------------------- */

struct kparam {
	int prio;
};

/* nice: PRIO_PROCESS of this process. Linux keeps a nice per thread; here
 * one kept value stands for the whole process. */
static long priority(long nr, int which, int who, int prio)
{
	int mine = which == 0 /* PRIO_PROCESS */ && is_self(who);
	if (nr == __NR_getpriority) {
		long r = sys2(nr, which, who);
		return r >= 0 && mine && pico.nice_set ? 20 - pico.nice : r;
	}
	long r = sys3(nr, which, who, prio);
	if (r == 0 && mine)
		pico.nice_set = 0;
	if ((r == -EACCES || r == -EPERM) && mine && pico_capable(CAP_SYS_NICE)) {
		pico.nice_set = 1;
		pico.nice = prio < -20 ? -20 : prio > 19 ? 19 : prio;
		return 0;
	}
	return r;
}

/* Real-time policies: the host refuses them (RLIMIT_RTPRIO is 0), the
 * kernel has checked everything else by then (EINVAL comes before
 * EPERM). SCHED_RESET_ON_FORK: a child (another pid) drops the kept one. */
static int sched_kept(int pid)
{
	if (!pico.sched_set || !is_self(pid))
		return 0;
	if ((pico.sched_policy & SCHED_RESET_ON_FORK) && pico.sched_pid != sys0(__NR_getpid)) {
		pico.sched_set = 0;
		return 0;
	}
	return 1;
}

static long sched(long nr, const long *a)
{
	struct kparam kp;
	long r;
	switch (nr) {
	case __NR_sched_getscheduler:
		return sched_kept((int)a[0]) ? pico.sched_policy : sys1(nr, a[0]);
	case __NR_sched_getparam:
		if (!sched_kept((int)a[0]))
			return sys2(nr, a[0], a[1]);
		kp.prio = pico.sched_prio;
		return pico_ucopy((void *)a[1], &kp, sizeof kp) ? -EFAULT : 0;
	case __NR_sched_setparam:
		if (!sched_kept((int)a[0]))
			return sys2(nr, a[0], a[1]);
		if (pico_ucopy(&kp, (const void *)a[1], sizeof kp))
			return -EFAULT;
		if (kp.prio < 1 || kp.prio > 99)
			return -EINVAL;
		if (!pico_capable(CAP_SYS_NICE))
			return -EPERM;
		pico.sched_prio = kp.prio;
		return 0;
	}
	/* sched_setscheduler */
	r = sys3(nr, a[0], a[1], a[2]);
	if (r == 0 && is_self((int)a[0]))
		pico.sched_set = 0;
	if (r != -EPERM || !is_self((int)a[0]) || !pico_capable(CAP_SYS_NICE) ||
	    pico_ucopy(&kp, (const void *)a[2], sizeof kp))
		return r;
	int pol = (int)a[1] & ~SCHED_RESET_ON_FORK;
	if (pol != SCHED_FIFO && pol != SCHED_RR)
		return r;
	pico.sched_set = 1, pico.sched_policy = (int)a[1], pico.sched_prio = kp.prio;
	pico.sched_pid = (int)sys0(__NR_getpid);
	return 0;
}

/* sched_setattr/sched_getattr: as sched_setscheduler, for every policy
 * the host refuses an ordinary user (real-time and deadline), with the
 * deadline's parameters kept too. */
struct kattr {
	unsigned size, policy;
	unsigned long flags;
	int nice;
	unsigned prio;
	unsigned long runtime, deadline, period;
};
#define SCHED_DEADLINE_           6
#define SCHED_FLAG_RESET_ON_FORK_ 1

static long sched_attr(long nr, const long *a)
{
	struct kattr k;
	if (nr == __NR_sched_getattr) {
		long r = sys4(nr, a[0], a[1], a[2], a[3]);
		if (r < 0 || !sched_kept((int)a[0]) || pico_ucopy(&k, (const void *)a[1], sizeof k))
			return r;
		k.policy = (unsigned)pico.sched_policy & ~SCHED_RESET_ON_FORK;
		k.flags = (pico.sched_policy & SCHED_RESET_ON_FORK) ? SCHED_FLAG_RESET_ON_FORK_ : 0;
		k.prio = (unsigned)pico.sched_prio;
		k.runtime = pico.sched_dl[0], k.deadline = pico.sched_dl[1],
		k.period = pico.sched_dl[2];
		return pico_ucopy((void *)a[1], &k, sizeof k) ? -EFAULT : 0;
	}
	long r = sys3(nr, a[0], a[1], a[2]);
	if (r == 0 && is_self((int)a[0]))
		pico.sched_set = 0;
	if (r != -EPERM || !is_self((int)a[0]) || !pico_capable(CAP_SYS_NICE) ||
	    pico_ucopy(&k, (const void *)a[1], sizeof k))
		return r;
	if (k.policy != SCHED_FIFO && k.policy != SCHED_RR && k.policy != SCHED_DEADLINE_)
		return r;
	pico.sched_set = 1;
	pico.sched_policy =
	    (int)k.policy | ((k.flags & SCHED_FLAG_RESET_ON_FORK_) ? SCHED_RESET_ON_FORK : 0);
	pico.sched_prio = (int)k.prio;
	pico.sched_dl[0] = k.runtime, pico.sched_dl[1] = k.deadline, pico.sched_dl[2] = k.period;
	pico.sched_pid = (int)sys0(__NR_getpid);
	return 0;
}

/* Memory locks beyond RLIMIT_MEMLOCK: answered yes for CAP_IPC_LOCK, but
 * nothing is locked (the pages are asked for, as mlock faults them in);
 * a range that is not mapped still fails as it would. */
static long mlock_call(long nr, const long *a)
{
	if (nr == __NR_mlockall && pico_capable(CAP_IPC_LOCK)) {
		/* Not MCL_FUTURE on the host: every later mapping would be
		 * locked against its RLIMIT_MEMLOCK, and fail there. */
		if (!a[0] || (a[0] & ~7L) || a[0] == MCL_ONFAULT)
			return -EINVAL;
		if (a[0] & MCL_CURRENT)
			sys1(nr, a[0] & ~(long)MCL_FUTURE);
		return 0;
	}
	long r = nr == __NR_mlockall ? sys1(nr, a[0]) : sys3(nr, a[0], a[1], a[2]);
	if ((r != -ENOMEM && r != -EPERM) || !pico_capable(CAP_IPC_LOCK))
		return r;
	return sys3(__NR_madvise, a[0] & ~4095L, a[1] + (a[0] & 4095L), MADV_WILLNEED) == -ENOMEM
		   ? -ENOMEM
		   : 0;
}

struct krlimit {
	unsigned long cur, max;
};

/*
 * Limits: a hard limit raised above the host's by the faked root with
 * CAP_SYS_RESOURCE is kept, with its soft limit, and read back; the host
 * gets both clamped to its own hard limit. A later change the host takes
 * drops what was kept. (RLIMIT_NOFILE above fs.nr_open is refused as
 * Linux refuses it to root.)
 */
static long nr_open(void)
{
	char b[24];
	long fd =
	    sys4(__NR_openat, AT_FDCWD, (long)"/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 1048576;
	long n = sys3(__NR_read, fd, (long)b, sizeof b - 1);
	sys1(__NR_close, fd);
	unsigned long v;
	const char *p = b;
	if (n <= 0)
		return 1048576;
	b[n] = 0;
	return pico_atou(&p, &v) ? 1048576 : (long)v;
}

static long limit(int pid, unsigned res, const struct krlimit *nl, struct krlimit *ol)
{
	struct krlimit n, o;
	int mine = is_self(pid);
	if (!mine || res >= 16)
		return sys4(__NR_prlimit64, pid, (long)res, (long)nl, (long)ol);
	if (nl && pico_ucopy(&n, nl, sizeof n))
		return -EFAULT;
	long r = sys4(__NR_prlimit64, 0, (long)res, nl ? (long)&n : 0, (long)&o);
	if (r == -EPERM && nl && pico_capable(CAP_SYS_RESOURCE) &&
	    !(res == RLIMIT_NOFILE && n.max > (unsigned long)nr_open()) &&
	    (r = sys4(__NR_prlimit64, 0, (long)res, 0, (long)&o)) == 0) {
		struct krlimit c = {n.cur < o.max ? n.cur : o.max, o.max};
		r = sys4(__NR_prlimit64, 0, (long)res, (long)&c, 0);
		if (r == 0) {
			if (pico.rl_set & (1u << res))
				o.cur = pico.rl[res][0], o.max = pico.rl[res][1];
			pico.rl_set |= 1u << res;
			pico.rl[res][0] = n.cur, pico.rl[res][1] = n.max;
			return ol && pico_ucopy(ol, &o, sizeof o) ? -EFAULT : 0;
		}
	}
	if (r < 0)
		return r;
	if (pico.rl_set & (1u << res))
		o.cur = pico.rl[res][0], o.max = pico.rl[res][1];
	if (nl)
		pico.rl_set &= ~(1u << res);
	return ol && pico_ucopy(ol, &o, sizeof o) ? -EFAULT : 0;
}

long pico_priv_call(long nr, const long *a)
{
	switch (nr) {
	case __NR_getpriority:
	case __NR_setpriority:
		return priority(nr, (int)a[0], (int)a[1], (int)a[2]);
	case __NR_sched_setscheduler:
	case __NR_sched_getscheduler:
	case __NR_sched_setparam:
	case __NR_sched_getparam:
		return sched(nr, a);
	case __NR_sched_setattr:
	case __NR_sched_getattr:
		return sched_attr(nr, a);
	case __NR_mlock:
	case __NR_mlock2:
	case __NR_mlockall:
		return mlock_call(nr, a);
	case __NR_getrlimit:
		return limit(0, (unsigned)a[0], 0, (struct krlimit *)a[1]);
	case __NR_setrlimit:
		return limit(0, (unsigned)a[0], (const struct krlimit *)a[1], 0);
	case __NR_prlimit64:
		return limit((int)a[0], (unsigned)a[1], (const struct krlimit *)a[2],
			     (struct krlimit *)a[3]);
	}
	return PICO_NOT_PRIV;
}

/* ---- across execve -------------------------------------------------------------- */

/* One line "key" + numbers separated by commas; NULL if it does not fit. */
static char *put_line(char *p, char *end, char key, const unsigned long *v, int n)
{
	if (!p || p + 2 + n * 21 > end)
		return NULL;
	*p++ = key;
	for (int i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		p = pico_utoa(p, v[i]);
	}
	*p++ = '\n';
	return p;
}

/* The bounding set and no_new_privs, kept here: the host's bounding set
 * cannot shrink without CAP_SETPCAP, and its no_new_privs is set for our
 * own filter. */
long pico_prctl(const long *a)
{
	switch (a[0]) {
	case PR_CAPBSET_READ:
		if ((unsigned long)a[1] > CAP_LAST_CAP)
			return -EINVAL;
		return !((pico.cap_bdrop >> a[1]) & 1);
	case PR_CAPBSET_DROP:
		if (!pico_capable(CAP_SETPCAP))
			return -EPERM;
		if ((unsigned long)a[1] > CAP_LAST_CAP)
			return -EINVAL;
		pico.cap_bdrop |= 1UL << a[1];
		return 0;
	case PR_SET_NO_NEW_PRIVS:
		if (a[1] != 1 || a[2] || a[3] || a[4])
			return -EINVAL;
		pico.nnp = 1;
		return 0;
	case PR_GET_NO_NEW_PRIVS:
		if (a[1] || a[2] || a[3] || a[4])
			return -EINVAL;
		return pico.nnp;
	}
	return -EINVAL;
}

int pico_may_confine(void)
{
	return pico.nnp || pico_capable(CAP_SYS_ADMIN);
}

char *pico_priv_format(char *p, char *end)
{
	pico_oom_collect();
	if (pico.cap_bdrop)
		p = put_line(p, end, 'B', &pico.cap_bdrop, 1);
	if (pico.nnp) {
		unsigned long one = 1;
		p = put_line(p, end, 'P', &one, 1);
	}
	if (pico.cap_inh)
		p = put_line(p, end, 'K', &pico.cap_inh, 1);
	if (pico.oom_set) {
		unsigned long v = (unsigned long)(pico.oom_adj + 1000);
		p = put_line(p, end, 'O', &v, 1);
	}
	if (pico.nice_set) {
		unsigned long v = (unsigned long)(pico.nice + 20);
		p = put_line(p, end, 'N', &v, 1);
	}
	if (pico.sched_set) {
		unsigned long v[2] = {(unsigned)pico.sched_policy, (unsigned)pico.sched_prio};
		p = put_line(p, end, 'Q', v, 2);
	}
	for (unsigned long r = 0; r < 16; r++)
		if (pico.rl_set & (1u << r)) {
			unsigned long v[3] = {r, pico.rl[r][0], pico.rl[r][1]};
			p = put_line(p, end, 'L', v, 3);
		}
	return p;
}

int pico_priv_parse(char key, const char *v, const char *e)
{
	unsigned long x[3];
	int n = 0;
	while (v < e && n < 3) {
		if (pico_atou(&v, &x[n++]))
			return -1;
		if (v < e && *v == ',')
			v++;
	}
	switch (key) {
	case 'K':
		pico.cap_inh = n == 1 ? x[0] & CAP_ALL : 0;
		break;
	case 'B':
		pico.cap_bdrop = n == 1 ? x[0] & CAP_ALL : 0;
		break;
	case 'P':
		pico.nnp = n == 1 && x[0] == 1;
		break;
	case 'O':
		if (n == 1 && x[0] <= 2000)
			pico.oom_set = 1, pico.oom_adj = (int)x[0] - 1000;
		break;
	case 'N':
		if (n == 1 && x[0] < 40)
			pico.nice_set = 1, pico.nice = (int)x[0] - 20;
		break;
	case 'Q':
		if (n == 2) {
			pico.sched_set = 1, pico.sched_policy = (int)x[0],
			pico.sched_prio = (int)x[1];
			pico.sched_pid = (int)sys0(__NR_getpid);
		}
		break;
	case 'L':
		if (n == 3 && x[0] < 16) {
			pico.rl_set |= 1u << x[0];
			pico.rl[x[0]][0] = x[1], pico.rl[x[0]][1] = x[2];
		}
		break;
	default:
		return 0;
	}
	return 1;
}
