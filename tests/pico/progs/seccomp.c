/* A program with its own seccomp filters, as sandboxes (systemd, chrome,
 * openssh) have. Its filters must apply to its own calls, never to the
 * translator's: the first one kills the process for openat2 and
 * readlinkat, which the translator uses to answer stat, open and readlink.
 * Its own SIGSYS handler must run for its filter's SECCOMP_RET_TRAP and
 * for a SIGSYS sent with kill/tgkill. Prints one line per check and
 * "seccomp-done"; run it natively and under lxs-pico, the output is the
 * same. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ON(nr, ret) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (ret))

static volatile int got, got_code, got_errno, got_nr;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	(void)sig;
	got++;
	got_code = si->si_code;
	got_errno = si->si_errno;
	got_nr = si->si_code == SYS_SECCOMP ? si->si_syscall : -1;
	if (si->si_code == SYS_SECCOMP)
		uc->uc_mcontext.gregs[REG_RAX] = 1234; /* the call's result, emulated */
}

static void show(const char *name, long r)
{
	printf("%s=%s\n", name, r == -1 ? strerrorname_np(errno) : r == 0 ? "0" : "nonzero");
}

int main(void)
{
	struct sock_filter f1[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		LD_NR,
		ON(SYS_openat2, SECCOMP_RET_KILL_PROCESS),
		ON(SYS_readlinkat, SECCOMP_RET_KILL_PROCESS),
		ON(SYS_mkdir, SECCOMP_RET_ERRNO | EPERM),
		ON(SYS_getppid, SECCOMP_RET_ERRNO | EACCES),
		ON(SYS_uname, SECCOMP_RET_TRAP | 0x42),
		ON(SYS_chdir, SECCOMP_RET_TRAP | 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p1 = {sizeof f1 / sizeof f1[0], f1};
	struct sock_filter f2[] = {LD_NR, ON(SYS_unlink, SECCOMP_RET_ERRNO | EROFS),
				   BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog p2 = {sizeof f2 / sizeof f2[0], f2};
	struct sock_fprog empty = {0, f1}, huge = {BPF_MAXINSNS + 1, f1}, bad = {3, (void *)8};
	struct sigaction sa = {0}, old;
	struct stat st;
	char buf[256];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return perror("no_new_privs"), 1;
	show("seccomp_empty", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &empty));
	show("seccomp_too_long", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &huge));
	show("seccomp_bad_filter", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &bad));
	show("seccomp_bad_prog", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (void *)8));
	show("seccomp_install", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p1));
	show("prctl_install", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p2, 0, 0));

	/* the translator's own openat2 and readlinkat are not the guest's */
	show("stat", stat("/etc/hostname", &st));
	int fd = open("/etc/hostname", O_RDONLY);
	show("open", fd < 0 ? -1 : 0);
	close(fd);
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("readlink=%s\n", n > 0 && strstr(buf, "seccomp") ? "ok" : "bad");

	/* the guest's filters apply to the guest's calls */
	show("mkdir", mkdir("/tmp/seccomp-denied", 0755));
	show("getppid", syscall(SYS_getppid));
	show("unlink", unlink("/tmp/seccomp-nonexistent"));

	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	show("sigaction", sigaction(SIGSYS, &sa, NULL));
	sigaction(SIGSYS, NULL, &old);
	printf("sigaction_query=%s\n", old.sa_sigaction == on_sigsys ? "ok" : "bad");
	struct utsname u;
	long r = syscall(SYS_uname, &u);
	printf("trap_uname: got=%d code=%d errno=%#x nr_ok=%d ret=%ld\n", got, got_code, got_errno,
	       got_nr == SYS_uname, r);
	got = 0;
	r = syscall(SYS_chdir, "/");
	printf("trap_chdir: got=%d code=%d errno=%#x nr_ok=%d ret=%ld\n", got, got_code, got_errno,
	       got_nr == SYS_chdir, r);
	got = 0;
	kill(getpid(), SIGSYS);
	printf("kill_sigsys: got=%d user=%d\n", got, got_code == SI_USER);
	got = 0;
	syscall(SYS_tgkill, getpid(), gettid(), SIGSYS);
	printf("tgkill_sigsys: got=%d tkill=%d\n", got, got_code == SI_TKILL);

	/* with SIGSYS at its default, the filter's trap kills */
	pid_t c = fork();
	if (c == 0) {
		signal(SIGSYS, SIG_DFL);
		syscall(SYS_uname, &u);
		_exit(0);
	}
	int ws = 0;
	waitpid(c, &ws, 0);
	printf("default_trap: signaled=%d sig=%d\n", WIFSIGNALED(ws), WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	printf("seccomp-done\n");
	return 0;
}
