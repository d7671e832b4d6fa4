#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	CHECK(open("d", O_WRONLY) < 0 && errno == EISDIR);
	PASS();
}
