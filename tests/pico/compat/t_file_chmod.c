#include "compat.h"

int main(void)
{
	put_file("a","x");
	CHECK(chmod("a",0640)==0);
	struct stat st;
	CHECK(stat("a",&st)==0 && (st.st_mode&07777)==0640);
	PASS();
}
