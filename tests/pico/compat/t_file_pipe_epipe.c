#include "compat.h"

int main(void)
{
	signal(SIGPIPE,SIG_IGN);
	int p[2];
	CHECK(pipe(p)==0);
	close(p[0]);
	CHECK(write(p[1],"x",1)<0 && errno==EPIPE);
	PASS();
}
