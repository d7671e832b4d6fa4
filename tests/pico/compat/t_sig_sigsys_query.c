#include "compat.h"

int main(void)
{
	struct sigaction sa={0},o;
	sa.sa_handler=SIG_IGN;
	CHECK(sigaction(SIGSYS,&sa,0)==0);
	CHECK(sigaction(SIGSYS,0,&o)==0 && o.sa_handler==SIG_IGN);
	struct stat st;
	CHECK(stat("/",&st)==0);
	PASS();
}
