#include "compat.h"

int main(void)
{
	int fd=open("t",O_CREAT|O_RDWR,0644);
	CHECK(ftruncate(fd,12345)==0);
	struct stat st;
	CHECK(fstat(fd,&st)==0 && st.st_size==12345);
	close(fd);
	PASS();
}
