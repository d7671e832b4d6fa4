#include "compat.h"

int main(void)
{
	char *p=malloc(64<<20);
	CHECK(p);
	memset(p,3,64<<20);
	CHECK(p[(64<<20)-1]==3);
	free(p);
	PASS();
}
