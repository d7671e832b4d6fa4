/*
 * pidview.c - a distro sees only its own processes, as a WSL 1 distro does:
 * /proc's listing, /proc/<pid>/..., and every system call that names
 * another process (kill and the other signal senders, ptrace attach,
 * process_vm_*, pidfd_open, kcmp, sched_*, priorities, rlimits, process
 * groups and sessions) reach only processes of the same distro; any other
 * process is answered as if it did not exist (ESRCH, ENOENT for /proc
 * paths). PIDs stay the host's.
 *
 * Membership: a process belongs to the distro when its /proc/<pid>/environ
 * holds the entry "LXS_PICO_STATE=R<root>\n...", the state every guest
 * process's loader was started with (lxs-pico for the first, pico_execve
 * for every other) and that stays in the memory the kernel shows after the
 * loader has taken it out of the guest's environ. It is inherited by
 * nothing but guest execs, so it holds for daemons that setsid() and
 * double-fork, for every session of the same root (the root is canonical:
 * main.c realpath()s it), and after lxs-pico's main process is killed. A
 * process whose environ cannot be read (a zombie, one that made itself
 * not dumpable) belongs if it is the caller's child. The check costs an
 * open, a read or two (environments are a few KiB) and a close; our own
 * process costs nothing. See README.md, "Processes", for the limits.
 */
#include <asm/stat.h>
#include <linux/fcntl.h>
#include <linux/errno.h>
#include <linux/resource.h>
#include <linux/ptrace.h>
#include <linux/wait.h>

#include "pico.h"
#include "sys.h"

#define IOPRIO_WHO_PROCESS   1
#define IOPRIO_WHO_PGRP      2
#define IOPRIO_WHO_USER      3
#define PERF_FLAG_PID_CGROUP 4UL

/* "/proc/<pid>/<file>" into p (at least 48 bytes). */
static void proc_path(char *p, long pid, const char *file)
{
	memcpy(p, "/proc/", 6);
	char *e = pico_utoa(p + 6, (unsigned long)pid);
	*e++ = '/';
	size_t n = strlen(file);
	memcpy(e, file, n + 1);
}

/* A process's guest ids as its loader published them (ids: r, e, s, fs
 * uid, then gid); -1 when it published none. */
static int guest_ids(long pid, unsigned *ids)
{
	char dir[32] = "/proc/";
	unsigned groups[PICO_NGROUPS];
	char *e = pico_utoa(dir + 6, (unsigned long)pid);
	*e = 0;
	return pico_ids_of(dir, (size_t)(e - dir), ids, groups) < 0 ? -1 : 0;
}

/*
 * Whether the open environ fd holds "LXS_PICO_STATE=R<root>\n" at the
 * start of an entry: 1 it does, 0 the file is empty (the process is
 * exiting and has no memory left), -1 it does not. A stream match, so an environment of any size is
 * read through once, a buffer at a time.
 */
static int environ_names_root(long fd)
{
	static const char key[] = "LXS_PICO_STATE=R";
	const size_t kl = sizeof key - 1, want = kl + pico.distrolen + 1;
	char buf[1024];
	size_t k = 0, total = 0;
	int at_start = 1;
	long n;
	while ((n = sys3(__NR_read, fd, (long)buf, sizeof buf)) > 0) {
		total += (size_t)n;
		for (long i = 0; i < n; i++) {
			char c = buf[i];
			if (c == 0) {
				at_start = 1, k = 0;
				continue;
			}
			if (!at_start)
				continue;
			char w = k < kl                    ? key[k]
				 : k < kl + pico.distrolen ? pico.distro[k - kl]
							   : '\n';
			if (c != w) {
				at_start = 0;
				continue;
			}
			if (++k == want)
				return 1;
		}
	}
	return total ? -1 : 0;
}

/* Whether pid is a child of ours, alive or a zombie (waitid without
 * waiting and without taking its state; ECHILD for any other process). */
