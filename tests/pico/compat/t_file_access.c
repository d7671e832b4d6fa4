#include "compat.h"

int main(void)
{
	put_file("a","x");
	CHECK(chmod("a",0644)==0);
	CHECK(access("a",R_OK|W_OK)==0);
	CHECK(access("a",X_OK)<0 && errno==EACCES);
	CHECK(access("nope",F_OK)<0 && errno==ENOENT);
	PASS();
}
