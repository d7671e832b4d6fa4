#include "compat.h"

int main(void)
{
	int fd=timerfd_create(CLOCK_MONOTONIC,0);
	struct itimerspec it={{0,0},{0,5000000}};
	CHECK(timerfd_settime(fd,0,&it,0)==0);
	uint64_t n;
	CHECK(read(fd,&n,8)==8 && n>=1);
	PASS();
}
