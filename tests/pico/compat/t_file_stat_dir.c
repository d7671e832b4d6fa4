#include "compat.h"

int main(void)
{
	struct stat st;
	CHECK(stat(".",&st)==0 && S_ISDIR(st.st_mode));
	CHECK(stat("/",&st)==0 && S_ISDIR(st.st_mode));
	PASS();
}
