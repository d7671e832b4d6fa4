#include "compat.h"

int main(void)
{
	put_file("a","x");
	CHECK(link("a","b")==0);
	struct stat s1,s2;
	CHECK(stat("a",&s1)==0 && stat("b",&s2)==0);
	CHECK(s1.st_ino==s2.st_ino && s1.st_nlink==2);
	PASS();
}
