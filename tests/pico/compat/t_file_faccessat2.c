#include "compat.h"

int main(void)
{
	put_file("a","x");
	CHECK(chmod("a",0755)==0);
	CHECK(syscall(SYS_faccessat2,AT_FDCWD,"a",X_OK,AT_EACCESS)==0);
	PASS();
}
