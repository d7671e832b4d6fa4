/*
 * filter.c - the seccomp filter, and the checks that keep the guest from
 * replacing the translator's pages. System calls in `passthrough` run
 * natively from anywhere (they are decided on the number alone, so the
 * kernel caches them in its per-syscall bitmap and they cost nothing extra).
 * Any other call runs natively only when made from the loader's own text
 * (the translator re-issuing a translated call); from the guest it raises
 * SIGSYS, and the handler translates it or answers ENOSYS. An allow-list
 * rather than a trap-list means a system call added to Linux after this was
 * written is never passed through untranslated.
 *
 * The calls that can unmap, remap, reprotect or replace pages (mmap with
 * MAP_FIXED or MAP_FIXED_NOREPLACE, mprotect, pkey_mprotect, munmap, mremap,
 * madvise, shmat with SHM_REMAP, process_madvise) must not reach the
 * translator's image. Where the image is sealed (mseal, Linux 6.10: see
 * loader.c, seal_image) the kernel refuses all but madvise and
 * process_madvise, and they pass on the number like the rest. The others
 * are looked at first: the filter compares
 * the 32-bit halves of their address and length with the image and passes
 * at once every call that cannot reach it (those of ordinary programs:
 * their addresses lie above the image or far below it). A call that might
 * reach it traps, and pico_guard_call decides on the exact range: EPERM if
 * it overlaps the image, else it is re-issued.
 */
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <linux/audit.h>
#include <linux/prctl.h>
#include <linux/errno.h>
#include <linux/mman.h>
#include <linux/ipc.h>
#include <linux/shm.h>
#include <stddef.h>

#include "pico.h"
#include "sys.h"

/* Calls newer than the headers this is built with. */
#define NR_cachestat         451
#define NR_map_shadow_stack  453
#define NR_futex_wake        454
#define NR_futex_wait        455
#define NR_futex_requeue     456
#define NR_statmount         457
#define NR_listmount         458
#define NR_lsm_get_self_attr 459
#define NR_lsm_list_modules  461
#define NR_mseal             462

/* What needs no translation: no paths, no identities, no signal dispositions,
 * nothing the faked root is answered for as root (privilege.c), no other
 * process (those are pidview.c's: the distro sees only its own).
 * The calls that can unmap or replace pages are not here: pico_install_filter.
 * Some act on a file descriptor the guest opened through the translator
 * (landlock rules, cachestat) or on its own memory (mseal: the image's own
 * sealing is done by the loader; remap_file_pages works only inside a
 * shared file mapping, which the image is not). The key calls reach the
 * host user's keyrings, as every process of that user can. setns takes a
 * namespace the guest opened, through /proc/<pid>/ns of one of its own
 * processes (pidview.c) or a pidfd of one. */
