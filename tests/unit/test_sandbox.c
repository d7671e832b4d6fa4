/*
 * test_sandbox.c - lxs-vm's seccomp filters (src/vmm/sandbox.c), each loaded
 * in a child process: what a class needs still works, what it must not do
 * ends the process with lxs-vm's error status and a line naming the thread
 * class and the call. No KVM needed: the filters are plain seccomp.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/posix_const.h"
#include "common/proto.h"
#include "unit.h"
#include "vmm/sandbox.h"

struct outcome {
	int status;     /* waitpid's */
	char err[1024]; /* what the child wrote on stderr */
};

/*
 * Runs fn in a child confined to cls; fn returns the child's exit code when
 * it survives. The child leaves with _exit (no atexit work under a filter).
 */
static void confined(enum sandbox_class cls, int (*fn)(void), struct outcome *o)
{
	struct sandbox sb = { .off = false, .probe = -1 };
	int pfd[2];
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	memset(o, 0, sizeof(*o));
	if (pipe(pfd) < 0)
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		if (sandbox_prepare(&sb) < 0 || sandbox_enter(&sb, cls) < 0)
			_exit(90);
		_exit(fn());
	}
	close(pfd[1]);
	while (got + 1 < sizeof(o->err) && (n = read(pfd[0], o->err + got, sizeof(o->err) - 1 - got)) > 0)
		got += (size_t)n;
	close(pfd[0]);
	waitpid(pid, &o->status, 0);
}

static bool stopped_at(const struct outcome *o, const char *cls, const char *call)
{
	char want[128];

	snprintf(want, sizeof(want), "the %s thread made the forbidden system call %s (", cls, call);
	return WIFEXITED(o->status) && WEXITSTATUS(o->status) == LXS_EXIT_VMM_ERROR &&
	       strstr(o->err, want) != NULL;
}

static bool survived(const struct outcome *o)
{
	return WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0;
}

/* What every thread does: memory, time, its own descriptors. */
static int everyday(void)
{
	struct timespec ts;
	char c = 'x';
	void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p, 1 << 20) < 0)
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0)
		return 2;
	if (write(STDERR_FILENO, &c, 0) < 0)
		return 3;
	return 0;
}

static int personality_call(void)
{
	syscall(SYS_personality, 0xffffffffUL);
	return 0;
}

static int exec_memory(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int network_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
	return 0;
}

static int unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 ? (close(fd), 0) : 1;
}

static int open_existing(void)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	return fd >= 0 ? (close(fd), 0) : 1;
}

