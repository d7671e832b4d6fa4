#include "compat.h"
#include <sys/auxv.h>

int main(void)
{
	CHECK(getauxval(AT_UID)==getuid() && getauxval(AT_EUID)==geteuid() && getauxval(AT_GID)==getgid());
	PASS();
}
