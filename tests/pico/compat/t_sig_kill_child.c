#include "compat.h"

int main(void)
{
	pid_t c=fork();
	if(!c){ for(;;) pause();
	} CHECK(kill(c,SIGTERM)==0);
	int st;
	waitpid(c,&st,0);
	CHECK(WIFSIGNALED(st)&&WTERMSIG(st)==SIGTERM);
	PASS();
}
