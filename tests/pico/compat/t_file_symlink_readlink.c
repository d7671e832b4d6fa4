#include "compat.h"

int main(void)
{
	CHECK(symlink("some/target","l")==0);
	char b[64];
	ssize_t n=readlink("l",b,sizeof b);
	CHECK(n==11 && !memcmp(b,"some/target",11));
	PASS();
}
