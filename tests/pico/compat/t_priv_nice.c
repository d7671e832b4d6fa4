#include "compat.h"

/* nice below the current one: root's is kept and read back (children
 * inherit it); an ordinary user's fails with EPERM. */
int main(void)
{
	errno = 0;
	int p = getpriority(PRIO_PROCESS, 0);
	CHECK(errno == 0);
	if (p == -20)
		PASS();
	errno = 0;
	int r = nice(-1);
	if (geteuid() != 0) {
		CHECK(r == -1 && errno == EPERM);
		CHECK(getpriority(PRIO_PROCESS, 0) == p);
		PASS();
	}
	CHECK(r == p - 1 && errno == 0);
	CHECK(getpriority(PRIO_PROCESS, 0) == p - 1);
	CHECK(setpriority(PRIO_PROCESS, (id_t)getpid(), -20) == 0);
	errno = 0;
	CHECK(getpriority(PRIO_PROCESS, 0) == -20 && errno == 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(getpriority(PRIO_PROCESS, 0) == -20);
		_exit(0);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* going up is the host's own */
	CHECK(setpriority(PRIO_PROCESS, 0, p) == 0);
	CHECK(getpriority(PRIO_PROCESS, 0) == p);
	PASS();
}
