#include "compat.h"

int main(void)
{
	errno=0;
	int p=getpriority(PRIO_PROCESS,0);
	CHECK(errno==0);
	CHECK(setpriority(PRIO_PROCESS,0,p+1)==0);
	PASS();
}
