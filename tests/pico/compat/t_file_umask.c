#include "compat.h"

int main(void)
{
	umask(027);
	int fd=open("a",O_CREAT|O_WRONLY,0777);
	close(fd);
	struct stat st;
	CHECK(stat("a",&st)==0 && (st.st_mode&0777)==0750);
	umask(022);
	PASS();
}
