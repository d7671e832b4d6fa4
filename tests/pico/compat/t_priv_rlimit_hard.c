#include "compat.h"
#include <sys/resource.h>

/* A hard limit raised again: root may, and reads back what it set (and
 * so do its children); an ordinary user may not. */
int main(void)
{
	struct rlimit rl = {0, 0}, got;
	CHECK(setrlimit(RLIMIT_CORE, &rl) == 0);
	rl.rlim_cur = 100, rl.rlim_max = 200;
	int r = setrlimit(RLIMIT_CORE, &rl);
	if (geteuid() != 0) {
		CHECK(r == -1 && errno == EPERM);
		PASS();
	}
	CHECK(r == 0);
	CHECK(getrlimit(RLIMIT_CORE, &got) == 0 && got.rlim_cur == 100 && got.rlim_max == 200);
	CHECK(prlimit(0, RLIMIT_CORE, NULL, &got) == 0 && got.rlim_cur == 100 && got.rlim_max == 200);
	rl.rlim_cur = RLIM_INFINITY, rl.rlim_max = RLIM_INFINITY;
	CHECK(prlimit(getpid(), RLIMIT_CORE, &rl, &got) == 0 && got.rlim_max == 200);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(getrlimit(RLIMIT_CORE, &got) == 0 && got.rlim_max == RLIM_INFINITY);
		_exit(0);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* soft above hard is EINVAL for root too */
	rl.rlim_cur = 300, rl.rlim_max = 200;
	errno = 0;
	CHECK(setrlimit(RLIMIT_CORE, &rl) == -1 && errno == EINVAL);
	/* lowering is the host's own, and what it says is then read back */
	rl.rlim_cur = 0, rl.rlim_max = 0;
	CHECK(setrlimit(RLIMIT_CORE, &rl) == 0);
	CHECK(getrlimit(RLIMIT_CORE, &got) == 0 && got.rlim_cur == 0 && got.rlim_max == 0);
	PASS();
}
