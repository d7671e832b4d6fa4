#include "compat.h"

int main(void)
{
	int fd=open("v",O_CREAT|O_RDWR,0644);
	struct iovec w[2]={{"ab",2},{"cde",3}};
	CHECK(writev(fd,w,2)==5);
	char x[2],y[3];
	struct iovec r[2]={{x,2},{y,3}};
	CHECK(lseek(fd,0,SEEK_SET)==0);
	CHECK(readv(fd,r,2)==5 && !memcmp(y,"cde",3));
	close(fd);
	PASS();
}
