#include "compat.h"

int main(void)
{
	CHECK(execl("/no/such/bin","x",(char*)0)<0 && errno==ENOENT);
	PASS();
}
