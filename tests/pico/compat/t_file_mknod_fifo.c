#include "compat.h"

int main(void)
{
	CHECK(mknod("ff",S_IFIFO|0600,0)==0);
	struct stat st;
	CHECK(lstat("ff",&st)==0 && S_ISFIFO(st.st_mode));
	PASS();
}
