#include "compat.h"

int main(void)
{
	int p[2];
	pipe(p);
	write(p[1],"abc",3);
	int n=0;
	CHECK(ioctl(p[0],FIONREAD,&n)==0 && n==3);
	PASS();
}
