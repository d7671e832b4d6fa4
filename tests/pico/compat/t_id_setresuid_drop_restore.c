#include "compat.h"

int main(void)
{
	if(geteuid()!=0) PASS();
	pid_t c=fork();
	if(!c){ if(setresuid(-1,1000,0)) _exit(1);
	if(geteuid()!=1000) _exit(2);
	if(setresuid(-1,0,-1)) _exit(3);
	_exit(geteuid()==0?0:4);} int st;
	waitpid(c,&st,0);
	CHECK(WEXITSTATUS(st)==0);
	PASS();
}
