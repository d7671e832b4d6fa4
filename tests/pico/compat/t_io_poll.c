#include "compat.h"

int main(void)
{
	int p[2];
	pipe(p);
	struct pollfd f={p[0],POLLIN,0};
	CHECK(poll(&f,1,0)==0);
	write(p[1],"x",1);
	CHECK(poll(&f,1,1000)==1 && (f.revents&POLLIN));
	PASS();
}
