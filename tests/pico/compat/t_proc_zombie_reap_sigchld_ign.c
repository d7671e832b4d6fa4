#include "compat.h"

int main(void)
{
	signal(SIGCHLD,SIG_IGN);
	pid_t c=fork();
	if(!c) _exit(0);
	usleep(100000);
	CHECK(waitpid(c,0,0)<0 && errno==ECHILD);
	PASS();
}
