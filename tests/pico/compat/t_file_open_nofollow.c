#include "compat.h"

int main(void)
{
	put_file("f","x");
	CHECK(symlink("f","l")==0);
	CHECK(open("l", O_RDONLY|O_NOFOLLOW) < 0 && errno == ELOOP);
	PASS();
}
