#include "compat.h"

int main(void)
{
	put_file("a","x");
	struct timespec ts[2]={{1000000000,0},{1200000000,5}};
	CHECK(utimensat(AT_FDCWD,"a",ts,0)==0);
	struct stat st;
	CHECK(stat("a",&st)==0 && st.st_mtim.tv_sec==1200000000 && st.st_atim.tv_sec==1000000000);
	PASS();
}
