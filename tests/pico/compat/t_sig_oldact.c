#include "compat.h"

int main(void)
{
	struct sigaction sa={0},old;
	sa.sa_handler=SIG_IGN;
	CHECK(sigaction(SIGUSR1,&sa,0)==0);
	CHECK(sigaction(SIGUSR1,0,&old)==0 && old.sa_handler==SIG_IGN);
	PASS();
}
