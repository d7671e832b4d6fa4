/*
 * unit.h - the whole unit-test framework: each test binary runs its cases and
 * prints one TAP-style line per case ("ok - name" / "not ok - name: why"),
 * which tests/run-unit.sh counts. A case fails on its first failed CHECK.
 *
 *   static void t_something(struct unit *u) { CHECK(u, 1 + 1 == 2); }
 *   int main(void) { struct unit u = {0}; RUN(&u, t_something); return unit_done(&u); }
 */
#ifndef LXS_UNIT_H
#define LXS_UNIT_H

#include <stdio.h>

struct unit {
	int failed_cases, passed_cases;
	int case_failed;
	char why[256];
};

#define CHECK(u, cond)                                                                       \
	do {                                                                                 \
		if (!(cond) && !(u)->case_failed) {                                          \
			(u)->case_failed = 1;                                                \
			snprintf((u)->why, sizeof((u)->why), "%s:%d: %s", __FILE__, __LINE__, #cond); \
		}                                                                            \
	} while (0)

#define RUN(u, fn)                                                                           \
	do {                                                                                 \
		(u)->case_failed = 0;                                                        \
		fn(u);                                                                       \
		if ((u)->case_failed) {                                                      \
			(u)->failed_cases++;                                                 \
			printf("not ok - %s: %s\n", #fn, (u)->why);                          \
		} else {                                                                     \
			(u)->passed_cases++;                                                 \
			printf("ok - %s\n", #fn);                                            \
		}                                                                            \
		fflush(stdout);                                                              \
	} while (0)

static inline int unit_done(struct unit *u)
{
	return u->failed_cases ? 1 : 0;
}

#endif
