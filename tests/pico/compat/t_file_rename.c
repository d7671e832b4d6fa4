#include "compat.h"

int main(void)
{
	put_file("a","1");
	CHECK(rename("a","b")==0);
	CHECK(access("a",F_OK)<0 && errno==ENOENT);
	CHECK(file_is("b","1"));
	PASS();
}
