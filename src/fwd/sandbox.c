/*
 * sandbox.c - the system calls lxs-fwd may make once it listens for the
 * guest's reports, as a seccomp allowlist (common/syscall_filter). The
 * guest tells it which ports to open; a bug in that path that a guest
 * exploits finds a process that can make TCP sockets (which the code binds
 * to the loopback only) and Unix ones (lxs-vm's vsock socket), and nothing
 * else: no files opened, no programs, no threads, no executable memory.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include "common/syscall_filter.h"
#include "fwd/fwd.h"

static const struct filter_rule fwd_rules[] = {
    /* Memory, never executable. */
    ANY(brk),
    ANY(munmap),
    ANY(mremap),
    ANY(madvise),
    IF1(mmap, ARG_CLEAR(2, PROT_EXEC)),
    IF1(mprotect, ARG_CLEAR(2, PROT_EXEC)),
    /* The loop, its time, its signals (a signalfd), its end. */
    ANY(epoll_wait),
    ANY(epoll_pwait),
    ANY(epoll_ctl),
    ANY(poll),
    ANY(ppoll),
    ANY(clock_gettime),
    ANY(gettimeofday),
    ANY(clock_nanosleep),
    ANY(nanosleep),
    ANY(futex),
    ANY(getpid),
    ANY(gettid),
    ANY(rt_sigprocmask),
    ANY(rt_sigreturn),
    ANY(restart_syscall),
    ANY(exit),
    ANY(exit_group),
    /* The report's peer must be this user (SO_PEERCRED against our uid). */
    ANY(getuid),
    ANY(geteuid),
    /* The host's listeners (TCP on the loopback) and the relay's path (lxs-vm's Unix socket). */
    IF1(socket, ARG_EQ(0, AF_INET)),
    IF1(socket, ARG_EQ(0, AF_INET6)),
    IF1(socket, ARG_EQ(0, AF_UNIX)),
    ANY(bind),
    ANY(listen),
    ANY(accept4),
    ANY(connect),
    ANY(setsockopt),
    ANY(getsockopt),
    ANY(shutdown),
    ANY(close),
    ANY(fcntl),
    ANY(read),
    ANY(write),
    ANY(readv),
    ANY(writev),
    ANY(recvfrom),
    ANY(sendto),
    ANY(recvmsg),
    ANY(sendmsg),
    /* Its report socket's file, removed at the end. */
    ANY(unlink),
};

int fwd_sandbox_enter(void)
{
	const struct filter_list list = RULES(fwd_rules);
	int ret =
	    filter_prepare("lxs-fwd", " (lxs-fwd --no-sandbox turns the sandbox off to debug)");

	return ret < 0 ? ret : filter_enter(&list, 1, "forwarding", 125);
}
