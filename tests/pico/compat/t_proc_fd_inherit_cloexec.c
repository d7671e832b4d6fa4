#include "compat.h"

int main(void)
{
	int a=open(".",O_RDONLY), b=open(".",O_RDONLY|O_CLOEXEC);
	char cmd[128];
	snprintf(cmd,sizeof cmd,"test -e /proc/self/fd/%d && ! test -e /proc/self/fd/%d",a,b);
	CHECK(system(cmd)==0);
	PASS();
}
