#include "compat.h"

int main(void)
{
	char *p=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
	p[0]=1;
	unsigned char v;
	CHECK(mincore(p,4096,&v)==0 && (v&1));
	PASS();
}
