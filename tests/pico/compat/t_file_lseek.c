#include "compat.h"

int main(void)
{
	put_file("a","0123456789");
	int fd=open("a",O_RDONLY);
	char b[4]={0};
	CHECK(lseek(fd,5,SEEK_SET)==5);
	CHECK(read(fd,b,3)==3 && !memcmp(b,"567",3));
	CHECK(lseek(fd,-2,SEEK_END)==8);
	CHECK(lseek(fd,0,SEEK_CUR)==8);
	close(fd);
	PASS();
}
