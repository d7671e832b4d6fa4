#include "compat.h"

int main(void)
{
	int fd=open("m",O_CREAT|O_RDWR,0644);
	ftruncate(fd,4096);
	char *p=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED,fd,0);
	CHECK(p!=MAP_FAILED);
	memcpy(p,"shared",6);
	CHECK(msync(p,4096,MS_SYNC)==0);
	char b[6];
	CHECK(pread(fd,b,6,0)==6 && !memcmp(b,"shared",6));
	PASS();
}
