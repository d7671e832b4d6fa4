#include "compat.h"

int main(void)
{
	pid_t c=fork();
	if(!c){ pause();
	_exit(0);} int st;
	CHECK(waitpid(c,&st,WNOHANG)==0);
	kill(c,SIGKILL);
	CHECK(waitpid(c,&st,0)==c && WTERMSIG(st)==SIGKILL);
	PASS();
}
