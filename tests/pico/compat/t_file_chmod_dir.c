#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	CHECK(chmod("d",0711)==0);
	struct stat st;
	CHECK(stat("d",&st)==0 && (st.st_mode&07777)==0711);
	PASS();
}
