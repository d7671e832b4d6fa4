#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	put_file("d/f","x");
	CHECK(rmdir("d")<0 && (errno==ENOTEMPTY||errno==EEXIST));
	PASS();
}
