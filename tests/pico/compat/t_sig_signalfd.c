#include "compat.h"

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s,SIGUSR1);
	sigprocmask(SIG_BLOCK,&s,0);
	int fd=signalfd(-1,&s,0);
	CHECK(fd>=0);
	raise(SIGUSR1);
	struct signalfd_siginfo i;
	CHECK(read(fd,&i,sizeof i)==sizeof i && i.ssi_signo==SIGUSR1);
	PASS();
}
