#include "compat.h"

int main(void)
{
	pid_t c=fork();
	if(!c){ pause();
	_exit(0);} int fd=syscall(SYS_pidfd_open,c,0);
	CHECK(fd>=0);
	CHECK(syscall(SYS_pidfd_send_signal,fd,SIGKILL,NULL,0)==0);
	int st;
	waitpid(c,&st,0);
	CHECK(WTERMSIG(st)==SIGKILL);
	PASS();
}
