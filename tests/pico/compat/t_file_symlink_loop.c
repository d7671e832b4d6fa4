#include "compat.h"

int main(void)
{
	CHECK(symlink("l2","l1")==0);
	CHECK(symlink("l1","l2")==0);
	CHECK(open("l1",O_RDONLY)<0 && errno==ELOOP);
	PASS();
}
