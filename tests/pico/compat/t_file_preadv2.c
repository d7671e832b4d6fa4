#include "compat.h"

int main(void)
{
	int fd=open("v",O_CREAT|O_RDWR,0644);
	CHECK(write(fd,"hello",5)==5);
	char b[5];
	struct iovec r={b,5};
	CHECK(preadv2(fd,&r,1,0,0)==5 && !memcmp(b,"hello",5));
	close(fd);
	PASS();
}
