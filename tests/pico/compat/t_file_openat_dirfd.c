#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	int dfd=open("d",O_RDONLY|O_DIRECTORY);
	int fd=openat(dfd,"f",O_CREAT|O_WRONLY,0644);
	CHECK(fd>=0);
	close(fd);
	CHECK(access("d/f",F_OK)==0);
	PASS();
}
