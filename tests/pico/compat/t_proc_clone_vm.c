#include "compat.h"
static int cf(void *a){ *(volatile int*)a=1; return 0; }

int main(void)
{
	static char stk[65536];
	static volatile int flag;
	int r=clone(cf,stk+sizeof stk,CLONE_VM|SIGCHLD,(void*)&flag);
	CHECK(r>0);
	waitpid(r,0,0);
	CHECK(flag==1);
	PASS();
}
