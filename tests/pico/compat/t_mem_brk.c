#include "compat.h"

int main(void)
{
	void *a=sbrk(0);
	CHECK(a!=(void*)-1);
	CHECK(sbrk(65536)!=(void*)-1);
	memset(a,1,65536);
	CHECK(sbrk(-65536)!=(void*)-1);
	PASS();
}
