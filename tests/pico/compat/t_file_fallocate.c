#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	CHECK(fallocate(fd,0,0,65536)==0);
	struct stat st;
	CHECK(fstat(fd,&st)==0 && st.st_size==65536);
	PASS();
}
