#include "compat.h"

int main(void)
{
	CHECK(syscall(SYS_membarrier,0,0,0)>=0);
	PASS();
}
