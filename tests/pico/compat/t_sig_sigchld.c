#include "compat.h"
static volatile int got; static void h(int s){ (void)s; got=1; }

int main(void)
{
	signal(SIGCHLD,h);
	pid_t c=fork();
	if(!c) _exit(0);
	while(!got) pause();
	waitpid(c,0,0);
	CHECK(got);
	PASS();
}
