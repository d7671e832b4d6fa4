#include "compat.h"

int main(void)
{
	put_file("f","x");
	CHECK(open("f/x", O_RDONLY) < 0 && errno == ENOTDIR);
	PASS();
}
