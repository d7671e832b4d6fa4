#include "compat.h"

int main(void)
{
	sigset_t s,o;
	sigemptyset(&s);
	sigaddset(&s,SIGINT);
	sigprocmask(SIG_BLOCK,&s,0);
	CHECK(sigprocmask(SIG_BLOCK,0,&o)==0 && sigismember(&o,SIGINT));
	sigprocmask(SIG_UNBLOCK,&s,0);
	sigprocmask(SIG_BLOCK,0,&o);
	CHECK(!sigismember(&o,SIGINT));
	PASS();
}
