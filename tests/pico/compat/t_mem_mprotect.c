#include "compat.h"

int main(void)
{
	char *p=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
	p[0]=1;
	CHECK(mprotect(p,4096,PROT_READ)==0);
	pid_t c=fork();
	if(!c){ p[0]=2;
	_exit(0);} int st;
	waitpid(c,&st,0);
	CHECK(WIFSIGNALED(st)&&WTERMSIG(st)==SIGSEGV);
	PASS();
}
