#include "compat.h"

int main(void)
{
	int fd=memfd_create("x",MFD_CLOEXEC);
	CHECK(fd>=0);
	CHECK(write(fd,"memfd",5)==5);
	char *p=mmap(0,4096,PROT_READ,MAP_SHARED,fd,0);
	CHECK(p!=MAP_FAILED && !memcmp(p,"memfd",5));
	PASS();
}
