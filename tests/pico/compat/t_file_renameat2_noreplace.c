#include "compat.h"

int main(void)
{
	put_file("a","1");
	put_file("b","2");
	CHECK(syscall(SYS_renameat2,AT_FDCWD,"a",AT_FDCWD,"b",1)<0 && errno==EEXIST);
	PASS();
}