static const unsigned short passthrough[] = {
    __NR_read,
    __NR_write,
    __NR_close,
    __NR_poll,
    __NR_lseek,
    __NR_brk,
    __NR_rt_sigreturn,
    __NR_ioctl,
    __NR_pread64,
    __NR_pwrite64,
    __NR_readv,
    __NR_writev,
    __NR_pipe,
    __NR_select,
    __NR_sched_yield,
    __NR_msync,
    __NR_mincore,
    __NR_shmget,
    __NR_dup,
    __NR_dup2,
    __NR_pause,
    __NR_nanosleep,
    __NR_getitimer,
    __NR_alarm,
    __NR_setitimer,
    __NR_getpid,
    __NR_sendfile,
    __NR_socket,
    __NR_accept,
    __NR_sendto,
    __NR_recvfrom,
    __NR_sendmsg,
    __NR_recvmsg,
    __NR_shutdown,
    __NR_listen,
    __NR_getsockname,
    __NR_getpeername,
    __NR_socketpair,
    __NR_setsockopt,
    __NR_getsockopt,
    __NR_clone,
    __NR_fork,
    __NR_vfork,
    __NR_exit,
    __NR_wait4,
    __NR_uname,
    __NR_semget,
    __NR_semop,
    __NR_shmdt,
    __NR_msgget,
    __NR_msgsnd,
    __NR_msgrcv,
    __NR_fcntl,
    __NR_flock,
    __NR_fsync,
    __NR_fdatasync,
    __NR_ftruncate,
    __NR_gettimeofday,
    __NR_getrusage,
    __NR_sysinfo,
    __NR_times,
    __NR_getppid,
    __NR_getpgrp,
    __NR_setsid,
    __NR_rt_sigpending,
    __NR_rt_sigtimedwait,
    __NR_sigaltstack,
    __NR_personality,
    __NR_fstatfs,
    __NR_sched_get_priority_max,
    __NR_sched_get_priority_min,
    __NR_munlock,
    __NR_munlockall,
    __NR_arch_prctl,
    __NR_sync,
    __NR_gettid,
    __NR_readahead,
    __NR_time,
    __NR_futex,
    __NR_io_setup,
    __NR_io_destroy,
    __NR_io_getevents,
    __NR_io_submit,
    __NR_io_cancel,
    __NR_set_tid_address,
    __NR_restart_syscall,
    __NR_semtimedop,
    __NR_fadvise64,
    __NR_timer_create,
    __NR_timer_settime,
    __NR_timer_gettime,
    __NR_timer_getoverrun,
    __NR_timer_delete,
    __NR_clock_settime,
    __NR_clock_gettime,
    __NR_clock_getres,
    __NR_clock_nanosleep,
    __NR_exit_group,
    __NR_epoll_wait,
    __NR_epoll_ctl,
    __NR_mbind,
    __NR_set_mempolicy,
    __NR_get_mempolicy,
    __NR_mq_open,
    __NR_mq_unlink,
    __NR_mq_timedsend,
    __NR_mq_timedreceive,
    __NR_mq_notify,
    __NR_mq_getsetattr,
    __NR_waitid,
    __NR_inotify_init,
    __NR_inotify_rm_watch,
    __NR_pselect6,
    __NR_ppoll,
    __NR_unshare,
    __NR_set_robust_list,
    __NR_splice,
    __NR_tee,
    __NR_sync_file_range,
    __NR_vmsplice,
    __NR_epoll_pwait,
    __NR_signalfd,
    __NR_timerfd_create,
    __NR_eventfd,
    __NR_fallocate,
    __NR_timerfd_settime,
    __NR_timerfd_gettime,
    __NR_accept4,
    __NR_signalfd4,
    __NR_eventfd2,
    __NR_epoll_create,
    __NR_epoll_create1,
    __NR_dup3,
    __NR_pipe2,
    __NR_inotify_init1,
    __NR_preadv,
    __NR_pwritev,
    __NR_recvmmsg,
    __NR_syncfs,
    __NR_sendmmsg,
    __NR_getcpu,
    __NR_getrandom,
    __NR_memfd_create,
    __NR_membarrier,
    __NR_copy_file_range,
    __NR_preadv2,
    __NR_pwritev2,
    __NR_pkey_alloc,
    __NR_pkey_free,
    __NR_rseq,
    __NR_pidfd_send_signal,
    __NR_close_range,
    __NR_pidfd_getfd,
    __NR_epoll_pwait2,
    __NR_futex_waitv,
    __NR_set_mempolicy_home_node,
    __NR_ustat,
    __NR_sysfs,
    __NR_memfd_secret,
    __NR_process_mrelease,
    __NR_landlock_create_ruleset,
    __NR_landlock_add_rule,
    __NR_add_key,
    __NR_request_key,
    __NR_keyctl,
    __NR_remap_file_pages,
    __NR_io_pgetevents,
    NR_cachestat,
    NR_map_shadow_stack,
    NR_futex_wake,
    NR_futex_wait,
    NR_futex_requeue,
    NR_mseal,
    NR_statmount,
    NR_listmount,
    NR_lsm_get_self_attr,
    NR_lsm_list_modules,
    __NR_setns,
};

#define MAXF 1024

extern char text_lo[] __asm__("__executable_start") __attribute__((visibility("hidden")));
extern char text_hi[] __asm__("etext") __attribute__((visibility("hidden")));
extern char image_lo[] __asm__("__ehdr_start") __attribute__((visibility("hidden")));
extern char image_hi[] __asm__("_end") __attribute__((visibility("hidden")));

