#include "compat.h"

int main(void)
{
	int s[2];
	socketpair(AF_UNIX,SOCK_STREAM,0,s);
	int on=1;
	setsockopt(s[1],SOL_SOCKET,SO_PASSCRED,&on,sizeof on);
	struct ucred cr;
	socklen_t n=sizeof cr;
	CHECK(getsockopt(s[0],SOL_SOCKET,SO_PEERCRED,&cr,&n)==0 && cr.pid==getpid());
	PASS();
}
