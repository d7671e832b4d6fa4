#include "compat.h"
static volatile int got; static void h(int s){ got=s; }

int main(void)
{
	signal(SIGUSR1,h);
	raise(SIGUSR1);
	CHECK(got==SIGUSR1);
	PASS();
}
