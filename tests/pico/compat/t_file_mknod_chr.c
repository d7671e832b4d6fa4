#include "compat.h"
#include <sys/sysmacros.h>

int main(void)
{
	int r=mknod("c",S_IFCHR|0600,makedev(1,3));
	if (geteuid()==0) { struct stat st;
	CHECK(r==0 && stat("c",&st)==0 && S_ISCHR(st.st_mode) && major(st.st_rdev)==1 && minor(st.st_rdev)==3);
	} else CHECK(r<0 && errno==EPERM);
	PASS();
}
