#include "compat.h"

int main(void)
{
	char b[2];
	CHECK(getcwd(b,2)==NULL && errno==ERANGE);
	PASS();
}
