#include "compat.h"

int main(void)
{
	struct timespec t;
	CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t)==0);
	CHECK(clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t)==0);
	CHECK(clock_gettime(CLOCK_BOOTTIME,&t)==0);
	CHECK(clock_getres(CLOCK_MONOTONIC,&t)==0);
	PASS();
}
