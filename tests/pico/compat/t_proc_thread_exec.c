#include "compat.h"
static void *tf(void *a){ (void)a; printf("PASS\n"); fflush(stdout); execl("/bin/true","true",(char*)0); return 0; }

int main(void)
{
	pthread_t th;
	pthread_create(&th,0,tf,0);
	pthread_join(th,0);
	CHECK(0);
	PASS();
}