static int our_child(long pid)
{
	char si[128]; /* siginfo_t */
	return sys5(__NR_waitid, P_PID, pid, (long)si, WEXITED | WNOHANG | WNOWAIT | __WALL, 0) ==
	       0;
}

static int member(long pid)
{
	char path[48];
	if (pid <= 0 || pid > 0x7fffffff)
		return 0;
	if (pid == sys0(__NR_getpid))
		return 1;
	proc_path(path, pid, "environ");
	long fd = sys4(__NR_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd == -ENOENT)
		return 0;
	int r = -2;
	if (fd >= 0) {
		r = environ_names_root(fd);
		sys1(__NR_close, fd);
	}
	/* Unreadable (another user's process, a zombie, one that made itself
	 * not dumpable) or empty (exiting): ours only if it is our child. A
	 * guest's children are guests (every exec runs the loader). */
	return r == 1 || (r != -1 && our_child(pid));
}

/* ---- /proc paths -------------------------------------------------------------- */

int pico_proc_visible(const char *g, size_t n)
{
	/* g is a canonical guest path "/proc/<component>" (n bytes) */
	unsigned long v = 0;
	if (n <= 6 || n > 6 + 10)
		return 1;
	for (size_t i = 6; i < n; i++) {
		if (g[i] < '0' || g[i] > '9')
			return 1;
		v = v * 10 + (unsigned long)(g[i] - '0');
	}
	return member((long)v);
}

/* ---- /proc's listing ------------------------------------------------------------ */

/* st_dev of /proc, found once per process (a single store: two threads that
 * race write the same value). */
static unsigned long proc_dev;

/* Whether ino, dev is the folder /proc itself (PROC_ROOT_INO is 1). */
static int proc_root_id(unsigned long ino, unsigned long dev)
{
	if (ino != 1)
		return 0;
	if (!proc_dev) {
		struct stat ps;
		if (sys4(__NR_newfstatat, AT_FDCWD, (long)"/proc", (long)&ps, 0) < 0)
			return 0;
		proc_dev = ps.st_dev;
	}
	return dev == proc_dev;
}

static int is_proc_root(long fd)
{
	struct stat st;
	return sys2(__NR_fstat, fd, (long)&st) == 0 && proc_root_id(st.st_ino, st.st_dev);
}

int pico_is_proc_root(unsigned long ino, unsigned long dev)
{
	return proc_root_id(ino, dev);
}

