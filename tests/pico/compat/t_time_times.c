#include "compat.h"

int main(void)
{
	struct tms t;
	CHECK(times(&t)!=(clock_t)-1);
	CHECK(sysconf(_SC_CLK_TCK)>0);
	PASS();
}
