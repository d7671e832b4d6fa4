/*
 * sandbox.c - the system calls each kind of lxs-vm thread may make once its
 * set-up is done, as libseccomp filters, and the report of a forbidden one.
 *
 * Every thread loads its own filter (seccomp filters belong to the thread
 * that loads them and to threads it starts later): the vCPU threads and the
 * 9P workers when they start, the main thread once every other thread is
 * running. Nothing starts a thread after that, so every thread is confined
 * for the whole life of the guest. A call not on the thread's list raises
 * SIGSYS; the handler names the thread and the call on stderr (the VM's
 * log) and ends lxs-vm: such a call is a bug in lxs-vm or a guest that took
 * one of its threads over, and neither may go on.
 *
 * A device added later extends the list of the thread class that runs its
 * code here, with the reason on the line. The lists were taken from strace
 * runs of the VM suites (tests/vm, tests/cli/vm.sh) and the code, and kept
 * as short as those allow: no thread may start a thread or a program, open
 * a network socket, map executable memory or load a KVM memory slot.
 */
#include "vmm/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "common/proto.h"

static const char *const class_names[SANDBOX_NCLASSES] = {
	[SANDBOX_MAIN] = "main",
	[SANDBOX_VCPU] = "vcpu",
	[SANDBOX_P9] = "p9",
};

const char *sandbox_class_name(enum sandbox_class cls)
{
	return cls < SANDBOX_NCLASSES ? class_names[cls] : "unknown";
}

int sandbox_class_parse(const char *name)
{
	for (int i = 0; i < SANDBOX_NCLASSES; i++)
		if (!strcmp(name, class_names[i]))
			return i;
	return -1;
}

/*
 * One allowed call: the number, and up to two conditions on its arguments
 * that must all hold (nargs 0: any arguments). A call may appear on several
 * lines; any one that matches allows it.
 */
struct rule {
	int nr;
	unsigned nargs;
	struct scmp_arg_cmp arg[2];
};

#define ANY(call) { SCMP_SYS(call), 0, { { 0 } } }
#define ARG_EQ(i, v) { .arg = (i), .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)(v) }
/* (argument & mask) == 0 */
#define ARG_CLEAR(i, mask) { .arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = 0 }
#define IF1(call, a) { SCMP_SYS(call), 1, { a } }
#define IOCTL(req) IF1(ioctl, ARG_EQ(1, req))

/* Flags with which an open makes or empties a file. */
#define OPEN_WRITES_NAMES (O_CREAT | O_TRUNC | O_TMPFILE)

/*
 * Every thread: memory (never executable: no thread maps code after start),
 * locks, time, signals it is sent, its own end, and reading and writing
 * descriptors it already holds.
 */
static const struct rule common_rules[] = {
	ANY(read), ANY(write), ANY(readv), ANY(writev), ANY(close),
	ANY(futex), ANY(sched_yield), ANY(restart_syscall),
	ANY(brk), ANY(munmap), ANY(mremap),
	IF1(mmap, ARG_CLEAR(2, PROT_EXEC)),
	IF1(mprotect, ARG_CLEAR(2, PROT_EXEC)),
	/* malloc trims and the balloon frees guest pages (MADV_DONTNEED/REMOVE). */
	ANY(madvise),
	ANY(clock_gettime), ANY(clock_nanosleep), ANY(nanosleep), ANY(gettimeofday),
	ANY(getpid), ANY(gettid), ANY(getrandom),
	ANY(rt_sigreturn), ANY(rt_sigprocmask),
	/* The sanitizer builds set and clear a signal stack per thread. */
	ANY(sigaltstack),
	/* vm_request_exit kicks the vCPUs (pthread_kill); abort() for a failed assert. */
	IF1(tgkill, ARG_EQ(2, SIGUSR1)), IF1(tgkill, ARG_EQ(2, SIGABRT)),
	ANY(exit), ANY(exit_group),
};

/*
 * Device back ends on descriptors they already hold: the event loop runs
 * them, and so does a vCPU when the guest's MMIO write activates or resets a
 * device (the console resumes, vsock drops its connections, a disk drains
 * its ring, the balloon looks at its queues).
 */
