#include "compat.h"

int main(void)
{
	int p[2];
	pipe(p);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0],&r);
	struct timeval tv={0,0};
	CHECK(select(p[0]+1,&r,0,0,&tv)==0);
	write(p[1],"x",1);
	FD_SET(p[0],&r);
	tv.tv_sec=1;
	CHECK(select(p[0]+1,&r,0,0,&tv)==1);
	PASS();
}
