#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	CHECK(link("d","e")<0 && errno==EPERM);
	PASS();
}
