#include "compat.h"

int main(void)
{
	char *p=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
	p[0]='q';
	char *q=mremap(p,4096,1<<20,MREMAP_MAYMOVE);
	CHECK(q!=MAP_FAILED && q[0]=='q');
	q[(1<<20)-1]=1;
	PASS();
}
