#include "compat.h"
static void h(int s){ (void)s; }

int main(void)
{
	signal(SIGUSR1,h);
	signal(SIGUSR2,SIG_IGN);
	pid_t c=fork();
	if(!c){ execl("/bin/sh","sh","-c","trap; kill -USR2 $$; echo alive",(char*)0);
	_exit(99);} int st;
	waitpid(c,&st,0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st)==0);
	PASS();
}
