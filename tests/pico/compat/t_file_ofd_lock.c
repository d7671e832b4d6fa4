#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	struct flock fl={.l_type=F_WRLCK,.l_whence=SEEK_SET};
	CHECK(fcntl(fd,F_OFD_SETLK,&fl)==0);
	int fd2=open("a",O_RDWR);
	struct flock g={.l_type=F_WRLCK,.l_whence=SEEK_SET};
	CHECK(fcntl(fd2,F_OFD_SETLK,&g)<0);
	PASS();
}
