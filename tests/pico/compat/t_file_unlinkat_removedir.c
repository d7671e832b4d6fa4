#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	CHECK(unlinkat(AT_FDCWD,"d",AT_REMOVEDIR)==0);
	PASS();
}
