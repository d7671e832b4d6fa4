#include "compat.h"

int main(void)
{
	int e=epoll_create1(EPOLL_CLOEXEC);
	CHECK(e>=0);
	int p[2];
	pipe(p);
	struct epoll_event ev={.events=EPOLLIN,.data.fd=p[0]};
	CHECK(epoll_ctl(e,EPOLL_CTL_ADD,p[0],&ev)==0);
	write(p[1],"x",1);
	struct epoll_event out;
	CHECK(epoll_wait(e,&out,1,1000)==1 && out.data.fd==p[0]);
	PASS();
}
