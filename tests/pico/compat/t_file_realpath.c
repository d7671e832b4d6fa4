#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	put_file("d/f","x");
	CHECK(symlink("d","l")==0);
	char a[PATH_MAX],b[PATH_MAX];
	CHECK(realpath("l/f",a));
	CHECK(realpath("d/f",b));
	CHECK(!strcmp(a,b));
	PASS();
}
