#include "compat.h"

int main(void)
{
	int fd=open("h",O_CREAT|O_RDWR,0644);
	CHECK(fd>=0);
	CHECK(pwrite(fd,"x",1,1<<20)==1);
	CHECK(lseek(fd,0,SEEK_DATA)>=0);
	CHECK(lseek(fd,0,SEEK_HOLE)>=0);
	close(fd);
	PASS();
}