static int create_file(void)
{
	open("/tmp/lxs-sandbox-test-never-made", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	return 0;
}

static int make_dir(void)
{
	mkdir("/tmp/lxs-sandbox-test-never-made", 0700);
	return 0;
}

static int start_thread(void)
{
	/* What pthread_create and fork come down to. */
	syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	return 0;
}

static int run_program(void)
{
	const char *argv[] = { "true", NULL };

	execve("/bin/true", exec_vec(argv), exec_vec(argv + 1));
	return 0;
}

static void t_everyday_calls_pass(struct unit *u)
{
	struct outcome o;

	for (int c = 0; c < SANDBOX_NCLASSES; c++) {
		confined(c, everyday, &o);
		CHECK(u, survived(&o));
	}
}

static void t_forbidden_call_names_class_and_call(struct unit *u)
{
	struct outcome o;

	for (int c = 0; c < SANDBOX_NCLASSES; c++) {
		confined(c, personality_call, &o);
		CHECK(u, stopped_at(&o, sandbox_class_name(c), "personality"));
	}
}

static void t_no_class_maps_code(struct unit *u)
{
	struct outcome o;

	for (int c = 0; c < SANDBOX_NCLASSES; c++) {
		confined(c, exec_memory, &o);
		CHECK(u, stopped_at(&o, sandbox_class_name(c), "mmap"));
	}
}

static void t_no_class_starts_threads_or_programs(struct unit *u)
{
	struct outcome o;

	for (int c = 0; c < SANDBOX_NCLASSES; c++) {
		confined(c, start_thread, &o);
		CHECK(u, stopped_at(&o, sandbox_class_name(c), "clone"));
		confined(c, run_program, &o);
		CHECK(u, stopped_at(&o, sandbox_class_name(c), "execve"));
	}
}

static void t_main_unix_sockets_only(struct unit *u)
{
	struct outcome o;

	confined(SANDBOX_MAIN, unix_socket, &o);
	CHECK(u, survived(&o));
	confined(SANDBOX_MAIN, network_socket, &o);
	CHECK(u, stopped_at(&o, "main", "socket"));
}

static void t_main_opens_but_never_creates(struct unit *u)
{
	struct outcome o;

	confined(SANDBOX_MAIN, open_existing, &o);
	CHECK(u, survived(&o));
	confined(SANDBOX_MAIN, create_file, &o);
	CHECK(u, stopped_at(&o, "main", "openat"));
	confined(SANDBOX_MAIN, make_dir, &o);
	CHECK(u, stopped_at(&o, "main", "mkdir"));
	CHECK(u, access("/tmp/lxs-sandbox-test-never-made", F_OK) < 0);
}

static void t_vcpu_touches_no_files(struct unit *u)
{
	struct outcome o;

	confined(SANDBOX_VCPU, open_existing, &o);
	CHECK(u, stopped_at(&o, "vcpu", "openat"));
	confined(SANDBOX_VCPU, unix_socket, &o);
	CHECK(u, stopped_at(&o, "vcpu", "socket"));
}

static void t_p9_files_but_no_sockets(struct unit *u)
{
	struct outcome o;

	confined(SANDBOX_P9, open_existing, &o);
	CHECK(u, survived(&o));
	confined(SANDBOX_P9, unix_socket, &o);
	CHECK(u, stopped_at(&o, "p9", "socket"));
}

/* copy_file_range on two descriptors it holds: what a virtio-fs worker adds to a 9P one's. */
static int copy_range(void)
{
	int in = open("/proc/self/stat", O_RDONLY), out = open("/dev/null", O_WRONLY);

	/* Whether the kernel copies matters not; the call must be let through. */
	syscall(SYS_copy_file_range, in, NULL, out, NULL, 16, 0);
	return 0;
}

static void t_fs_files_copies_but_no_sockets(struct unit *u)
{
	struct outcome o;

	confined(SANDBOX_FS, open_existing, &o);
	CHECK(u, survived(&o));
	confined(SANDBOX_FS, copy_range, &o);
	CHECK(u, survived(&o));
	confined(SANDBOX_P9, copy_range, &o);
	CHECK(u, stopped_at(&o, "p9", "copy_file_range"));
	confined(SANDBOX_FS, unix_socket, &o);
	CHECK(u, stopped_at(&o, "fs", "socket"));
}

static void t_class_names(struct unit *u)
{
	for (int c = 0; c < SANDBOX_NCLASSES; c++)
		CHECK(u, sandbox_class_parse(sandbox_class_name(c)) == c);
	CHECK(u, sandbox_class_parse("gpu") == -1);
}

int main(void)
{
	struct unit u = { 0 };

	RUN(&u, t_everyday_calls_pass);
	RUN(&u, t_forbidden_call_names_class_and_call);
	RUN(&u, t_no_class_maps_code);
	RUN(&u, t_no_class_starts_threads_or_programs);
	RUN(&u, t_main_unix_sockets_only);
	RUN(&u, t_main_opens_but_never_creates);
	RUN(&u, t_vcpu_touches_no_files);
	RUN(&u, t_p9_files_but_no_sockets);
	RUN(&u, t_fs_files_copies_but_no_sockets);
	RUN(&u, t_class_names);
	return unit_done(&u);
}
