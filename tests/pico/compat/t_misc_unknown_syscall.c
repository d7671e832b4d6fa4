#include "compat.h"

int main(void)
{
	CHECK(syscall(1000)<0 && errno==ENOSYS);
	PASS();
}
