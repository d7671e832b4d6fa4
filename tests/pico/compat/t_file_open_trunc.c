#include "compat.h"

int main(void)
{
	put_file("a","hello");
	int fd=open("a",O_WRONLY|O_TRUNC);
	CHECK(fd>=0);
	close(fd);
	struct stat st;
	CHECK(stat("a",&st)==0 && st.st_size==0);
	PASS();
}
