#include "compat.h"

int main(void)
{
	int p[2];
	pipe(p);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0],&r);
	struct timespec ts={0,1000};
	sigset_t s;
	sigemptyset(&s);
	CHECK(pselect(p[0]+1,&r,0,0,&ts,&s)==0);
	PASS();
}
