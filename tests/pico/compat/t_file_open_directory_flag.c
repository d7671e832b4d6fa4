#include "compat.h"

int main(void)
{
	put_file("f","x");
	CHECK(open("f", O_RDONLY|O_DIRECTORY) < 0 && errno == ENOTDIR);
	CHECK(mkdir("d",0755)==0);
	int fd=open("d",O_RDONLY|O_DIRECTORY);
	CHECK(fd>=0);
	close(fd);
	PASS();
}
