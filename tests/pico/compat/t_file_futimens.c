#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	struct timespec ts[2]={{5,0},{7,0}};
	CHECK(futimens(fd,ts)==0);
	struct stat st;
	CHECK(fstat(fd,&st)==0 && st.st_mtime==7);
	close(fd);
	PASS();
}
