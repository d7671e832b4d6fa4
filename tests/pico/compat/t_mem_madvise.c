#include "compat.h"

int main(void)
{
	char *p=mmap(0,1<<16,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
	p[0]=5;
	CHECK(madvise(p,1<<16,MADV_DONTNEED)==0);
	CHECK(p[0]==0);
	PASS();
}
