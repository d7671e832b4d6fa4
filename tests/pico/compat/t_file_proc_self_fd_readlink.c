#include "compat.h"

int main(void)
{
	put_file("a","x");
	int fd=open("a",O_RDONLY);
	char p[64],t1[PATH_MAX],cwd[PATH_MAX];
	snprintf(p,sizeof p,"/proc/self/fd/%d",fd);
	ssize_t n=readlink(p,t1,sizeof t1-1);
	CHECK(n>0);
	t1[n]=0;
	CHECK(getcwd(cwd,sizeof cwd));
	strcat(cwd,"/a");
	CHECK(!strcmp(t1,cwd));
	PASS();
}
