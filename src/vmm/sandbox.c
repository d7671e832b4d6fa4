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
#include "common/syscall_filter.h"

static const char *const class_names[SANDBOX_NCLASSES] = {
    [SANDBOX_MAIN] = "main",
    [SANDBOX_VCPU] = "vcpu",
    [SANDBOX_P9] = "p9",
    [SANDBOX_FS] = "fs",
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

/* Flags with which an open makes or empties a file. */
#define OPEN_WRITES_NAMES (O_CREAT | O_TRUNC | O_TMPFILE)

/*
 * Every thread: memory (never executable: no thread maps code after start),
 * locks, time, signals it is sent, its own end, and reading and writing
 * descriptors it already holds.
 */
static const struct filter_rule common_rules[] = {
    ANY(read),
    ANY(write),
    ANY(readv),
    ANY(writev),
    ANY(close),
    ANY(futex),
    ANY(sched_yield),
    ANY(restart_syscall),
    ANY(brk),
    ANY(munmap),
    ANY(mremap),
    IF1(mmap, ARG_CLEAR(2, PROT_EXEC)),
    IF1(mprotect, ARG_CLEAR(2, PROT_EXEC)),
    /* malloc trims and the balloon frees guest pages (MADV_DONTNEED/REMOVE). */
    ANY(madvise),
    ANY(clock_gettime),
    ANY(clock_nanosleep),
    ANY(nanosleep),
    ANY(gettimeofday),
    ANY(getpid),
    ANY(gettid),
    ANY(getrandom),
    ANY(rt_sigreturn),
    ANY(rt_sigprocmask),
    /* The sanitizer builds set and clear a signal stack per thread. */
    ANY(sigaltstack),
    /* vm_request_exit kicks the vCPUs (pthread_kill); abort() for a failed assert. */
    IF1(tgkill, ARG_EQ(2, SIGUSR1)),
    IF1(tgkill, ARG_EQ(2, SIGABRT)),
    ANY(exit),
    ANY(exit_group),
};

/*
 * Device back ends on descriptors they already hold: the event loop runs
 * them, and so does a vCPU when the guest's MMIO write activates or resets a
 * device (the console resumes, vsock drops its connections, a disk drains
 * its ring, the balloon looks at its queues).
 */
static const struct filter_rule device_rules[] = {
    ANY(epoll_ctl),
    ANY(fcntl),
    ANY(lseek),
    ANY(poll),
    ANY(ppoll),
    ANY(sendto),
    ANY(recvfrom),
    ANY(sendmsg),
    ANY(recvmsg),
    ANY(shutdown),
    /* vsock's timer for connections that do not answer. */
    ANY(timerfd_settime),
    ANY(timerfd_gettime),
    /* Disks: rings are limited to reads, writes, flushes and discards (blk.c). */
    ANY(io_uring_enter),
};

/*
 * The event loop, beyond the device back ends: vsock connections to and
 * from the host's Unix sockets, the control socket (its peer's uid checked;
 * a disk attach opens an image), signals, and the exit path.
 */
static const struct filter_rule main_rules[] = {
    ANY(epoll_wait),
    ANY(epoll_pwait),
    /* Unix sockets only, never the network. */
    IF1(socket, ARG_EQ(0, AF_UNIX)),
    ANY(connect),
    ANY(accept4),
    ANY(getsockopt),
    ANY(getuid),
    /* virtio-net's bigger socket buffers when it reconnects to a restarted NAT. */
    IF2(setsockopt, ARG_EQ(1, SOL_SOCKET), ARG_EQ(2, SO_SNDBUF)),
    IF2(setsockopt, ARG_EQ(1, SOL_SOCKET), ARG_EQ(2, SO_RCVBUF)),
    /* Attaching a disk image, /proc/self/status for stats: files that exist. */
    IF1(openat, ARG_CLEAR(2, OPEN_WRITES_NAMES)),
    ANY(newfstatat),
    ANY(fstat),
    ANY(flock),
    /* The terminal back to cooked mode at the end. */
    IOCTL(TCGETS),
    IOCTL(TCSETS),
    /* The guest-RAM residency figure logged at exit. */
    ANY(mincore),
    /* Removing the control and vsock sockets at the end. */
    ANY(unlink),
    ANY(unlinkat),
};

/* A vCPU: the guest runs, and its port and MMIO exits are served in place. */
static const struct filter_rule vcpu_rules[] = {
    IOCTL(KVM_RUN),
    /* The serial port's and platform devices' interrupt lines. */
    IOCTL(KVM_IRQ_LINE),
};

/* Linux 6.13's xattr calls on a descriptor and a name; src/hostfs/host.c tries them first. */
#define NR_SETXATTRAT    463
#define NR_GETXATTRAT    464
#define NR_LISTXATTRAT   465
#define NR_REMOVEXATTRAT 466

/*
 * A 9P worker: the host file system beneath the share, through descriptors
 * the server opened from the share's root (src/hostfs/host.c); no sockets, no KVM.
 */
static const struct filter_rule p9_rules[] = {
    ANY(openat),
    ANY(openat2),
    ANY(newfstatat),
    ANY(fstat),
    ANY(statx),
    ANY(fstatfs),
    ANY(getdents64),
    ANY(readlinkat),
    ANY(lseek),
    ANY(fcntl),
    ANY(dup),
    ANY(pread64),
    ANY(pwrite64),
    ANY(preadv),
    ANY(pwritev),
    ANY(fsync),
    ANY(fdatasync),
    ANY(ftruncate),
    ANY(fallocate),
    ANY(mkdirat),
    ANY(mknodat),
    ANY(symlinkat),
    ANY(linkat),
    ANY(renameat),
    ANY(renameat2),
    ANY(unlinkat),
    ANY(fchmod),
    ANY(fchmodat),
    ANY(fchown),
    ANY(fchownat),
    ANY(utimensat),
    ANY(fgetxattr),
    ANY(fsetxattr),
    ANY(flistxattr),
    ANY(fremovexattr),
    ANY(getxattr),
    ANY(setxattr),
    ANY(listxattr),
    ANY(removexattr),
    ANY(lgetxattr),
    ANY(lsetxattr),
    ANY(llistxattr),
    ANY(lremovexattr),
    {NR_SETXATTRAT, 0, {{0}}},
    {NR_GETXATTRAT, 0, {{0}}},
    {NR_LISTXATTRAT, 0, {{0}}},
    {NR_REMOVEXATTRAT, 0, {{0}}},
    ANY(flock),
};

/*
 * A virtio-fs worker: a 9P worker's calls, and FUSE's COPY_FILE_RANGE between
 * two open files; watches on the folders the guest holds (added by a worker
 * at a lookup, removed at a forget), and the notifier's wait for their events
 * and for the guest's buffers (src/fusesrv/watch.c, fs.c).
 */
static const struct filter_rule fs_rules[] = {
    ANY(copy_file_range), ANY(inotify_add_watch), ANY(inotify_rm_watch), ANY(poll), ANY(ppoll),
};

/* Each class: its own list, and the device back ends' if it runs them. */
static const struct filter_list class_rules[SANDBOX_NCLASSES][2] = {
    [SANDBOX_MAIN] = {RULES(main_rules), RULES(device_rules)},
    [SANDBOX_VCPU] = {RULES(vcpu_rules), RULES(device_rules)},
    [SANDBOX_P9] = {RULES(p9_rules)},
    [SANDBOX_FS] = {RULES(p9_rules), RULES(fs_rules)},
};

static const struct filter_list every_class = RULES(common_rules);

int sandbox_prepare(const struct sandbox *sb)
{
	if (sb->off)
		return 0;
	return filter_prepare("lxs-vm", " (--no-sandbox turns the sandbox off to debug)");
}

int sandbox_enter(const struct sandbox *sb, enum sandbox_class cls)
{
	if (cls >= SANDBOX_NCLASSES)
		return -EINVAL;
	if (!sb)
		return 0;
	if (!sb->off) {
		const struct filter_list lists[3] = {every_class, class_rules[cls][0],
						     class_rules[cls][1]};
		int ret = filter_enter(lists, 3, class_names[cls], LXS_EXIT_VMM_ERROR);

		if (ret < 0)
			return ret;
	}
	/* A call no class allows and that changes nothing if it runs (--no-sandbox). */
	if (sb->probe == (int)cls)
		syscall(SYS_personality, 0xffffffffUL);
	return 0;
}
