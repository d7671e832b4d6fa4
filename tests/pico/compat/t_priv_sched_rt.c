#include "compat.h"

/* Real-time policies: root sets them and reads them back. */
int main(void)
{
	struct sched_param sp = {.sched_priority = 10};
	int r = sched_setscheduler(0, SCHED_FIFO, &sp);
	if (geteuid() != 0) {
		CHECK(r == 0 || errno == EPERM);
		PASS();
	}
	CHECK(r == 0);
	CHECK(sched_getscheduler(0) == SCHED_FIFO);
	memset(&sp, 0, sizeof sp);
	CHECK(sched_getparam(0, &sp) == 0 && sp.sched_priority == 10);
	sp.sched_priority = 20;
	CHECK(sched_setparam(0, &sp) == 0);
	sp.sched_priority = 0;
	CHECK(sched_getparam(getpid(), &sp) == 0 && sp.sched_priority == 20);
	sp.sched_priority = 100;
	errno = 0;
	CHECK(sched_setparam(0, &sp) == -1 && errno == EINVAL);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(sched_getscheduler(0) == SCHED_FIFO);
		_exit(0);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sp.sched_priority = 5;
	CHECK(sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) == 0);
	CHECK(sched_getscheduler(0) == (SCHED_RR | SCHED_RESET_ON_FORK));
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(sched_getscheduler(0) == SCHED_OTHER);
		_exit(0);
	}
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sp.sched_priority = 0;
	CHECK(sched_setscheduler(0, SCHED_OTHER, &sp) == 0);
	CHECK(sched_getscheduler(0) == SCHED_OTHER);
	PASS();
}
