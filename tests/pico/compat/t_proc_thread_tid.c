#include "compat.h"
static void *tf(void *a){ *(long*)a=syscall(SYS_gettid); return 0; }

int main(void)
{
	pthread_t th;
	long tid=0;
	pthread_create(&th,0,tf,&tid);
	pthread_join(th,0);
	CHECK(tid>0 && tid!=getpid());
	PASS();
}
