#include "compat.h"

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s,SIGUSR1);
	sigprocmask(SIG_BLOCK,&s,0);
	pid_t c=fork();
	if(!c){ sigset_t o;
	sigprocmask(SIG_BLOCK,0,&o);
	_exit(sigismember(&o,SIGUSR1)?0:1);} int st;
	waitpid(c,&st,0);
	CHECK(WEXITSTATUS(st)==0);
	PASS();
}
