#include "compat.h"
static pthread_mutex_t m=PTHREAD_MUTEX_INITIALIZER; static int cnt; static void *tf(void *a){ (void)a; for(int i=0;i<1000;i++){ pthread_mutex_lock(&m); cnt++; pthread_mutex_unlock(&m);} return 0; }

int main(void)
{
	pthread_t th[32];
	for(int i=0;i<32;i++) CHECK(pthread_create(&th[i],0,tf,0)==0);
	for(int i=0;i<32;i++) pthread_join(th[i],0);
	CHECK(cnt==32*1000);
	PASS();
}
