#include "compat.h"

int main(void)
{
	CHECK(symlink("x","l")==0);
	struct timespec ts[2]={{5,0},{6,0}};
	CHECK(utimensat(AT_FDCWD,"l",ts,AT_SYMLINK_NOFOLLOW)==0);
	struct stat st;
	CHECK(lstat("l",&st)==0 && st.st_mtime==6);
	PASS();
}
