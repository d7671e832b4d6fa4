#include "compat.h"
static volatile int got; static void h(int s){ (void)s; got=1; }

int main(void)
{
	sigset_t s,o;
	sigemptyset(&s);
	sigaddset(&s,SIGUSR1);
	signal(SIGUSR1,h);
	sigprocmask(SIG_BLOCK,&s,&o);
	pid_t c=fork();
	if(!c){ kill(getppid(),SIGUSR1);
	_exit(0);} sigsuspend(&o);
	CHECK(got==1);
	waitpid(c,0,0);
	PASS();
}
