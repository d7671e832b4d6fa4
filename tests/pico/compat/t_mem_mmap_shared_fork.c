#include "compat.h"

int main(void)
{
	int *p=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);
	*p=0;
	pid_t c=fork();
	if(!c){ *p=42;
	_exit(0);} waitpid(c,0,0);
	CHECK(*p==42);
	PASS();
}
