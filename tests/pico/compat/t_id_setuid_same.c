#include "compat.h"

int main(void)
{
	CHECK(setuid(getuid())==0);
	CHECK(setgid(getgid())==0);
	CHECK(seteuid(geteuid())==0);
	PASS();
}
