/*
 * syscall_filter.c - see syscall_filter.h: loading a thread's seccomp
 * allowlist and reporting a call that is not on it.
 *
 * A forbidden call raises SIGSYS; the handler writes one line naming the
 * program, the thread and the call on stderr (the program's log) and ends
 * the process: such a call is a bug or a guest that took a thread over,
 * and neither may go on.
 */
#include "common/syscall_filter.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * What the SIGSYS handler reads. A signal handler gets no argument of ours,
 * so these are globals: filled once before any thread starts and only read
 * afterwards; the label and exit code are per thread.
 */
#define NAMED_CALLS 512
static char call_names[NAMED_CALLS][24];
static const char *report_prog = "lxs", *report_advice = "";
static _Thread_local const char *thread_label;
static _Thread_local int thread_exit_code = 125;

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
	char msg[512];
	size_t n = 0;
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < NAMED_CALLS && call_names[nr][0] ? call_names[nr] : "?";

	(void)sig;
	(void)uc;
	n = append(msg, n, sizeof(msg), report_prog);
	n = append(msg, n, sizeof(msg), ": sandbox: the ");
	n = append(msg, n, sizeof(msg), thread_label ? thread_label : "unconfined");
	n = append(msg, n, sizeof(msg), " thread made the forbidden system call ");
	n = append(msg, n, sizeof(msg), name);
	n = append(msg, n, sizeof(msg), " (");
	n = append_num(msg, n, sizeof(msg), nr);
	n = append(msg, n, sizeof(msg), "), so ");
	n = append(msg, n, sizeof(msg), report_prog);
	n = append(msg, n, sizeof(msg), " stops here: this is a bug in ");
	n = append(msg, n, sizeof(msg), report_prog);
	n = append(msg, n, sizeof(msg), " or an attack by the guest; report it with this log");
	n = append(msg, n, sizeof(msg), report_advice);
	n = append(msg, n, sizeof(msg), "\n");
	if (write(STDERR_FILENO, msg, n) < 0) {
	}
	syscall(SYS_exit_group, thread_exit_code);
}

int filter_prepare(const char *prog, const char *advice)
{
	struct sigaction sa = {.sa_sigaction = on_forbidden_call, .sa_flags = SA_SIGINFO};

	report_prog = prog;
	report_advice = advice;
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

static int add_rules(scmp_filter_ctx ctx, const struct filter_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = r[i].nargs ? seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r[i].nr,
							      r[i].nargs, r[i].arg)
				     : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int filter_enter(const struct filter_list *lists, size_t n, const char *label, int exit_code)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int ret;

	if (!ctx)
		return -ENOMEM;
	/*
	 * The filter runs on every call of the thread (KVM_RUN included in
	 * lxs-vm): a binary search over the call numbers instead of a list, and
	 * no speculative-store-bypass mitigation forced on the thread (the
	 * kernel's default for other processes holds).
	 */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = add_rules(ctx, lists[i].rules, lists[i].n);
	/* libseccomp sets NO_NEW_PRIVS itself before it loads (SCMP_FLTATR_CTL_NNP). */
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret < 0)
		return ret;
	thread_label = label;
	thread_exit_code = exit_code;
	return 0;
}
