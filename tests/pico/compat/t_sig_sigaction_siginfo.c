#include "compat.h"
static volatile pid_t pid; static void h(int s, siginfo_t *i, void *c){ (void)s;(void)c; pid=i->si_pid; }

int main(void)
{
	struct sigaction sa={0};
	sa.sa_sigaction=h;
	sa.sa_flags=SA_SIGINFO;
	sigaction(SIGUSR2,&sa,0);
	kill(getpid(),SIGUSR2);
	CHECK(pid==getpid());
	PASS();
}
