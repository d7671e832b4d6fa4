#include "compat.h"
static volatile int got; static void h(int s){ (void)s; got=1; }

int main(void)
{
	signal(SIGSYS,h);
	raise(SIGSYS);
	CHECK(got==1 || got==0);
	PASS();
}
