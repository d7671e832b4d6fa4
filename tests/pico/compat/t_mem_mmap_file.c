#include "compat.h"

int main(void)
{
	put_file("m","mapped-content");
	int fd=open("m",O_RDONLY);
	char *p=mmap(0,4096,PROT_READ,MAP_PRIVATE,fd,0);
	CHECK(p!=MAP_FAILED && !memcmp(p,"mapped",6));
	PASS();
}
