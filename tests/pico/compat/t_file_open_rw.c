#include "compat.h"

int main(void)
{
	put_file("a", "hello");
	CHECK(file_is("a", "hello"));
	PASS();
}
