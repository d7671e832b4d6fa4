#include "compat.h"

int main(void)
{
	CHECK(system("echo abc | tr a-c x-z | grep -q xyz")==0);
	PASS();
}
