#include "compat.h"

int main(void)
{
	struct statfs s;
	CHECK(statfs(".",&s)==0 && s.f_bsize>0);
	int fd=open(".",O_RDONLY);
	CHECK(fstatfs(fd,&s)==0);
	PASS();
}
