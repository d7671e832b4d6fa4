#include "compat.h"

int main(void)
{
	int e=epoll_create1(0);
	struct epoll_event out;
	sigset_t s;
	sigemptyset(&s);
	CHECK(epoll_pwait(e,&out,1,1,&s)==0);
	PASS();
}
