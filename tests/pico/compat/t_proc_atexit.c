#include "compat.h"
static void ae(void){ put_file("atexit-ran","y"); }

int main(void)
{
	pid_t c=fork();
	if(!c){ atexit(ae);
	exit(0);} int st;
	waitpid(c,&st,0);
	CHECK(WEXITSTATUS(st)==0 && access("atexit-ran",F_OK)==0);
	PASS();
}
