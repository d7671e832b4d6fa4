#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	CHECK(mkdir("d",0755)<0 && errno==EEXIST);
	CHECK(rmdir("d")==0);
	CHECK(rmdir("d")<0 && errno==ENOENT);
	PASS();
}
