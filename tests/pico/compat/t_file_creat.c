#include "compat.h"

int main(void)
{
	int fd=creat("c",0600);
	CHECK(fd>=0);
	CHECK(write(fd,"z",1)==1);
	close(fd);
	CHECK(file_is("c","z"));
	PASS();
}
