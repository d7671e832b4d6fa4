#include "compat.h"

int main(void)
{
	CHECK(open("nope/x", O_RDONLY) < 0 && errno == ENOENT);
	CHECK(open("nope", O_RDONLY) < 0 && errno == ENOENT);
	PASS();
}
