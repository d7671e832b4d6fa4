#include "compat.h"

int main(void)
{
	signal(SIGUSR1,SIG_IGN);
	raise(SIGUSR1);
	signal(SIGUSR1,SIG_DFL);
	signal(SIGWINCH,SIG_DFL);
	raise(SIGWINCH);
	PASS();
}
