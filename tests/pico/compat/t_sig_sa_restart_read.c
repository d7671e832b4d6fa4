#include "compat.h"
static volatile int got; static void h(int s){ (void)s; got=1; }

int main(void)
{
	struct sigaction sa={0};
	sa.sa_handler=h;
	sa.sa_flags=SA_RESTART;
	sigaction(SIGALRM,&sa,0);
	int p[2];
	pipe(p);
	pid_t c=fork();
	if(!c){ usleep(200000);
	write(p[1],"x",1);
	_exit(0);} ualarm(50000,0);
	char b;
	CHECK(read(p[0],&b,1)==1 && got==1);
	waitpid(c,0,0);
	PASS();
}
