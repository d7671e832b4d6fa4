/*
 * filter.c - the seccomp filter. System calls in `passthrough` run natively
 * from anywhere (they are decided on the number alone, so the kernel caches
 * them in its per-syscall bitmap and they cost nothing extra). Any other
 * call runs natively only when made from the loader's own text (the
 * translator re-issuing a translated call); from the guest it raises SIGSYS,
 * and the handler translates it or answers ENOSYS. An allow-list rather
 * than a trap-list means a system call added to Linux after this was
 * written is never passed through untranslated.
 */
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <linux/audit.h>
#include <linux/prctl.h>
#include <linux/errno.h>
#include <linux/mman.h>
#include <stddef.h>

#include "pico.h"
#include "sys.h"

/* What needs no translation: no paths, no identities, no signal dispositions. */
static const unsigned short passthrough[] = {
	__NR_read, __NR_write, __NR_close, __NR_poll, __NR_lseek, __NR_mmap, __NR_mprotect,
	__NR_munmap, __NR_brk, __NR_rt_sigreturn, __NR_ioctl, __NR_pread64, __NR_pwrite64,
	__NR_readv, __NR_writev, __NR_pipe, __NR_select, __NR_sched_yield, __NR_mremap,
	__NR_msync, __NR_mincore, __NR_madvise, __NR_shmget, __NR_shmat, __NR_shmctl, __NR_dup,
	__NR_dup2, __NR_pause, __NR_nanosleep, __NR_getitimer, __NR_alarm, __NR_setitimer,
	__NR_getpid, __NR_sendfile, __NR_socket, __NR_accept, __NR_sendto, __NR_recvfrom,
	__NR_sendmsg, __NR_recvmsg, __NR_shutdown, __NR_listen, __NR_getsockname,
	__NR_getpeername, __NR_socketpair, __NR_setsockopt, __NR_getsockopt, __NR_clone,
	__NR_fork, __NR_vfork, __NR_exit, __NR_wait4, __NR_kill, __NR_uname, __NR_semget,
	__NR_semop, __NR_semctl, __NR_shmdt, __NR_msgget, __NR_msgsnd, __NR_msgrcv, __NR_msgctl,
	__NR_fcntl, __NR_flock, __NR_fsync, __NR_fdatasync, __NR_ftruncate, __NR_getdents,
	__NR_umask, __NR_gettimeofday, __NR_getrlimit, __NR_getrusage,
	__NR_sysinfo, __NR_times, __NR_getppid, __NR_getpgrp, __NR_setsid, __NR_setpgid,
	__NR_getpgid, __NR_getsid, __NR_rt_sigpending, __NR_rt_sigtimedwait,
	__NR_rt_sigqueueinfo, __NR_sigaltstack, __NR_personality, __NR_fstatfs,
	__NR_getpriority, __NR_setpriority, __NR_sched_setparam, __NR_sched_getparam,
	__NR_sched_setscheduler, __NR_sched_getscheduler, __NR_sched_get_priority_max,
	__NR_sched_get_priority_min, __NR_sched_rr_get_interval, __NR_mlock, __NR_munlock,
	__NR_mlockall, __NR_munlockall, __NR_arch_prctl, __NR_setrlimit, __NR_sync,
	__NR_gettid, __NR_readahead, __NR_tkill, __NR_time, __NR_futex, __NR_sched_setaffinity,
	__NR_sched_getaffinity, __NR_io_setup, __NR_io_destroy, __NR_io_getevents,
	__NR_io_submit, __NR_io_cancel, __NR_getdents64, __NR_set_tid_address,
	__NR_restart_syscall, __NR_semtimedop, __NR_fadvise64, __NR_timer_create,
	__NR_timer_settime, __NR_timer_gettime, __NR_timer_getoverrun, __NR_timer_delete,
	__NR_clock_settime, __NR_clock_gettime, __NR_clock_getres, __NR_clock_nanosleep,
	__NR_exit_group, __NR_epoll_wait, __NR_epoll_ctl, __NR_tgkill, __NR_mbind,
	__NR_set_mempolicy, __NR_get_mempolicy, __NR_mq_open, __NR_mq_unlink,
	__NR_mq_timedsend, __NR_mq_timedreceive, __NR_mq_notify, __NR_mq_getsetattr,
	__NR_waitid, __NR_ioprio_set, __NR_ioprio_get, __NR_inotify_init, __NR_inotify_rm_watch,
	__NR_pselect6, __NR_ppoll, __NR_unshare, __NR_set_robust_list, __NR_get_robust_list,
	__NR_splice, __NR_tee, __NR_sync_file_range, __NR_vmsplice, __NR_epoll_pwait,
	__NR_signalfd, __NR_timerfd_create, __NR_eventfd, __NR_fallocate, __NR_timerfd_settime,
	__NR_timerfd_gettime, __NR_accept4, __NR_signalfd4, __NR_eventfd2, __NR_epoll_create,
	__NR_epoll_create1, __NR_dup3, __NR_pipe2, __NR_inotify_init1, __NR_preadv,
	__NR_pwritev, __NR_rt_tgsigqueueinfo, __NR_perf_event_open, __NR_recvmmsg,
	__NR_prlimit64, __NR_syncfs, __NR_sendmmsg, __NR_getcpu, __NR_process_vm_readv,
	__NR_process_vm_writev, __NR_kcmp, __NR_sched_setattr, __NR_sched_getattr,
	__NR_getrandom, __NR_memfd_create, __NR_membarrier, __NR_mlock2,
	__NR_copy_file_range, __NR_preadv2, __NR_pwritev2, __NR_pkey_mprotect, __NR_pkey_alloc,
	__NR_pkey_free, __NR_rseq, __NR_pidfd_send_signal, __NR_pidfd_open, __NR_close_range,
	__NR_pidfd_getfd, __NR_process_madvise, __NR_epoll_pwait2, __NR_futex_waitv,
	__NR_ptrace, __NR_set_mempolicy_home_node,
};

