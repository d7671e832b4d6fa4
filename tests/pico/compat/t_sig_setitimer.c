#include "compat.h"
static volatile int got; static void h(int s){ (void)s; got=1; }

int main(void)
{
	signal(SIGALRM,h);
	struct itimerval it={{0,0},{0,20000}};
	CHECK(setitimer(ITIMER_REAL,&it,0)==0);
	while(!got) pause();
	CHECK(got);
	PASS();
}
