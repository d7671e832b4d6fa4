#include "compat.h"

int main(void)
{
	CHECK(chdir("/")==0);
	CHECK(chdir("..")==0);
	char b[16];
	CHECK(getcwd(b,sizeof b) && !strcmp(b,"/"));
	PASS();
}