#define PAGE       4096UL
#define SHMLBA_X86 PAGE

/* The translator's whole image (headers, text, rodata, data, bss) as it is
 * mapped: what no guest call may unmap, remap, reprotect or replace. */
static unsigned long img_lo(void)
{
	return (unsigned long)image_lo & ~(PAGE - 1);
}

static unsigned long img_hi(void)
{
	return ((unsigned long)image_hi + PAGE - 1) & ~(PAGE - 1);
}

void pico_image(unsigned long *lo, unsigned long *hi)
{
	*lo = img_lo();
	*hi = img_hi();
}

enum {
	L_ALLOW,
	L_TRAP,
	L_SUSPECT,
	L_REST,
	L_MMAP,
	L_RANGE01,
	L_MREMAP2,
	L_MREMAP3,
	L_MREMAP4,
	L_SHMAT,
	L_PMADV,
	L_GETDENTS,
	L_UTIMENSAT,
	L_PIDS,
	L_PTRACE,
	L_PERF,
	L_IOPRIO,
	L_PID00,
	L_PID1,
	L_PID0,
	L_PALLOW,
	L_OURS,
	L_TRAP2,
	NLAB
};

/* A program under construction, with forward jumps to labels: conditional
 * jumps reach 255 instructions ahead, BPF_JA any distance. */
struct prog {
	struct sock_filter f[MAXF];
	unsigned n, at[NLAB];
	signed char jt[MAXF], jf[MAXF]; /* a label, NEXT or SKIP1 */
	int ja[MAXF];                   /* label of a BPF_JA, or -1 */
};

#define NEXT  (-1) /* the next instruction */
#define SKIP1 (-2) /* the one after */

static void op(struct prog *p, unsigned short code, unsigned k)
{
	p->jt[p->n] = p->jf[p->n] = NEXT;
	p->ja[p->n] = -1;
	p->f[p->n++] = (struct sock_filter)BPF_STMT(code, k);
}

static void jmp(struct prog *p, unsigned short code, unsigned k, int lt, int lf)
{
	op(p, BPF_JMP | code | BPF_K, k);
	p->jt[p->n - 1] = (signed char)lt;
	p->jf[p->n - 1] = (signed char)lf;
}

static void ja(struct prog *p, int l)
{
	op(p, BPF_JMP | BPF_JA, 0);
	p->ja[p->n - 1] = l;
}

static void here(struct prog *p, int l)
{
	p->at[l] = p->n;
}

/* A call from our own text [lo, hi) goes on to `ours`, any other to `trap`
 * (cBPF jumps only forward, so each part of the program has its own copy). */
static void own_text(struct prog *p, unsigned long lo, unsigned long hi, int ours, int trap)
{
	op(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4);
	jmp(p, BPF_JEQ, (unsigned)(lo >> 32), NEXT, trap);
	op(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer));
	jmp(p, BPF_JGE, (unsigned)lo, NEXT, trap);
	jmp(p, BPF_JGE, (unsigned)hi, trap, ours);
}

static int link_prog(struct prog *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		if (p->ja[i] >= 0)
			p->f[i].k = p->at[p->ja[i]] - i - 1;
		unsigned t = p->jt[i] < 0 ? (unsigned)(-1 - p->jt[i]) : p->at[p->jt[i]] - i - 1;
		unsigned e = p->jf[i] < 0 ? (unsigned)(-1 - p->jf[i]) : p->at[p->jf[i]] - i - 1;
		if (t > 255 || e > 255)
			return -E2BIG;
		if (BPF_CLASS(p->f[i].code) == BPF_JMP && BPF_OP(p->f[i].code) != BPF_JA)
			p->f[i].jt = (unsigned char)t, p->f[i].jf = (unsigned char)e;
	}
	return 0;
}

#define ARG_LO(i) (offsetof(struct seccomp_data, args[i]))
#define ARG_HI(i) (offsetof(struct seccomp_data, args[i]) + 4)

