#include "compat.h"

int main(void)
{
	char h[256];
	CHECK(gethostname(h,sizeof h)==0 && h[0]);
	PASS();
}
