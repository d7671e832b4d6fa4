#include "compat.h"

int main(void)
{
	put_file("a","1234");
	struct statx sx;
	CHECK(statx(AT_FDCWD,"a",0,STATX_BASIC_STATS,&sx)==0);
	CHECK(sx.stx_size==4 && S_ISREG(sx.stx_mode));
	PASS();
}
