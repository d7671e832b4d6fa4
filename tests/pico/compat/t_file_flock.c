#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	CHECK(flock(fd,LOCK_EX)==0);
	int fd2=open("a",O_RDWR);
	CHECK(flock(fd2,LOCK_EX|LOCK_NB)<0 && errno==EWOULDBLOCK);
	CHECK(flock(fd,LOCK_UN)==0);
	CHECK(flock(fd2,LOCK_EX|LOCK_NB)==0);
	PASS();
}
