#include "compat.h"

int main(void)
{
	put_file("a","x");
	struct timeval tv[2]={{100,0},{200,0}};
	CHECK(utimes("a",tv)==0);
	struct stat st;
	CHECK(stat("a",&st)==0 && st.st_mtime==200);
	PASS();
}
