#include "compat.h"

int main(void)
{
	CHECK(symlink("nowhere","l")==0);
	struct stat st;
	CHECK(stat("l",&st)<0 && errno==ENOENT);
	CHECK(lstat("l",&st)==0);
	PASS();
}
