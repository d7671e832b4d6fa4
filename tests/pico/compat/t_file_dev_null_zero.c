#include "compat.h"

int main(void)
{
	int fd=open("/dev/null",O_RDWR);
	CHECK(fd>=0 && write(fd,"x",1)==1);
	char b;
	CHECK(read(fd,&b,1)==0);
	close(fd);
	fd=open("/dev/zero",O_RDONLY);
	CHECK(read(fd,&b,1)==1 && b==0);
	PASS();
}
