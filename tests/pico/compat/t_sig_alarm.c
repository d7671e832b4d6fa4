#include "compat.h"
static volatile int got; static void h(int s){ (void)s; got=1; }

int main(void)
{
	signal(SIGALRM,h);
	alarm(1);
	pause();
	CHECK(got==1);
	PASS();
}
