#include "compat.h"
static volatile int got, ready; static void h(int s){ (void)s; got=1; } static void *tf(void *a){ (void)a; ready=1; while(!got) usleep(1000); return 0; }

int main(void)
{
	signal(SIGUSR1,h);
	pthread_t th;
	pthread_create(&th,0,tf,0);
	while(!ready) usleep(1000);
	pthread_kill(th,SIGUSR1);
	pthread_join(th,0);
	CHECK(got==1);
	PASS();
}
