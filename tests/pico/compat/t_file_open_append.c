#include "compat.h"

int main(void)
{
	put_file("a","ab");
	int fd=open("a",O_WRONLY|O_APPEND);
	CHECK(fd>=0);
	CHECK(lseek(fd,0,SEEK_SET)==0);
	CHECK(write(fd,"c",1)==1);
	close(fd);
	CHECK(file_is("a","abc"));
	PASS();
}
