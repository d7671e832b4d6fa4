#include "compat.h"
static void *tf(void *a){ return (void*)((long)a+1); }

int main(void)
{
	pthread_t th;
	void *r;
	CHECK(pthread_create(&th,0,tf,(void*)41)==0);
	CHECK(pthread_join(th,&r)==0 && (long)r==42);
	PASS();
}
