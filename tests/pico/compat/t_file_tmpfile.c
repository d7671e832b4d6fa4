#include "compat.h"

int main(void)
{
	int fd=open(".",O_TMPFILE|O_RDWR,0600);
	CHECK(fd>=0);
	CHECK(write(fd,"t",1)==1);
	char p[64];
	snprintf(p,sizeof p,"/proc/self/fd/%d",fd);
	CHECK(linkat(AT_FDCWD,p,AT_FDCWD,"named",AT_SYMLINK_FOLLOW)==0);
	CHECK(file_is("named","t"));
	PASS();
}
