#include "compat.h"

int main(void)
{
	put_file("a","xyz");
	int fd=open("a",O_PATH);
	CHECK(fd>=0);
	struct stat st;
	CHECK(fstat(fd,&st)==0 && st.st_size==3);
	close(fd);
	PASS();
}
