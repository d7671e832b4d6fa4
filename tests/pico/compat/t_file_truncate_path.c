#include "compat.h"

int main(void)
{
	put_file("t","hello world");
	CHECK(truncate("t",5)==0);
	CHECK(file_is("t","hello"));
	PASS();
}
