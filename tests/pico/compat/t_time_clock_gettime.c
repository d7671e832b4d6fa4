#include "compat.h"

int main(void)
{
	struct timespec a,b;
	CHECK(clock_gettime(CLOCK_MONOTONIC,&a)==0);
	CHECK(clock_gettime(CLOCK_MONOTONIC,&b)==0);
	CHECK(b.tv_sec>a.tv_sec || (b.tv_sec==a.tv_sec && b.tv_nsec>=a.tv_nsec));
	CHECK(clock_gettime(CLOCK_REALTIME,&a)==0 && a.tv_sec>1600000000);
	PASS();
}
