#include "compat.h"

int main(void)
{
	int fd=open("big",O_CREAT|O_RDWR,0644);
	static char b[1<<20];
	memset(b,7,sizeof b);
	for(int i=0;i<8;i++) CHECK(write(fd,b,sizeof b)==sizeof b);
	struct stat st;
	CHECK(fstat(fd,&st)==0 && st.st_size==8<<20);
	PASS();
}
