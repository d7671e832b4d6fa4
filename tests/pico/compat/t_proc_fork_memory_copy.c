#include "compat.h"

int main(void)
{
	static int v=1;
	pid_t p=fork();
	if(!p){ v=2;
	_exit(v);} int st;
	waitpid(p,&st,0);
	CHECK(v==1 && WEXITSTATUS(st)==2);
	PASS();
}