#define MAXF 1024

int pico_install_filter(unsigned long lo, unsigned long hi)
{
	struct sock_filter f[MAXF];
	unsigned n = 0;
	const unsigned np = sizeof passthrough / sizeof passthrough[0];

	if ((lo >> 32) != ((hi - 1) >> 32))
		return -ERANGE;
#define I(code, k) (f[n++] = (struct sock_filter)BPF_STMT(code, k))
#define J(code, k, jt, jf) (f[n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf))
	I(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	J(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	I(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	I(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < np; i++) {
		J(BPF_JMP | BPF_JEQ | BPF_K, passthrough[i], 0, 1);
		I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	/* prctl but PR_SET_SECCOMP (a guest filter: pico_guest_seccomp). On
	 * PR_SET_SECCOMP, past the ALLOW and the 6 of utimensat's block. */
	J(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 3);
	I(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
	J(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 1 + 6, 0);
	I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* utimensat(fd, NULL, ...) is futimens: nothing to translate, and
	 * tar calls it for every file. */
	J(BPF_JMP | BPF_JEQ | BPF_K, __NR_utimensat, 0, 5);
	I(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
	J(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3);
	I(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4);
	J(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
	I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* From our own text: the translator's calls. */
	I(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4);
	J(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(lo >> 32), 0, 4);
	I(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer));
	J(BPF_JMP | BPF_JGE | BPF_K, (unsigned)lo, 0, 2);
	J(BPF_JMP | BPF_JGE | BPF_K, (unsigned)hi, 1, 0);
	I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	I(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
#undef I
#undef J

	struct sock_fprog prog = {(unsigned short)n, f};
	long r = sys5(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (r < 0)
		return (int)r;
	/* SPEC_ALLOW: a filter otherwise turns on the speculative-store-bypass
	 * mitigation for the whole process, which slows the guest down. */
	r = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, (long)&prog);
	if (r == -EINVAL)
		r = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog);
	return (int)r;
}

/* ---- the guest's own filters ------------------------------------------------ */

extern char text_lo[] __asm__("__executable_start") __attribute__((visibility("hidden")));
extern char text_hi[] __asm__("etext") __attribute__((visibility("hidden")));

/* In front of the guest's program: ALLOW for a call from our text, then
 * A = 0 as the kernel starts a program with (X is left as it was: 0). */
#define PRE 7

/* A RET K of the guest's program, as explained in pico.h. */
static unsigned rewrite_ret(unsigned k)
{
	unsigned action = k & SECCOMP_RET_ACTION_FULL, data = k & SECCOMP_RET_DATA;
	if (action == SECCOMP_RET_ERRNO)
		return SECCOMP_RET_TRAP | PICO_GUEST_ERRNO | (data > 4095 ? 4095 : data);
	if (action == SECCOMP_RET_TRAP)
		return SECCOMP_RET_TRAP | (data == 0 || data >= PICO_GUEST_TRAP0 ? PICO_GUEST_TRAP0 : data);
	return k;
}

long pico_guest_seccomp(long op, long flags, const void *uargs)
{
	struct sock_fprog fp;
	unsigned long lo = (unsigned long)text_lo, hi = (unsigned long)text_hi;
	if (op != SECCOMP_SET_MODE_FILTER)
		return sys3(__NR_seccomp, op, flags, (long)uargs);
	if (pico_ucopy(&fp, uargs, sizeof fp))
		return -EFAULT;
	if (fp.len == 0 || fp.len > BPF_MAXINSNS)
		return -EINVAL;
	/* The one program that cannot be rewritten: no room for ours. */
	if (fp.len + PRE > BPF_MAXINSNS)
		return -ENOMEM;
	unsigned long n = fp.len + PRE, bytes = (n * sizeof(struct sock_filter) + 4095) & ~4095UL;
	long m = sys6(__NR_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		return m;
	struct sock_filter *f = (struct sock_filter *)m;
	long r = -EFAULT;
	if (pico_ucopy(f + PRE, fp.filter, fp.len * sizeof(struct sock_filter)))
		goto out;
	/* Jumps are relative and the guest's program moves as a whole, so
	 * none needs adjusting; the kernel checks they stay inside it. */
	for (unsigned i = PRE; i < n; i++)
		if (f[i].code == (BPF_RET | BPF_K))
			f[i].k = rewrite_ret(f[i].k);
	f[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4);
	f[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(lo >> 32), 0, 4);
	f[2] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer));
	f[3] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)lo, 0, 2);
	f[4] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)hi, 1, 0);
	f[5] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[6] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
	struct sock_fprog np = {(unsigned short)n, f};
	r = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, (long)&np);
out:
	sys2(__NR_munmap, m, (long)bytes);
	return r;
}
