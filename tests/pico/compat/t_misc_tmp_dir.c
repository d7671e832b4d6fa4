#include "compat.h"

int main(void)
{
	char n[]="/tmp/lxscompatXXXXXX";
	CHECK(mkdtemp(n));
	CHECK(rmdir(n)==0);
	PASS();
}