/* A name of digits only (a process's directory): its number, else -1. */
static long pid_name(const char *s, const char *end)
{
	unsigned long v = 0;
	const char *p = s;
	for (; p < end && *p; p++) {
		if (*p < '0' || *p > '9' || p - s > 10)
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	return p == s ? -1 : (long)v;
}

/*
 * getdents64 / getdents: on /proc, the entries of processes that are not
 * the distro's are left out. (The filter passes getdents64 with glibc's
 * usual buffer untrapped: see PICO_DIRBUF_FAST.) Both record formats keep
 * d_reclen at byte 16; the name starts at 19 (linux_dirent64) or 18
 * (linux_dirent). A batch the filter empties entirely is followed by the
 * next, so that 0 still means the end.
 */
static long getdents_call(long nr, long fd, void *dirp, long count)
{
	char buf[4096];
	if (!is_proc_root(fd))
		return sys3(nr, fd, (long)dirp, count);
	long want = count < (long)sizeof buf ? count : (long)sizeof buf;
	if (count < 0)
		want = count; /* the kernel's EINVAL */
	size_t name_at = nr == __NR_getdents64 ? 19 : 18;
	for (;;) {
		long n = sys3(nr, fd, (long)buf, want);
		if (n <= 0)
			return n;
		long o = 0;
		for (long i = 0; i + 18 <= n;) {
			unsigned short rl;
			memcpy(&rl, buf + i + 16, sizeof rl);
			if (rl < 19 || i + rl > n)
				break;
			long pid = pid_name(buf + i + name_at, buf + i + rl);
			if (pid < 0 || member(pid)) {
				memmove(buf + o, buf + i, rl);
				o += rl;
			}
			i += rl;
		}
		if (o > 0)
			return pico_ucopy(dirp, buf, (unsigned long)o) ? -EFAULT : o;
	}
}

/* ---- calls on groups of processes ------------------------------------------------ */

/*
 * One pass over /proc: the distro's processes in a scope, every one (pgrp
 * 0) or those of process group pgrp, counted and, by op, signalled or given
 * a priority one at a time as they are found (a fixed table could
 * overflow). `others` counts the scope's processes that are not ours.
 */
enum { OP_COUNT, OP_KILL, OP_PRIO };
struct scope {
	long pgrp, me;
	int op;
	long nr, which, value; /* OP_KILL: value is the signal */
	long members, others, ok, err, best;
	int self; /* the caller is in the scope (OP_KILL leaves it out) */
	long uid; /* OP_PRIO: only processes of this guest real uid (-1: all) */
};

static void visit(struct scope *s, long pid)
{
	if (s->op == OP_PRIO && s->uid >= 0) {
		unsigned ids[8];
		if (guest_ids(pid, ids) < 0 || ids[0] != (unsigned)s->uid)
			return;
	}
	s->members++;
	if (s->op == OP_COUNT)
		return;
	long r;
	if (s->op == OP_KILL) {
		if (pid == s->me) {
			s->self = 1;
			return;
		}
		r = sys2(__NR_kill, pid, s->value);
	} else if (s->nr == __NR_getpriority || s->nr == __NR_ioprio_get) {
		r = sys2(s->nr, s->which, pid);
		if (r >= 0 && (s->best < 0 || (s->nr == __NR_getpriority && r > s->best)))
			s->best = r;
	} else {
		r = sys3(s->nr, s->which, pid, s->value);
	}
	if (r >= 0)
		s->ok = 1;
	else if (r != -ESRCH || s->err == 0)
		s->err = r;
}

static long scan(struct scope *s)
{
	char buf[2048];
	s->members = s->others = s->ok = s->self = 0;
	s->err = 0;
	s->best = -ESRCH;
	s->me = sys0(__NR_getpid);
	long dfd =
	    sys4(__NR_openat, AT_FDCWD, (long)"/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return dfd;
	long n;
	while ((n = sys3(__NR_getdents64, dfd, (long)buf, sizeof buf)) > 0) {
		for (long i = 0; i + 19 <= n;) {
			unsigned short rl;
			memcpy(&rl, buf + i + 16, sizeof rl);
			if (rl < 19 || i + rl > n)
				break;
			long pid = pid_name(buf + i + 19, buf + i + rl);
			i += rl;
			if (pid <= 0)
				continue;
			if (s->pgrp > 0 && sys1(__NR_getpgid, pid) != s->pgrp)
				continue;
			if (member(pid))
				visit(s, pid);
			else
				s->others++;
		}
	}
	sys1(__NR_close, dfd);
	return n < 0 ? n : 0;
}

/*
 * kill(0 | -pgrp | -1, sig). A group that holds only the distro's
 * processes gets the kernel's own kill(-pgrp), which reaches them all at
 * once; one shared with host processes (the shell's pipeline lxs-pico runs
 * in), and -1, get a kill per member, the caller last (a signal that stops
 * or ends it must not cut the round short).
 */
static long kill_many(long pid, long sig)
{
	struct scope s;
	long r;
	s.pgrp = pid == 0 ? sys0(__NR_getpgrp) : pid == -1 ? 0 : -pid;
	s.value = sig;
	if (s.pgrp) {
		s.op = OP_COUNT;
		if ((r = scan(&s)) < 0)
			return r;
		if (!s.members)
			return -ESRCH;
		if (!s.others)
			return sys2(__NR_kill, -s.pgrp, sig);
	}
	s.op = OP_KILL;
	if ((r = scan(&s)) < 0)
		return r;
	/* kill(-1) spares the caller; a group the caller is in does not */
	if (s.self && pid != -1) {
		r = sys2(__NR_kill, s.me, sig);
		if (r == 0)
			s.ok = 1;
		else
			s.err = r;
	}
	return s.ok ? 0 : s.err ? s.err : -ESRCH;
}

/* getpriority/setpriority and ioprio_get/ioprio_set over a group or a user:
 * the distro's processes in it, one at a time. get answers the best value
 * (the highest raw getpriority, the first ioprio). A user means the
 * distro's processes whose guest real uid it is (as their loaders
 * published it: privilege.c). */
static long prio_many(long nr, long which_proc, long pgrp, long value, long uid)
{
	struct scope s;
	s.op = OP_PRIO, s.nr = nr, s.which = which_proc, s.pgrp = pgrp, s.value = value,
	s.uid = uid;
	long r = scan(&s);
	if (r < 0)
		return r;
	if (nr == __NR_getpriority || nr == __NR_ioprio_get)
		return s.best;
	return s.ok ? 0 : s.err ? s.err : -ESRCH;
}

/* A process group the distro may name: its leader is one of ours, or one
 * of ours is in it. */
static int group_visible(long pgrp)
{
	struct scope s;
	if (member(pgrp))
		return 1;
	s.op = OP_COUNT, s.pgrp = pgrp;
	return scan(&s) == 0 && s.members > 0;
}

/* ---- the calls ---------------------------------------------------------------------- */

/* pid names "the caller" (0) or one of ours; negative ones go to the
 * kernel, which refuses them with its own errno. */
static int named(long pid)
{
	int p = (int)pid; /* the kernel takes a pid_t */
	return p <= 0 || member(p);
}

/*
 * A guest user other than root is held to Linux's rules for reaching
 * another process of the distro (all of them are the host user's, so
 * the host lets everything through): a signal needs its real or
 * effective uid to be the target's real or saved uid; ptrace access
 * (attach, process_vm_*) the target's three uids and gids to be its own;
 * changing the scheduling of another process, its effective uid to be
 * the target's effective or real uid. The capability for each passes.
 * The target's guest ids are what its loader published (privilege.c);
 * a process that published none is let through.
 */
int pico_pid_may(long pid, int what)
{
	static const int cap[] = {5 /* CAP_KILL */, 19 /* CAP_SYS_PTRACE */, 23 /* CAP_SYS_NICE */};
	unsigned ids[8];
	if ((int)pid <= 0 || pid == sys0(__NR_getpid) || pico_capable(cap[what]))
		return 1;
	if (guest_ids(pid, ids) < 0)
		return 1;
	unsigned ru = ids[0], eu = ids[1], su = ids[2], rg = ids[4], eg = ids[5], sg = ids[6];
	switch (what) {
	case PICO_MAY_SIGNAL:
		return pico.ruid == ru || pico.ruid == su || pico.euid == ru || pico.euid == su;
	case PICO_MAY_TRACE:
		return ru == pico.ruid && eu == pico.ruid && su == pico.ruid && rg == pico.rgid &&
		       eg == pico.rgid && sg == pico.rgid;
	default:
		return pico.euid == eu || pico.euid == ru;
	}
}

long pico_pid_call(long nr, const long *a)
{
	switch (nr) {
	case __NR_getdents64:
	case __NR_getdents:
		return getdents_call(nr, a[0], (void *)a[1], a[2]);
	case __NR_kill: {
		int pid = (int)a[0];
		if (pid > 0)
			return !member(pid)                         ? -ESRCH
			       : pico_pid_may(pid, PICO_MAY_SIGNAL) ? sys2(nr, pid, a[1])
								    : -EPERM;
		if (pid == -0x7fffffff - 1)
			return -ESRCH;
		return kill_many(pid, a[1]);
	}
	case __NR_tkill:
	case __NR_tgkill:
	case __NR_rt_sigqueueinfo:
	case __NR_rt_tgsigqueueinfo:
		if ((int)a[0] > 0 && !member((int)a[0]))
			return -ESRCH;
		if (!pico_pid_may((int)a[0], PICO_MAY_SIGNAL))
			return -EPERM;
		return sys4(nr, a[0], a[1], a[2], a[3]);
	case __NR_ptrace:
		/* The filter sends only PTRACE_ATTACH and PTRACE_SEIZE. */
		if ((int)a[1] > 0 && !member((int)a[1]))
			return -ESRCH;
		if (!pico_pid_may((int)a[1], PICO_MAY_TRACE))
			return -EPERM;
		return sys4(nr, a[0], a[1], a[2], a[3]);
	case __NR_kcmp:
		if (!named(a[0]) || !named(a[1]))
			return -ESRCH;
		return sys5(nr, a[0], a[1], a[2], a[3], a[4]);
	case __NR_perf_event_open:
		if (!((unsigned long)a[4] & PERF_FLAG_PID_CGROUP) && !named(a[1]))
			return -ESRCH;
		return sys5(nr, a[0], a[1], a[2], a[3], a[4]);
	case __NR_setpgid: {
		int pid = (int)a[0], pg = (int)a[1];
		if (!named(pid))
			return -ESRCH;
		/* joining a group: one of the distro's (else EPERM, as for a
		 * group that does not exist in the session) */
		if (pg > 0 && pg != pid && pg != sys0(__NR_getpid) && !group_visible(pg))
			return -EPERM;
		return sys2(nr, a[0], a[1]);
	}
	case __NR_getpriority:
	case __NR_setpriority:
	case __NR_ioprio_get:
	case __NR_ioprio_set: {
		int io = nr == __NR_ioprio_get || nr == __NR_ioprio_set;
		long w = a[0], who = (int)a[1];
		long proc = io ? IOPRIO_WHO_PROCESS : PRIO_PROCESS;
		if (w == proc && !named(who))
			return -ESRCH;
		if (w == proc && io)
			return sys3(nr, a[0], a[1], a[2]);
		if (w == proc) { /* the faked root's nice is privilege.c's */
			if (nr == __NR_setpriority && !pico_pid_may(who, PICO_MAY_SCHED))
				return -EPERM;
			return pico_priv_call(nr, a);
		}
		if (w == (io ? IOPRIO_WHO_PGRP : PRIO_PGRP)) {
			long pg = who ? who : sys0(__NR_getpgrp);
			return pg < 0 ? -ESRCH : prio_many(nr, proc, pg, a[2], -1);
		}
		if (w == (io ? IOPRIO_WHO_USER : PRIO_USER))
			return prio_many(nr, proc, 0, a[2],
					 who ? (long)(unsigned)who : (long)pico.ruid);
		return sys3(nr, a[0], a[1], a[2]); /* the kernel's EINVAL */
	}
	case __NR_process_vm_readv:
	case __NR_process_vm_writev:
		if (!named(a[0]))
			return -ESRCH;
		if (!pico_pid_may(a[0], PICO_MAY_TRACE))
			return -EPERM;
		return sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	case __NR_pidfd_open:
	case __NR_sched_setparam:
	case __NR_sched_getparam:
	case __NR_sched_setscheduler:
	case __NR_sched_getscheduler:
	case __NR_sched_rr_get_interval:
	case __NR_sched_setaffinity:
	case __NR_sched_getaffinity:
	case __NR_sched_setattr:
	case __NR_sched_getattr:
	case __NR_prlimit64:
	case __NR_getpgid:
	case __NR_getsid:
	case __NR_get_robust_list:
		if (!named(a[0]))
			return -ESRCH;
		if ((nr == __NR_sched_setaffinity || nr == __NR_sched_setattr ||
		     nr == __NR_sched_setscheduler || nr == __NR_sched_setparam) &&
		    !pico_pid_may(a[0], PICO_MAY_SCHED))
			return -EPERM;
		/* policies and limits the faked root is answered for: privilege.c */
		long r = pico_priv_call(nr, a);
		return r != PICO_NOT_PRIV ? r : sys4(nr, a[0], a[1], a[2], a[3]);
	}
	return PICO_NOT_PID;
}
