#include "compat.h"
static volatile int got; static void h(int s){ (void)s; got=1; }

int main(void)
{
	sigset_t s,o;
	sigemptyset(&s);
	sigaddset(&s,SIGUSR1);
	signal(SIGUSR1,h);
	CHECK(sigprocmask(SIG_BLOCK,&s,&o)==0);
	raise(SIGUSR1);
	CHECK(got==0);
	sigset_t p;
	sigpending(&p);
	CHECK(sigismember(&p,SIGUSR1));
	CHECK(sigprocmask(SIG_SETMASK,&o,0)==0);
	CHECK(got==1);
	PASS();
}
