#include "compat.h"

int main(void)
{
	CHECK(system("LD_LIBRARY_PATH=/nonexistent /bin/true")==0);
	PASS();
}
