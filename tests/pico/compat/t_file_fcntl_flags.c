#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	CHECK(fcntl(fd,F_SETFL,O_APPEND|O_NONBLOCK)==0);
	CHECK(fcntl(fd,F_GETFL)&O_APPEND);
	CHECK(fcntl(fd,F_DUPFD,50)>=50);
	close(fd);
	PASS();
}
