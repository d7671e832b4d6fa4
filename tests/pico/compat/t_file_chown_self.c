#include "compat.h"

int main(void)
{
	put_file("a","x");
	struct stat st;
	CHECK(stat("a",&st)==0);
	CHECK(chown("a",st.st_uid,st.st_gid)==0);
	CHECK(chown("a",-1,-1)==0);
	PASS();
}
