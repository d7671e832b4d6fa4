#include "compat.h"

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s,SIGUSR1);
	sigprocmask(SIG_BLOCK,&s,0);
	struct timespec ts={0,10000000};
	CHECK(sigtimedwait(&s,0,&ts)<0 && errno==EAGAIN);
	PASS();
}
