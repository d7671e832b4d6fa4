#include "compat.h"

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s,SIGRTMIN+1);
	sigprocmask(SIG_BLOCK,&s,0);
	for(int i=0;i<3;i++) raise(SIGRTMIN+1);
	int n=0;
	struct timespec ts={0,0};
	while(sigtimedwait(&s,0,&ts)==SIGRTMIN+1) n++;
	CHECK(n==3);
	PASS();
}
