/*
 * syscall_filter.h - seccomp allowlists for lxs's host programs that parse
 * what a guest sends (lxs-vm's threads, lxs-net): the rule type and macros
 * the lists are written with, loading a thread's filter through libseccomp,
 * and the SIGSYS report of a call that is not on it. Each program keeps its
 * own lists, with the reason for each call, next to its code.
 */
#ifndef LXS_COMMON_SYSCALL_FILTER_H
#define LXS_COMMON_SYSCALL_FILTER_H
#include <seccomp.h>
#include <stddef.h>

/*
 * One allowed call: its number and up to two argument comparisons that
 * must all hold (nargs 0: any arguments). A call may appear on several
 * lines; any one that matches allows it.
 */
struct filter_rule {
	int nr;
	unsigned nargs;
	struct scmp_arg_cmp arg[2];
};

struct filter_list {
	const struct filter_rule *rules;
	size_t n;
};

#define ANY(call)                                                                                  \
	{                                                                                          \
		SCMP_SYS(call), 0,                                                                 \
		{                                                                                  \
			{                                                                          \
				0                                                                  \
			}                                                                          \
		}                                                                                  \
	}
#define ARG_EQ(i, v)                                                                               \
	{                                                                                          \
		.arg = (i), .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)(v)                        \
	}
/* (argument & mask) == 0 */
#define ARG_CLEAR(i, mask)                                                                         \
	{                                                                                          \
		.arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = 0              \
	}
#define IF1(call, a)                                                                               \
	{                                                                                          \
		SCMP_SYS(call), 1,                                                                 \
		{                                                                                  \
			a                                                                          \
		}                                                                                  \
	}
#define IF2(call, a, b)                                                                            \
	{                                                                                          \
		SCMP_SYS(call), 2,                                                                 \
		{                                                                                  \
			a, b                                                                       \
		}                                                                                  \
	}
#define IOCTL(req) IF1(ioctl, ARG_EQ(1, req))
#define RULES(list)                                                                                \
	{                                                                                          \
		list, sizeof(list) / sizeof(list[0])                                               \
	}

/*
 * Once, before any thread exists: install the SIGSYS handler and the table
 * of call names it reads (a signal handler cannot look them up). prog names
 * the program in the report, advice ends it (what to do). Both must stay
 * valid for the life of the process. Returns 0 or -errno.
 */
int filter_prepare(const char *prog, const char *advice);

/*
 * In the thread itself: load a filter allowing the calls of lists[0, n)
 * (with NO_NEW_PRIVS; everything else raises SIGSYS, reported as made by
 * "the <label> thread", after which the process exits with exit_code).
 * Irreversible; -errno if the filter cannot be loaded, in which case the
 * caller must not go on unconfined.
 */
int filter_enter(const struct filter_list *lists, size_t n, const char *label, int exit_code);
#endif