static const struct rule device_rules[] = {
	ANY(epoll_ctl), ANY(fcntl), ANY(lseek), ANY(poll), ANY(ppoll),
	ANY(sendto), ANY(recvfrom), ANY(sendmsg), ANY(recvmsg), ANY(shutdown),
	/* vsock's timer for connections that do not answer. */
	ANY(timerfd_settime), ANY(timerfd_gettime),
	/* Disks: rings are limited to reads, writes, flushes and discards (blk.c). */
	ANY(io_uring_enter),
};

/*
 * The event loop, beyond the device back ends: vsock connections to and
 * from the host's Unix sockets, the control socket (its peer's uid checked;
 * a disk attach opens an image), signals, and the exit path.
 */
static const struct rule main_rules[] = {
	ANY(epoll_wait), ANY(epoll_pwait),
	/* Unix sockets only, never the network. */
	IF1(socket, ARG_EQ(0, AF_UNIX)), ANY(connect), ANY(accept4), ANY(getsockopt), ANY(getuid),
	/* virtio-net's bigger socket buffers when it reconnects to a restarted NAT. */
	{ SCMP_SYS(setsockopt), 2, { ARG_EQ(1, SOL_SOCKET), ARG_EQ(2, SO_SNDBUF) } },
	{ SCMP_SYS(setsockopt), 2, { ARG_EQ(1, SOL_SOCKET), ARG_EQ(2, SO_RCVBUF) } },
	/* Attaching a disk image, /proc/self/status for stats: files that exist. */
	IF1(openat, ARG_CLEAR(2, OPEN_WRITES_NAMES)), ANY(newfstatat), ANY(fstat), ANY(flock),
	/* The terminal back to cooked mode at the end. */
	IOCTL(TCGETS), IOCTL(TCSETS),
	/* The guest-RAM residency figure logged at exit. */
	ANY(mincore),
	/* Removing the control and vsock sockets at the end. */
	ANY(unlink), ANY(unlinkat),
};

/* A vCPU: the guest runs, and its port and MMIO exits are served in place. */
static const struct rule vcpu_rules[] = {
	IOCTL(KVM_RUN),
	/* The serial port's and platform devices' interrupt lines. */
	IOCTL(KVM_IRQ_LINE),
};

/* Linux 6.13's xattr calls on a descriptor and a name; src/p9/host.c tries them first. */
#define NR_SETXATTRAT 463
#define NR_GETXATTRAT 464
#define NR_LISTXATTRAT 465
#define NR_REMOVEXATTRAT 466

/*
 * A 9P worker: the host file system beneath the share, through descriptors
 * the server opened from the share's root (src/p9/host.c); no sockets, no KVM.
 */
static const struct rule p9_rules[] = {
	ANY(openat), ANY(openat2), ANY(newfstatat), ANY(fstat), ANY(statx), ANY(fstatfs),
	ANY(getdents64), ANY(readlinkat), ANY(lseek), ANY(fcntl), ANY(dup),
	ANY(pread64), ANY(pwrite64), ANY(preadv), ANY(pwritev), ANY(fsync), ANY(fdatasync),
	ANY(ftruncate), ANY(fallocate),
	ANY(mkdirat), ANY(mknodat), ANY(symlinkat), ANY(linkat), ANY(renameat), ANY(renameat2),
	ANY(unlinkat), ANY(fchmod), ANY(fchmodat), ANY(fchown), ANY(fchownat), ANY(utimensat),
	ANY(fgetxattr), ANY(fsetxattr), ANY(flistxattr), ANY(fremovexattr),
	ANY(getxattr), ANY(setxattr), ANY(listxattr), ANY(removexattr),
	ANY(lgetxattr), ANY(lsetxattr), ANY(llistxattr), ANY(lremovexattr),
	{ NR_SETXATTRAT, 0, { { 0 } } }, { NR_GETXATTRAT, 0, { { 0 } } },
	{ NR_LISTXATTRAT, 0, { { 0 } } }, { NR_REMOVEXATTRAT, 0, { { 0 } } },
	ANY(flock),
};

#define RULES(list) { list, sizeof(list) / sizeof(list[0]) }

