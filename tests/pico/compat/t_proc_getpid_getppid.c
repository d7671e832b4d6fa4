#include "compat.h"

int main(void)
{
	pid_t me=getpid();
	int p[2];
	pipe(p);
	pid_t c=fork();
	if(!c){ pid_t pp=getppid();
	write(p[1],&pp,sizeof pp);
	_exit(0);} pid_t got;
	read(p[0],&got,sizeof got);
	waitpid(c,0,0);
	CHECK(got==me);
	CHECK(syscall(SYS_gettid)==me);
	PASS();
}
