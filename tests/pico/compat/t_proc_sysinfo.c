#include "compat.h"
#include <sys/sysinfo.h>

int main(void)
{
	struct sysinfo s;
	CHECK(sysinfo(&s)==0 && s.totalram>0);
	PASS();
}
