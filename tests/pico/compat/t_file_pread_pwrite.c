#include "compat.h"

int main(void)
{
	int fd=open("p",O_CREAT|O_RDWR,0644);
	CHECK(fd>=0);
	CHECK(pwrite(fd,"abcdef",6,10)==6);
	char b[3];
	CHECK(pread(fd,b,3,12)==3 && !memcmp(b,"cde",3));
	CHECK(lseek(fd,0,SEEK_CUR)==0);
	close(fd);
	PASS();
}
