#include "compat.h"

int main(void)
{
	put_file("a","xy");
	int fd=open("a",O_RDONLY);
	struct stat st;
	CHECK(fstatat(fd,"",&st,AT_EMPTY_PATH)==0 && st.st_size==2);
	close(fd);
	PASS();
}