/*
 * Can [args[a], args[a] + args[l]) reach the image? Only 32-bit halves can
 * be compared. With ah, lh the high halves of address and length and H
 * that of the image (which never crosses a 4 GiB boundary): lh >= H might
 * (a length of 17 TiB or more; every range that wraps past 2^64 onto the
 * image has one, so none is read as lying above or below it); then an
 * address above H's 4 GiB cannot, one inside it might, and one below might
 * only if ah + lh >= H - 1, because a + len < (ah + lh + 2) << 32 (no
 * overflow: both are below H). Ordinary programs' calls pass after the
 * first two comparisons.
 */
static void may_reach(struct prog *p, unsigned h, int a, int l, int ok)
{
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_HI(l));
	jmp(p, BPF_JGE, h, L_SUSPECT, NEXT);
	op(p, BPF_MISC | BPF_TAX, 0);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_HI(a));
	jmp(p, BPF_JGT, h, ok, NEXT);
	jmp(p, BPF_JEQ, h, L_SUSPECT, NEXT);
	op(p, BPF_ALU | BPF_ADD | BPF_X, 0);
	jmp(p, BPF_JGE, h - 1, L_SUSPECT, ok);
}

/* Calls that name a process and mean the caller when that pid is 0
 * (those privilege.c answers for the faked root always trap: the
 * scheduler's policy and parameters, priorities, limits). */
static const unsigned short self0[] = {
    __NR_sched_rr_get_interval,
    __NR_sched_setaffinity,
    __NR_sched_getaffinity,
    __NR_getpgid,
    __NR_getsid,
    __NR_get_robust_list,
};

/* Calls that need no look at their arguments when the image is sealed. */
static const unsigned short memcalls[] = {
    __NR_mmap, __NR_munmap, __NR_mprotect, __NR_pkey_mprotect, __NR_mremap, __NR_shmat,
};

