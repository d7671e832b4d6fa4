#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	put_file("d/f","x");
	CHECK(rename("d","e")==0);
	CHECK(file_is("e/f","x"));
	PASS();
}
