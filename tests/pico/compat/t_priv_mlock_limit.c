#include "compat.h"

/* mlock beyond RLIMIT_MEMLOCK: root may; an ordinary user may not (unless
 * the limit allows it). An unmapped range fails for both. */
int main(void)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	size_t len = 64 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	int r = mlock(p, len);
	if (geteuid() == 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= len)
		CHECK(r == 0);
	else
		CHECK(r == -1 && (errno == ENOMEM || errno == EPERM));
	CHECK(munlock(p, len) == 0);
	CHECK(munmap(p + len / 2, len / 2) == 0);
	errno = 0;
	CHECK(mlock(p, len) == -1 && errno == ENOMEM);
	if (geteuid() == 0) {
		CHECK(mlockall(MCL_CURRENT) == 0);
		CHECK(munlockall() == 0);
	}
	PASS();
}