int pico_install_filter(int sealed)
{
	static struct prog prog;
	struct prog *p = &prog;
	const unsigned np = sizeof passthrough / sizeof passthrough[0];
	unsigned long lo = (unsigned long)text_lo, hi = (unsigned long)text_hi;
	unsigned h = (unsigned)(img_lo() >> 32);

	if ((lo >> 32) != ((hi - 1) >> 32) || h != (unsigned)((img_hi() - 1) >> 32) || h < 2)
		return -ERANGE;
	p->n = 0;
	op(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	jmp(p, BPF_JEQ, AUDIT_ARCH_X86_64, SKIP1, NEXT);
	op(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	op(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/* Sealed, the kernel refuses the others over the image itself; madvise
	 * it lets through over a file mapping (the text), MADV_DONTFORK too. */
	jmp(p, BPF_JEQ, __NR_madvise, L_RANGE01, NEXT);
	jmp(p, BPF_JEQ, __NR_process_madvise, L_PMADV, NEXT);
	jmp(p, BPF_JEQ, __NR_getdents64, L_GETDENTS, NEXT);
	if (!sealed) {
		jmp(p, BPF_JEQ, __NR_mmap, L_MMAP, NEXT);
		jmp(p, BPF_JEQ, __NR_munmap, L_RANGE01, NEXT);
		jmp(p, BPF_JEQ, __NR_mprotect, L_RANGE01, NEXT);
		jmp(p, BPF_JEQ, __NR_pkey_mprotect, L_RANGE01, NEXT);
		jmp(p, BPF_JEQ, __NR_mremap, L_MREMAP2, NEXT);
		jmp(p, BPF_JEQ, __NR_shmat, L_SHMAT, NEXT);
	}
	ja(p, L_REST);

	/* mmap: only MAP_FIXED and MAP_FIXED_NOREPLACE choose the address;
	 * a hint never takes pages that are mapped. */
	here(p, L_MMAP);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(3));
	jmp(p, BPF_JSET, MAP_FIXED | MAP_FIXED_NOREPLACE, L_RANGE01, L_ALLOW);
	here(p, L_RANGE01);
	may_reach(p, h, 0, 1, L_ALLOW);
	/* mremap: the old range at its old and its new length (growing in
	 * place), and with MREMAP_FIXED the new range. */
	here(p, L_MREMAP2);
	may_reach(p, h, 0, 1, L_MREMAP3);
	here(p, L_MREMAP3);
	may_reach(p, h, 0, 2, L_MREMAP4);
	here(p, L_MREMAP4);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(3));
	jmp(p, BPF_JSET, MREMAP_FIXED, NEXT, L_ALLOW);
	may_reach(p, h, 4, 2, L_ALLOW);
	/* shmat replaces pages only with SHM_REMAP (else it fails over a
	 * mapping); the segment's size is not in the arguments. */
	here(p, L_SHMAT);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(2));
	jmp(p, BPF_JSET, SHM_REMAP, NEXT, L_ALLOW);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_HI(1));
	jmp(p, BPF_JGT, h, L_ALLOW, L_SUSPECT);
	/* process_madvise: the advice another process may be given (these
	 * change no contents) passes; for the rest, on ourselves since Linux
	 * 6.13, the ranges are in memory the filter cannot read. */
	here(p, L_PMADV);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(3));
	jmp(p, BPF_JEQ, MADV_WILLNEED, L_ALLOW, NEXT);
	jmp(p, BPF_JEQ, MADV_COLD, L_ALLOW, NEXT);
	jmp(p, BPF_JEQ, MADV_PAGEOUT, L_ALLOW, NEXT);
	jmp(p, BPF_JEQ, MADV_COLLAPSE, L_ALLOW, L_SUSPECT);

	/* getdents64 with glibc's buffer for an ordinary folder passes: /proc
	 * is listed through the handler (pidview.c), and glibc's opendir
	 * sizes its buffer from st_blksize, which fstat on /proc's fd answers
	 * with PICO_PROC_BLKSIZE. (The count is an unsigned int.) */
	here(p, L_GETDENTS);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(2));
	jmp(p, BPF_JEQ, PICO_DIRBUF_FAST, L_ALLOW, L_SUSPECT);

	/* From our own text: the translator's calls. */
	here(p, L_SUSPECT);
	own_text(p, lo, hi, L_ALLOW, L_TRAP);
	here(p, L_ALLOW);
	op(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	here(p, L_TRAP);
	op(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);

	/* Everything else. Jumps go forward only, so this part has its own
	 * ALLOW after each number and its own test of our text at the end. */
	here(p, L_REST);
	op(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < np; i++) {
		jmp(p, BPF_JEQ, passthrough[i], NEXT, SKIP1);
		op(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	for (unsigned i = 0; sealed && i < sizeof memcalls / sizeof memcalls[0]; i++) {
		jmp(p, BPF_JEQ, memcalls[i], NEXT, SKIP1);
		op(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	/* prctl but PR_SET_SECCOMP (a guest filter: pico_guest_seccomp) and
	 * the options kept for the guest (pico_prctl). */
	jmp(p, BPF_JEQ, __NR_prctl, NEXT, L_UTIMENSAT);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	jmp(p, BPF_JEQ, PR_SET_SECCOMP, L_OURS, NEXT);
	jmp(p, BPF_JEQ, PR_CAPBSET_READ, L_OURS, NEXT);
	jmp(p, BPF_JEQ, PR_CAPBSET_DROP, L_OURS, NEXT);
	jmp(p, BPF_JEQ, PR_SET_NO_NEW_PRIVS, L_OURS, NEXT);
	jmp(p, BPF_JEQ, PR_GET_NO_NEW_PRIVS, L_OURS, NEXT);
	op(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* utimensat(fd, NULL, ...) is futimens: nothing to translate, and
	 * tar calls it for every file. */
	here(p, L_UTIMENSAT);
	jmp(p, BPF_JEQ, __NR_utimensat, NEXT, L_PIDS);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1));
	jmp(p, BPF_JEQ, 0, NEXT, L_OURS);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_HI(1));
	jmp(p, BPF_JEQ, 0, NEXT, L_OURS);
	op(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* Calls that name a process (pidview.c): the caller itself (pid 0,
	 * a pid_t: the low half) passes; so do ptrace requests on a tracee
	 * already attached, and perf_event_open on oneself or on a CPU. */
	here(p, L_PIDS);
	for (unsigned i = 0; i < sizeof self0 / sizeof self0[0]; i++)
		jmp(p, BPF_JEQ, self0[i], L_PID0, NEXT);
	jmp(p, BPF_JEQ, __NR_setpgid, L_PID00, NEXT); /* setpgid(0, 0) */
	jmp(p, BPF_JEQ, __NR_ioprio_get, L_IOPRIO, NEXT);
	jmp(p, BPF_JEQ, __NR_ioprio_set, L_IOPRIO, NEXT);
	jmp(p, BPF_JEQ, __NR_perf_event_open, L_PERF, NEXT);
	jmp(p, BPF_JEQ, __NR_ptrace, L_PTRACE, L_OURS);
	here(p, L_PTRACE);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	jmp(p, BPF_JEQ, 16 /* PTRACE_ATTACH */, L_OURS, NEXT);
	jmp(p, BPF_JEQ, 0x4206 /* PTRACE_SEIZE */, L_OURS, L_PALLOW);
	here(p, L_PERF);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1));
	jmp(p, BPF_JEQ, 0, L_PALLOW, NEXT);
	jmp(p, BPF_JEQ, 0xffffffffu, L_PALLOW, L_OURS);
	here(p, L_IOPRIO);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	jmp(p, BPF_JEQ, 1 /* IOPRIO_WHO_PROCESS */, L_PID1, L_OURS);
	here(p, L_PID00);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	jmp(p, BPF_JEQ, 0, L_PID1, L_OURS);
	here(p, L_PID1);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1));
	jmp(p, BPF_JEQ, 0, L_PALLOW, L_OURS);
	here(p, L_PID0);
	op(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	jmp(p, BPF_JEQ, 0, L_PALLOW, L_OURS);
	here(p, L_PALLOW);
	op(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* From our own text: the translator's calls. */
	here(p, L_OURS);
	own_text(p, lo, hi, NEXT, L_TRAP2);
	op(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	here(p, L_TRAP2);
	op(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);

	long r = link_prog(p);
	if (r < 0)
		return (int)r;
	struct sock_fprog fp = {(unsigned short)p->n, p->f};
	r = sys5(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (r < 0)
		return (int)r;
	/* SPEC_ALLOW: a filter otherwise turns on the speculative-store-bypass
	 * mitigation for the whole process, which slows the guest down. */
	r = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, (long)&fp);
	if (r == -EINVAL)
		r = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&fp);
	return (int)r;
}

/* ---- calls the filter sent here because they might reach the image ---------- */

/* Whether [a, a + len) (len rounded up to pages, as the kernel does) meets
 * the image. A range that wraps past 2^64 counts as meeting it: the kernel
 * refuses those itself (EINVAL, ENOMEM), so only the errno differs, and
 * none is ever read as lying beside the image. */
static int hits_image(unsigned long a, unsigned long len)
{
	unsigned long end;
	if (len == 0)
		return 0;
	if (__builtin_add_overflow(a, len, &end) || end > ~0UL - (PAGE - 1))
		return 1;
	end = (end + PAGE - 1) & ~(PAGE - 1);
	return (a & ~(PAGE - 1)) < img_hi() && end > img_lo();
}

/* madvise advice that changes neither contents nor what fork copies. */
static int harmless_advice(long adv)
{
	switch (adv) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_POPULATE_READ:
	case MADV_COLLAPSE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
		return 1;
	}
	return 0;
}

