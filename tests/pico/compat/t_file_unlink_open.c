#include "compat.h"

int main(void)
{
	put_file("a","keep");
	int fd=open("a",O_RDONLY);
	CHECK(unlink("a")==0);
	char b[4];
	CHECK(read(fd,b,4)==4 && !memcmp(b,"keep",4));
	close(fd);
	PASS();
}
