#include "compat.h"

int main(void)
{
	int p[2];
	CHECK(pipe(p)==0);
	struct stat st;
	CHECK(fstat(p[0],&st)==0 && S_ISFIFO(st.st_mode));
	PASS();
}
