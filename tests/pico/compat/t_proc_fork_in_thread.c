#include "compat.h"
static void *tf(void *a){ pid_t c=fork(); if(!c) _exit(9); waitpid(c,(int*)a,0); return 0; }

int main(void)
{
	pthread_t th;
	int st=-1;
	pthread_create(&th,0,tf,&st);
	pthread_join(th,0);
	CHECK(WIFEXITED(st)&&WEXITSTATUS(st)==9);
	PASS();
}
