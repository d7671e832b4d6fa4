#include "compat.h"

int main(void)
{
	put_file("a","x");
	CHECK(symlink("a","l")==0);
	CHECK(linkat(AT_FDCWD,"l",AT_FDCWD,"h",AT_SYMLINK_FOLLOW)==0);
	struct stat st;
	CHECK(lstat("h",&st)==0 && S_ISREG(st.st_mode));
	PASS();
}
