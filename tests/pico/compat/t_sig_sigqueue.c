#include "compat.h"
static volatile int val; static void h(int s, siginfo_t *i, void *c){ (void)s;(void)c; val=i->si_value.sival_int; }

int main(void)
{
	struct sigaction sa={0};
	sa.sa_sigaction=h;
	sa.sa_flags=SA_SIGINFO;
	sigaction(SIGRTMIN,&sa,0);
	union sigval v={.sival_int=77};
	CHECK(sigqueue(getpid(),SIGRTMIN,v)==0);
	CHECK(val==77);
	PASS();
}
