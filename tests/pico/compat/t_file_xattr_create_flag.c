#include "compat.h"

int main(void)
{
	put_file("a","x");
	if (setxattr("a","user.k","1",1,0)<0) PASS();
	CHECK(setxattr("a","user.k","2",1,XATTR_CREATE)<0 && errno==EEXIST);
	CHECK(setxattr("a","user.nope","2",1,XATTR_REPLACE)<0 && errno==ENODATA);
	PASS();
}
