#include "compat.h"

int main(void)
{
	pid_t p=vfork();
	if(!p){ execl("/bin/true","true",(char*)0);
	_exit(99);} int st;
	CHECK(waitpid(p,&st,0)==p && WIFEXITED(st) && WEXITSTATUS(st)==0);
	PASS();
}
