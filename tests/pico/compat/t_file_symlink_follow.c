#include "compat.h"

int main(void)
{
	put_file("a","data");
	CHECK(symlink("a","l")==0);
	CHECK(file_is("l","data"));
	struct stat st;
	CHECK(lstat("l",&st)==0 && S_ISLNK(st.st_mode));
	CHECK(stat("l",&st)==0 && S_ISREG(st.st_mode));
	PASS();
}
