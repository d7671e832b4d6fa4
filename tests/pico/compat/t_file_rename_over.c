#include "compat.h"

int main(void)
{
	put_file("a","1");
	put_file("b","2");
	CHECK(rename("a","b")==0);
	CHECK(file_is("b","1"));
	PASS();
}