struct kiovec {
	unsigned long base, len;
};

/* process_madvise: the guest's vector is copied (another thread could
 * change it between our look and the kernel's), looked at and passed on,
 * a piece at a time; the kernel stops at the first failure as we do. */
static long guard_process_madvise(const long *a)
{
	struct kiovec v[32];
	unsigned long n = (unsigned long)a[2], done = 0;
	long total = 0;
	if (n > 1024)
		return -EINVAL;
	while (done < n) {
		unsigned long k = n - done > 32 ? 32 : n - done;
		unsigned long want = 0;
		if (pico_ucopy(v, (const struct kiovec *)a[1] + done, k * sizeof v[0]))
			return total ? total : -EFAULT;
		for (unsigned long i = 0; i < k; i++) {
			if (hits_image(v[i].base, v[i].len))
				return total ? total : -EPERM;
			want += v[i].len;
		}
		long r = sys5(__NR_process_madvise, a[0], (long)v, (long)k, a[3], a[4]);
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((unsigned long)r < want)
			break;
		done += k;
	}
	return total;
}

long pico_guard_call(long nr, const long *a)
{
	unsigned long addr = (unsigned long)a[0];
	int hit;
	switch (nr) {
	case __NR_mmap:
		hit = (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
		      hits_image(addr, (unsigned long)a[1]);
		break;
	case __NR_munmap:
	case __NR_mprotect:
	case __NR_pkey_mprotect:
		hit = hits_image(addr, (unsigned long)a[1]);
		break;
	case __NR_madvise:
		hit = !harmless_advice(a[2]) && hits_image(addr, (unsigned long)a[1]);
		break;
	case __NR_mremap:
		hit =
		    hits_image(addr, (unsigned long)a[1]) ||
		    hits_image(addr, (unsigned long)a[2]) ||
		    ((a[3] & MREMAP_FIXED) && hits_image((unsigned long)a[4], (unsigned long)a[2]));
		break;
	case __NR_shmat: {
		struct shmid64_ds ds;
		unsigned long at = (unsigned long)a[1];
		if (a[2] & SHM_RND)
			at &= ~(SHMLBA_X86 - 1);
		long r = sys3(__NR_shmctl, a[0], IPC_STAT, (long)&ds);
		/* No size (no such segment, no permission): shmat fails too. */
		hit = r == 0 ? hits_image(at, ds.shm_segsz) : 0;
		break;
	}
	case __NR_process_madvise:
		return guard_process_madvise(a);
	default:
		return PICO_NOT_GUARDED;
	}
	if (hit)
		return -EPERM;
	return sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- the guest's own filters ------------------------------------------------ */

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
		return SECCOMP_RET_TRAP |
		       (data == 0 || data >= PICO_GUEST_TRAP0 ? PICO_GUEST_TRAP0 : data);
	return k;
}

/* Installs the program f of n instructions, whose first PRE are left for
 * the prefix that lets the translator's own calls through. */
static long install_guest_program(struct sock_filter *f, unsigned long n, long flags)
{
	unsigned long lo = (unsigned long)text_lo, hi = (unsigned long)text_hi;
	f[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					    offsetof(struct seccomp_data, instruction_pointer) + 4);
	f[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(lo >> 32), 0, 4);
	f[2] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					    offsetof(struct seccomp_data, instruction_pointer));
	f[3] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)lo, 0, 2);
	f[4] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)hi, 1, 0);
	f[5] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[6] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
	struct sock_fprog np = {(unsigned short)n, f};
	return sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, (long)&np);
}

