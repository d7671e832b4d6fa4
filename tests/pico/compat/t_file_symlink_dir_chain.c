#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	put_file("d/f","v");
	CHECK(symlink("d","l1")==0);
	CHECK(symlink("l1","l2")==0);
	CHECK(file_is("l2/f","v"));
	CHECK(file_is("l2/../d/f","v"));
	PASS();
}
