#include "compat.h"
static void *tf(void *a){ (void)a; for(;;) pause(); return 0; }

int main(void)
{
	pid_t c=fork();
	if(!c){ pthread_t th;
	pthread_create(&th,0,tf,0);
	usleep(10000);
	exit(5);} int st;
	waitpid(c,&st,0);
	CHECK(WEXITSTATUS(st)==5);
	PASS();
}
