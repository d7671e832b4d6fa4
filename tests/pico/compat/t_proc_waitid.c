#include "compat.h"

int main(void)
{
	pid_t c=fork();
	if(!c) _exit(3);
	siginfo_t si;
	CHECK(waitid(P_PID,c,&si,WEXITED)==0 && si.si_status==3 && si.si_code==CLD_EXITED);
	PASS();
}
