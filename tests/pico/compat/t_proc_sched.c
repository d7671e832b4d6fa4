#include "compat.h"

int main(void)
{
	cpu_set_t s;
	CHECK(sched_getaffinity(0,sizeof s,&s)==0 && CPU_COUNT(&s)>=1);
	CHECK(sched_yield()==0);
	CHECK(sched_getscheduler(0)==SCHED_OTHER);
	PASS();
}
