#include "compat.h"
#include <sys/random.h>

int main(void)
{
	char b[32];
	CHECK(getrandom(b,32,0)==32);
	PASS();
}
