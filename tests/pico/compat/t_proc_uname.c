#include "compat.h"

int main(void)
{
	struct utsname u;
	CHECK(uname(&u)==0 && !strcmp(u.sysname,"Linux") && !strcmp(u.machine,"x86_64"));
	PASS();
}
