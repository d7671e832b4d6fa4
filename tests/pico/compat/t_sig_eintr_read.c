#include "compat.h"
static void h(int s){ (void)s; }

int main(void)
{
	struct sigaction sa={0};
	sa.sa_handler=h;
	sigaction(SIGALRM,&sa,0);
	int p[2];
	pipe(p);
	ualarm(50000,0);
	char b;
	CHECK(read(p[0],&b,1)<0 && errno==EINTR);
	PASS();
}
