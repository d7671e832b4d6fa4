#include "compat.h"

int main(void)
{
	put_file("a","x");
	struct stat st;
	CHECK(stat("a",&st)==0 && st.st_uid==geteuid() && st.st_gid==getegid());
	PASS();
}
