#include "compat.h"

int main(void)
{
	int fd=open("/dev/urandom",O_RDONLY);
	char b[16];
	CHECK(fd>=0 && read(fd,b,16)==16);
	PASS();
}
