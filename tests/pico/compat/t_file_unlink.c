#include "compat.h"

int main(void)
{
	put_file("a","x");
	CHECK(unlink("a")==0);
	CHECK(unlink("a")<0 && errno==ENOENT);
	PASS();
}
