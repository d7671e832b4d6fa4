#include "compat.h"

int main(void)
{
	int fd=dup(1);
	CHECK(fd>2);
	int fd2=dup2(fd,100);
	CHECK(fd2==100);
	CHECK(dup3(fd,101,O_CLOEXEC)==101);
	CHECK((fcntl(101,F_GETFD)&FD_CLOEXEC));
	close(fd);
	close(100);
	close(101);
	PASS();
}
