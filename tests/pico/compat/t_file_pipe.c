#include "compat.h"

int main(void)
{
	int p[2];
	CHECK(pipe(p)==0);
	CHECK(write(p[1],"abc",3)==3);
	char b[3];
	CHECK(read(p[0],b,3)==3 && !memcmp(b,"abc",3));
	PASS();
}
