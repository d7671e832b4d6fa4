#include "compat.h"

int main(void)
{
	put_file("a","x");
	int r=chown("a",4242,4242);
	struct stat st;
	CHECK(stat("a",&st)==0);
	if (geteuid()==0) CHECK(r==0 && st.st_uid==4242 && st.st_gid==4242);
	else CHECK(r<0 && errno==EPERM);
	PASS();
}
