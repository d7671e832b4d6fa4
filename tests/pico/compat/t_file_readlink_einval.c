#include "compat.h"

int main(void)
{
	put_file("f","x");
	char b[8];
	CHECK(readlink("f",b,8)<0 && errno==EINVAL);
	PASS();
}
