#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	CHECK(fchmod(fd,0600)==0);
	struct stat st;
	CHECK(fstat(fd,&st)==0 && (st.st_mode&07777)==0600);
	close(fd);
	PASS();
}
