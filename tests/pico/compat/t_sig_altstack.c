#include "compat.h"
static volatile int on; static void h(int s){ (void)s; stack_t o; sigaltstack(0,&o); on=(o.ss_flags&SS_ONSTACK)?1:2; }

int main(void)
{
	stack_t ss={.ss_sp=malloc(65536),.ss_size=65536};
	CHECK(sigaltstack(&ss,0)==0);
	struct sigaction sa={0};
	sa.sa_handler=h;
	sa.sa_flags=SA_ONSTACK;
	sigaction(SIGUSR1,&sa,0);
	raise(SIGUSR1);
	CHECK(on==1);
	PASS();
}
