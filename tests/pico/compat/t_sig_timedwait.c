#include "compat.h"

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s,SIGUSR1);
	sigprocmask(SIG_BLOCK,&s,0);
	raise(SIGUSR1);
	siginfo_t i;
	struct timespec ts={1,0};
	CHECK(sigtimedwait(&s,&i,&ts)==SIGUSR1);
	PASS();
}
