#include "compat.h"
static __thread int tv; static int other; static void *tf(void *a){ (void)a; tv=2; other=tv; return 0; }

int main(void)
{
	pthread_t th;
	tv=1;
	pthread_create(&th,0,tf,0);
	pthread_join(th,0);
	CHECK(tv==1 && other==2);
	PASS();
}
