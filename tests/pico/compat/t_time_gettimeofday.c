#include "compat.h"

int main(void)
{
	struct timeval tv;
	CHECK(gettimeofday(&tv,0)==0 && tv.tv_sec>1600000000);
	CHECK(time(0)>1600000000);
	PASS();
}
