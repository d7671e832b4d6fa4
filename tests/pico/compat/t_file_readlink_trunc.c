#include "compat.h"

int main(void)
{
	CHECK(symlink("abcdefgh","l")==0);
	char b[4];
	CHECK(readlink("l",b,4)==4 && !memcmp(b,"abcd",4));
	PASS();
}
