#include "compat.h"

int main(void)
{
	struct timespec a,b,d={0,20000000};
	clock_gettime(CLOCK_MONOTONIC,&a);
	CHECK(nanosleep(&d,0)==0);
	clock_gettime(CLOCK_MONOTONIC,&b);
	CHECK((b.tv_sec-a.tv_sec)*1000000000L+(b.tv_nsec-a.tv_nsec)>=20000000);
	PASS();
}
