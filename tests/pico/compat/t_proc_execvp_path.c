#include "compat.h"

int main(void)
{
	pid_t c=fork();
	if(!c){ setenv("PATH","/nonexistent:/usr/bin:/bin",1);
	execlp("true","true",(char*)0);
	_exit(99);} int st;
	waitpid(c,&st,0);
	CHECK(WIFEXITED(st)&&WEXITSTATUS(st)==0);
	PASS();
}
