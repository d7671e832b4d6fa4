#include "compat.h"

int main(void)
{
	struct rusage r;
	CHECK(getrusage(RUSAGE_SELF,&r)==0 && r.ru_maxrss>0);
	PASS();
}
