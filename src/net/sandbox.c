/*
 * sandbox.c - the system calls lxs-net may make once it is set up: the
 * NAT's loop over its sockets, as a seccomp allowlist (common/syscall_filter).
 * libslirp parses every frame the guest sends at every layer; a bug in it
 * that a guest exploits finds a process that can open IP sockets and read
 * files that exist (the host's resolv.conf, which libslirp re-reads when it
 * changes), and nothing else: no programs, no threads, no Unix sockets of
 * its own, no executable memory, no files written.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "common/syscall_filter.h"
#include "net/sandbox.h"

static const struct filter_rule nat_rules[] = {
    /* Memory, never executable. */
    ANY(brk),
    ANY(munmap),
    ANY(mremap),
    ANY(madvise),
    IF1(mmap, ARG_CLEAR(2, PROT_EXEC)),
    IF1(mprotect, ARG_CLEAR(2, PROT_EXEC)),
    /* The loop, its time, its signals, its end. */
    ANY(poll),
    ANY(ppoll),
    ANY(clock_gettime),
    ANY(gettimeofday),
    ANY(nanosleep),
    ANY(clock_nanosleep),
    ANY(futex),
    ANY(getpid),
    ANY(gettid),
    ANY(getuid),
    ANY(getrandom),
    ANY(rt_sigprocmask),
    ANY(rt_sigreturn),
    ANY(restart_syscall),
    ANY(exit),
    ANY(exit_group),
    /* The guest's flows: IP sockets only (TCP, UDP, ICMP echo). */
    IF1(socket, ARG_EQ(0, AF_INET)),
    IF1(socket, ARG_EQ(0, AF_INET6)),
    ANY(connect),
    ANY(bind),
    ANY(getsockname),
    ANY(getpeername),
    ANY(setsockopt),
    ANY(getsockopt),
    ANY(shutdown),
    ANY(close),
    ANY(read),
    ANY(write),
    ANY(readv),
    ANY(writev),
    ANY(recvfrom),
    ANY(sendto),
    ANY(recvmsg),
    ANY(sendmsg),
    IOCTL(FIONREAD),
    IOCTL(FIONBIO),
    ANY(fcntl),
    /* The VM's connection: accepted on lxsd's socket, its peer's uid checked. */
    ANY(accept4),
    /* The host's resolv.conf, which libslirp reads for its DNS forwarder. */
    IF1(openat, ARG_CLEAR(2, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_TMPFILE)),
    ANY(newfstatat),
    ANY(fstat),
    ANY(statx),
    ANY(lseek),
};

int nat_sandbox_prepare(void)
{
	return filter_prepare("lxs-net", " (lxs-net --no-sandbox turns the sandbox off to debug)");
}

int nat_sandbox_enter(void)
{
	const struct filter_list list = RULES(nat_rules);

	return filter_enter(&list, 1, "NAT", 125);
}
