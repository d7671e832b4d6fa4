#include "compat.h"

int main(void)
{
	int a[2],b[2];
	pipe(a);
	pipe(b);
	write(a[1],"tee",3);
	CHECK(tee(a[0],b[1],3,0)==3);
	char x[3];
	CHECK(read(b[0],x,3)==3 && read(a[0],x,3)==3);
	PASS();
}
