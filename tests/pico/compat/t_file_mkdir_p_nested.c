#include "compat.h"

int main(void)
{
	CHECK(mkdir("a",0755)==0);
	CHECK(mkdir("a/b",0755)==0);
	CHECK(mkdir("a/b/c",0755)==0);
	put_file("a/b/c/f","deep");
	CHECK(file_is("./a/./b/../b/c/f","deep"));
	PASS();
}
