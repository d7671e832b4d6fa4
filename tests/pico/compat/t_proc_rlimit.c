#include "compat.h"

int main(void)
{
	struct rlimit r;
	CHECK(getrlimit(RLIMIT_NOFILE,&r)==0);
	struct rlimit n={64,r.rlim_max};
	CHECK(setrlimit(RLIMIT_NOFILE,&n)==0);
	CHECK(getrlimit(RLIMIT_NOFILE,&r)==0 && r.rlim_cur==64);
	CHECK(prlimit(0,RLIMIT_CORE,NULL,&r)==0);
	PASS();
}
