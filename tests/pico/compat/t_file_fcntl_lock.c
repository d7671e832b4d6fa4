#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	struct flock fl={.l_type=F_WRLCK,.l_whence=SEEK_SET,.l_start=0,.l_len=10};
	CHECK(fcntl(fd,F_SETLK,&fl)==0);
	pid_t p=fork();
	if(!p){ int f2=open("a",O_RDWR);
	struct flock g={.l_type=F_WRLCK,.l_whence=SEEK_SET,.l_len=10};
	_exit(fcntl(f2,F_SETLK,&g)<0 && (errno==EAGAIN||errno==EACCES) ? 0 : 1);} int st;
	waitpid(p,&st,0);
	CHECK(WIFEXITED(st)&&WEXITSTATUS(st)==0);
	close(fd);
	PASS();
}
