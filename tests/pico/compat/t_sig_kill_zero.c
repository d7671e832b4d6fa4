#include "compat.h"

int main(void)
{
	CHECK(kill(getpid(),0)==0);
	CHECK(kill(999999,0)<0 && errno==ESRCH);
	PASS();
}
