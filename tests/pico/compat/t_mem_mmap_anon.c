#include "compat.h"

int main(void)
{
	char *p=mmap(0,1<<20,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
	CHECK(p!=MAP_FAILED);
	memset(p,1,1<<20);
	CHECK(p[12345]==1);
	CHECK(munmap(p,1<<20)==0);
	PASS();
}
