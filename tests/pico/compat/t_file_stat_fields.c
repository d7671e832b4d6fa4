#include "compat.h"

int main(void)
{
	put_file("a","12345");
	struct stat st;
	CHECK(stat("a",&st)==0);
	CHECK(st.st_size==5 && S_ISREG(st.st_mode) && st.st_nlink==1 && st.st_blksize>0);
	PASS();
}
