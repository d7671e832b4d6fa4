#include "compat.h"
static int deep(int n){ volatile char pad[64]; pad[0]=(char)n; return n ? 1+deep(n-1)+pad[0]*0 : 0; }

int main(void)
{
	CHECK(deep(20000)==20000);
	PASS();
}
