#include "compat.h"
static volatile int got; static void h(int s){ (void)s; got=1; }

int main(void)
{
	signal(SIGALRM,h);
	timer_t id;
	CHECK(timer_create(CLOCK_MONOTONIC,0,&id)==0);
	struct itimerspec it={{0,0},{0,10000000}};
	CHECK(timer_settime(id,0,&it,0)==0);
	while(!got) pause();
	CHECK(timer_delete(id)==0);
	PASS();
}