/* Strict mode cannot go on top of our filter; the same rule as a filter:
 * read, write, exit and rt_sigreturn, and for anything else a trap that
 * the handler turns into SIGKILL, as strict mode's end is. */
static long guest_strict(long flags, const void *uargs)
{
	if (flags || uargs)
		return -EINVAL;
	struct sock_filter f[PRE + 7] = {
	    [PRE] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    [PRE + 1] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_read, 4, 0),
	    [PRE + 2] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 3, 0),
	    [PRE + 3] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 2, 0),
	    [PRE + 4] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigreturn, 1, 0),
	    [PRE + 5] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | PICO_GUEST_STRICT),
	    [PRE + 6] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	return install_guest_program(f, PRE + 7, 0);
}

long pico_guest_seccomp(long op, long flags, const void *uargs)
{
	struct sock_fprog fp;
	if (op == SECCOMP_SET_MODE_STRICT)
		return guest_strict(flags, uargs);
	if (op != SECCOMP_SET_MODE_FILTER)
		return sys3(__NR_seccomp, op, flags, (long)uargs);
	if (pico_ucopy(&fp, uargs, sizeof fp))
		return -EFAULT;
	if (!pico_may_confine())
		return -EACCES;
	if (fp.len == 0 || fp.len > BPF_MAXINSNS)
		return -EINVAL;
	/* The one program that cannot be rewritten: no room for ours. */
	if (fp.len + PRE > BPF_MAXINSNS)
		return -ENOMEM;
	unsigned long n = fp.len + PRE, bytes = (n * sizeof(struct sock_filter) + 4095) & ~4095UL;
	long m = sys6(__NR_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
	r = install_guest_program(f, n, flags);
out:
	sys2(__NR_munmap, m, (long)bytes);
	return r;
}