struct rule_list {
	const struct rule *rules;
	size_t n;
};

/* Each class: its own list, and the device back ends' if it runs them. */
static const struct rule_list class_rules[SANDBOX_NCLASSES][2] = {
	[SANDBOX_MAIN] = { RULES(main_rules), RULES(device_rules) },
	[SANDBOX_VCPU] = { RULES(vcpu_rules), RULES(device_rules) },
	[SANDBOX_P9] = { RULES(p9_rules) },
};

static const struct rule_list every_class = RULES(common_rules);

/*
 * What the SIGSYS handler reads. A signal handler gets no argument of ours,
 * so these are the only globals of lxs-vm: the names are filled once before
 * any thread starts and only read afterwards; the class is per thread.
 */
#define NAMED_CALLS 512
static char call_names[NAMED_CALLS][24];
static _Thread_local int thread_class = -1;

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	buf[at] = '\0';
	return at;
}

static size_t append_num(char *buf, size_t at, size_t cap, long v)
{
	char digits[24];
	int n = 0;

	if (v < 0) {
		at = append(buf, at, cap, "-");
		v = -v;
	}
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof(digits));
	while (n > 0 && at + 1 < cap)
		buf[at++] = digits[--n];
	buf[at] = '\0';
	return at;
}

/* Only async-signal-safe work: build one line, write it, end the process. */
static void on_forbidden_call(int sig, siginfo_t *si, void *uc)
{
	char msg[384];
	size_t n = 0;
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < NAMED_CALLS && call_names[nr][0] ? call_names[nr] : "?";

	(void)sig;
	(void)uc;
	n = append(msg, n, sizeof(msg), "lxs-vm: sandbox: the ");
	n = append(msg, n, sizeof(msg), thread_class >= 0 ? class_names[thread_class] : "unconfined");
	n = append(msg, n, sizeof(msg), " thread made the forbidden system call ");
	n = append(msg, n, sizeof(msg), name);
	n = append(msg, n, sizeof(msg), " (");
	n = append_num(msg, n, sizeof(msg), nr);
	n = append(msg, n, sizeof(msg),
		   "), so lxs-vm stops here: this is a bug in lxs-vm or an attack by the guest;"
		   " report it with this log (--no-sandbox turns the sandbox off to debug)\n");
	if (write(STDERR_FILENO, msg, n) < 0) {
	}
	syscall(SYS_exit_group, LXS_EXIT_VMM_ERROR);
}

int sandbox_prepare(const struct sandbox *sb)
{
	struct sigaction sa = { .sa_sigaction = on_forbidden_call, .sa_flags = SA_SIGINFO };

	if (sb->off)
		return 0;
	for (int nr = 0; nr < NAMED_CALLS; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (name) {
			strncpy(call_names[nr], name, sizeof(call_names[nr]) - 1);
			free(name);
		}
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = r[i].nargs ? seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r[i].nr, r[i].nargs,
							      r[i].arg)
				     : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int sandbox_enter(const struct sandbox *sb, enum sandbox_class cls)
{
	scmp_filter_ctx ctx;
	int ret;

	if (cls >= SANDBOX_NCLASSES)
		return -EINVAL;
	if (!sb)
		return 0;
	if (sb->off)
		goto probe;
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	/*
	 * The filter runs on every call of the thread, KVM_RUN included: a
	 * binary search over the call numbers instead of a list, and no
	 * speculative-store-bypass mitigation forced on the thread (the guest's
	 * memory is its own; the kernel's default for other processes holds).
	 */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	if (ret == 0)
		ret = add_rules(ctx, every_class.rules, every_class.n);
	for (int i = 0; i < 2 && ret == 0; i++)
		ret = add_rules(ctx, class_rules[cls][i].rules, class_rules[cls][i].n);
	/* libseccomp sets NO_NEW_PRIVS itself before it loads (SCMP_FLTATR_CTL_NNP). */
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret < 0)
		return ret;
	thread_class = (int)cls;
probe:
	/* A call no class allows and that changes nothing if it runs (--no-sandbox). */
	if (sb->probe == (int)cls)
		syscall(SYS_personality, 0xffffffffUL);
	return 0;
}
