#include "compat.h"

int main(void)
{
	pid_t c=fork();
	if(!c){ _exit(setsid()==getpid() && getsid(0)==getpid() && getpgrp()==getpid() ? 0 : 1);} int st;
	waitpid(c,&st,0);
	CHECK(WEXITSTATUS(st)==0);
	c=fork();
	if(!c){ _exit(setpgid(0,0)==0 && getpgid(0)==getpid() ? 0:1);} waitpid(c,&st,0);
	CHECK(WEXITSTATUS(st)==0);
	PASS();
}
