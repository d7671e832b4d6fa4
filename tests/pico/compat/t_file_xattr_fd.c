#include "compat.h"

int main(void)
{
	int fd=open("a",O_CREAT|O_RDWR,0644);
	if (fsetxattr(fd,"user.k","v",1,0)<0) { CHECK(errno==ENOTSUP);
	PASS();
	} char b[4];
	CHECK(fgetxattr(fd,"user.k",b,4)==1);
	CHECK(flistxattr(fd,NULL,0)>0);
	PASS();
}
