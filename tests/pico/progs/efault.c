/* Bad pointers given to system calls the translator handles: each must
 * fail with EFAULT, as on Linux, and the process must live on. Then the
 * program's own SIGSEGV handler (the translator keeps the real one) must
 * run for its own fault, also after posix_spawn, whose child resets
 * handlers in memory it shares with the parent. Prints one "name=result"
 * line per check and "efault-done"; a crash prints neither. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((void *)1)

extern char **environ;
static sigjmp_buf jb;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static void show(const char *name, long r)
{
	printf("%s=%s\n", name, r == -1 ? strerrorname_np(errno) : "succeeded");
}

int main(void)
{
	struct stat st;
	char buf[64];
	/* a path that ends where the mapping ends: no NUL within reach */
	char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(page + 4096, 4096);
	memset(page, 'a', 4096);
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	show("open", syscall(SYS_open, BAD, O_RDONLY));
	show("openat", syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
	show("open_unterminated", syscall(SYS_open, page, O_RDONLY));
	show("stat_path", syscall(SYS_stat, BAD, &st));
	show("stat_buf", syscall(SYS_stat, "/etc/hostname", BAD));
	show("stat_buf_ro", syscall(SYS_stat, "/etc/hostname", ro));
	show("statx", syscall(SYS_statx, AT_FDCWD, BAD, 0, 0x7ff, buf));
	show("access", syscall(SYS_access, BAD, R_OK));
	show("mkdir", syscall(SYS_mkdir, BAD, 0755));
	show("rename", syscall(SYS_rename, "/tmp/nonexistent-efault", BAD));
	show("readlink_buf", syscall(SYS_readlink, "/proc/self/exe", BAD, 64));
	show("getcwd", syscall(SYS_getcwd, ro, 64));
	show("getresuid", syscall(SYS_getresuid, BAD, BAD, BAD));
	show("sigaction", syscall(SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8));
	show("sigprocmask", syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, 8));
	show("getxattr_name", syscall(SYS_getxattr, "/etc/hostname", BAD, buf, sizeof buf));
	show("execve", syscall(SYS_execve, BAD, NULL, NULL));
	char *argv[] = {"/bin/true", NULL};
	show("execve_envp", syscall(SYS_execve, "/bin/true", argv, BAD));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	show("connect", syscall(SYS_connect, s, BAD, sizeof(struct sockaddr_un)));
	sigset_t segv;
	sigemptyset(&segv);
	sigaddset(&segv, SIGSEGV);
	sigprocmask(SIG_BLOCK, &segv, NULL);
	show("open_segv_blocked", syscall(SYS_open, BAD, O_RDONLY));
	sigprocmask(SIG_UNBLOCK, &segv, NULL);
	/* still alive, and still translating */
	show("stat_ok", stat("/etc/hostname", &st));
	struct sigaction sa = {0}, old;
	sa.sa_handler = on_segv;
	sigaction(SIGSEGV, &sa, NULL);
	pid_t pid;
	char *tv[] = {"true", NULL};
	if (posix_spawn(&pid, "/bin/true", NULL, NULL, tv, environ) == 0)
		waitpid(pid, NULL, 0);
	sigaction(SIGSEGV, NULL, &old);
	printf("segv_action_after_spawn=%s\n", old.sa_handler == on_segv ? "kept" : "lost");
	volatile int caught = 0;
	int *volatile bad = BAD;
	if (!sigsetjmp(jb, 1))
		*bad = 1;
	else
		caught = 1;
	printf("segv_handler_ran=%d\n", caught);
	printf("efault-done\n");
	return 0;
}
