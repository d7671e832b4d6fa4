#include "compat.h"

int main(void)
{
	pid_t c=fork();
	if(!c){ for(volatile int i=0;i<1000000;i++);
	_exit(0);} struct rusage ru;
	int st;
	CHECK(wait4(c,&st,0,&ru)==c);
	PASS();
}
