#include "compat.h"

int main(void)
{
	char n[]="tmpXXXXXX";
	int fd=mkstemp(n);
	CHECK(fd>=0);
	CHECK(unlink(n)==0);
	close(fd);
	PASS();
}
