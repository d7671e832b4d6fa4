#include "compat.h"

int main(void)
{
	pid_t c=fork();
	if(!c){ int r=setuid(4321);
	if(getuid()==0 || r==0) _exit(getuid()==4321 && geteuid()==4321 ? 0 : 1);
	_exit(r<0 && errno==EPERM ? 0 : 2);} int st;
	waitpid(c,&st,0);
	CHECK(WEXITSTATUS(st)==0);
	PASS();
}
