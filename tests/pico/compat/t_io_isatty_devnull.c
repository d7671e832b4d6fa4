#include "compat.h"

int main(void)
{
	int fd=open("/dev/null",O_RDWR);
	CHECK(!isatty(fd) && errno==ENOTTY);
	PASS();
}
