#include "compat.h"

int main(void)
{
	CHECK(sysconf(_SC_NPROCESSORS_ONLN)>=1);
	CHECK(sysconf(_SC_PAGESIZE)==4096);
	CHECK(sysconf(_SC_OPEN_MAX)>0);
	PASS();
}
