#include "compat.h"
#include <setjmp.h>
static sigjmp_buf jb; static volatile int got; static void h(int s){ (void)s; got=1; siglongjmp(jb,1); }

int main(void)
{
	signal(SIGSEGV,h);
	if(!sigsetjmp(jb,1)){ *(volatile int*)8=1;
	} CHECK(got==1);
	PASS();
}
