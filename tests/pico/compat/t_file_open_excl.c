#include "compat.h"

int main(void)
{
	put_file("a","x");
	CHECK(open("a", O_CREAT|O_EXCL|O_WRONLY, 0644) < 0 && errno == EEXIST);
	PASS();
}
