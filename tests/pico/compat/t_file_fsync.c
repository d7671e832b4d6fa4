#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	CHECK(write(fd,"x",1)==1);
	CHECK(fsync(fd)==0);
	CHECK(fdatasync(fd)==0);
	CHECK(syncfs(fd)==0);
	sync();
	PASS();
}
