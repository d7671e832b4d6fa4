/* pidview HOSTPID: every call that names a process, on a host process
 * (which must look as if it did not exist: ESRCH, not listed in /proc)
 * and on the program's own child and itself (which must work). One line
 * per call, "NAME=ok" or "NAME=<what went wrong>"; exits 1 if any failed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int bad;

/* For the host's pid: the call fails with ESRCH. */
static void gone(const char *name, long r)
{
	if (r == -1 && errno == ESRCH) {
		printf("%s=ok\n", name);
		return;
	}
	bad = 1;
	printf("%s=%s\n", name, r == -1 ? strerror(errno) : "succeeded");
}

/* For ourselves and our child: the call works. */
static void works(const char *name, long r)
{
	if (r >= 0) {
		printf("%s=ok\n", name);
		return;
	}
	bad = 1;
	printf("%s=%s\n", name, strerror(errno));
}

/* /proc listed with the raw call and a buffer glibc would not use: does
 * it list pid? */
static int listed(int pid)
{
	char buf[2048], want[16];
	int fd = open("/proc", O_RDONLY | O_DIRECTORY), found = 0;
	long n;
	snprintf(want, sizeof want, "%d", pid);
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
		for (long i = 0; i < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + i);
			if (!strcmp(d->d_name, want))
				found = 1;
			i += d->d_reclen;
		}
	close(fd);
	return found;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int hp = atoi(argv[1]), me = getpid();
	cpu_set_t cpus;
	struct rlimit rl;
	struct sched_param sp;
	char c;
	struct iovec local = {&c, 1}, remote = {&c, 1};

	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}

	gone("kill", kill(hp, 0));
	gone("tkill", syscall(SYS_tkill, hp, 0));
	gone("tgkill", syscall(SYS_tgkill, hp, hp, 0));
	gone("sigqueue", sigqueue(hp, 0, (union sigval){0}));
	gone("ptrace_attach", ptrace(PTRACE_ATTACH, hp, 0, 0));
	gone("ptrace_seize", ptrace(PTRACE_SEIZE, hp, 0, 0));
	gone("process_vm_readv", process_vm_readv(hp, &local, 1, &remote, 1, 0));
	gone("pidfd_open", syscall(SYS_pidfd_open, hp, 0));
	gone("kcmp", syscall(SYS_kcmp, me, hp, 0 /* KCMP_FILE */, 0, 0));
	gone("sched_getaffinity", sched_getaffinity(hp, sizeof cpus, &cpus));
	gone("sched_getparam", sched_getparam(hp, &sp));
	gone("sched_getscheduler", sched_getscheduler(hp));
	gone("getpriority", (errno = 0, getpriority(PRIO_PROCESS, hp) == -1 && errno ? -1 : 0));
	gone("prlimit", prlimit(hp, RLIMIT_NOFILE, NULL, &rl));
	gone("getpgid", getpgid(hp));
	gone("getsid", getsid(hp));
	printf("listed_host=%d\n", listed(hp));
	bad |= listed(hp);

	works("kill_child", kill(child, 0));
	works("kill_self", kill(me, 0));
	works("tgkill_self", syscall(SYS_tgkill, me, gettid(), 0));
	works("pidfd_open_child", syscall(SYS_pidfd_open, child, 0));
	works("kcmp_child", syscall(SYS_kcmp, me, child, 0, 0, 0) >= 0 ? 0 : -1);
	works("sched_getaffinity_child", sched_getaffinity(child, sizeof cpus, &cpus));
	works("sched_getaffinity_0", sched_getaffinity(0, sizeof cpus, &cpus));
	works("prlimit_child", prlimit(child, RLIMIT_NOFILE, NULL, &rl));
	works("getpgid_child", getpgid(child));
	works("getsid_0", getsid(0));
	works("getpriority_child", (errno = 0, getpriority(PRIO_PROCESS, child) == -1 && errno ? -1 : 0));
	works("process_vm_readv_child", process_vm_readv(child, &local, 1, &remote, 1, 0));
	int l = listed(me) && listed(child);
	printf("listed_own=%d\n", l);
	bad |= !l;
	kill(child, SIGKILL);
	int st;
	waitpid(child, &st, 0);
	printf("child_killed=%d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	printf("pidview-done\n");
	return bad;
}
