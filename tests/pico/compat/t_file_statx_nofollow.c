#include "compat.h"

int main(void)
{
	CHECK(symlink("x","l")==0);
	struct statx sx;
	CHECK(statx(AT_FDCWD,"l",AT_SYMLINK_NOFOLLOW,STATX_BASIC_STATS,&sx)==0 && S_ISLNK(sx.stx_mode));
	PASS();
}
