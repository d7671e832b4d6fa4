#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0700)==0);
	struct stat st;
	CHECK(stat("d",&st)==0 && st.st_uid==geteuid() && (st.st_mode&0777)==0700);
	PASS();
}
