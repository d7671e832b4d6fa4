#include "compat.h"

int main(void)
{
	int p[2];
	pipe(p);
	struct pollfd f={p[0],POLLIN,0};
	struct timespec ts={0,1000000};
	sigset_t s;
	sigemptyset(&s);
	CHECK(ppoll(&f,1,&ts,&s)==0);
	PASS();
}
