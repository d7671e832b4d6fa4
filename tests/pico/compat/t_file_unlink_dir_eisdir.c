#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	CHECK(unlink("d")<0 && (errno==EISDIR||errno==EPERM));
	PASS();
}
