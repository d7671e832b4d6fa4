#include "compat.h"

int main(void)
{
	put_file("a","1");
	put_file("b","2");
	CHECK(syscall(SYS_renameat2,AT_FDCWD,"a",AT_FDCWD,"b",2)==0);
	CHECK(file_is("a","2") && file_is("b","1"));
	PASS();
}
