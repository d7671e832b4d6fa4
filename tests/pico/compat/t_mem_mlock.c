#include "compat.h"

int main(void)
{
	char *p=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
	int r=mlock(p,4096);
	CHECK(r==0 || errno==EPERM || errno==ENOMEM);
	if(!r) munlock(p,4096);
	PASS();
}
