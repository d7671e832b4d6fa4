#include "compat.h"

int main(void)
{
	CHECK(mknod("r",S_IFREG|0644,0)==0);
	struct stat st;
	CHECK(stat("r",&st)==0 && S_ISREG(st.st_mode) && st.st_size==0);
	PASS();
}
