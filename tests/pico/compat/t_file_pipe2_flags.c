#include "compat.h"

int main(void)
{
	int p[2];
	CHECK(pipe2(p,O_CLOEXEC|O_NONBLOCK)==0);
	char b;
	CHECK(read(p[0],&b,1)<0 && errno==EAGAIN);
	CHECK(fcntl(p[0],F_GETFD)&FD_CLOEXEC);
	PASS();
}
