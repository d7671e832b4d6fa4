#include "compat.h"
#include <sys/personality.h>

int main(void)
{
	int p=personality(0xffffffff);
	CHECK(p>=0);
	PASS();
}
