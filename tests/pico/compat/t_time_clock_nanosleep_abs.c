#include "compat.h"

int main(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC,&t);
	t.tv_nsec+=10000000;
	if(t.tv_nsec>=1000000000){t.tv_sec++;t.tv_nsec-=1000000000;} CHECK(clock_nanosleep(CLOCK_MONOTONIC,TIMER_ABSTIME,&t,0)==0);
	PASS();
}
