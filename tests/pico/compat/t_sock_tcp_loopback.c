#include "compat.h"

int main(void)
{
	int l=socket(AF_INET,SOCK_STREAM,0);
	struct sockaddr_in a={.sin_family=AF_INET,.sin_addr.s_addr=htonl(INADDR_LOOPBACK)};
	CHECK(bind(l,(void*)&a,sizeof a)==0);
	socklen_t n=sizeof a;
	getsockname(l,(void*)&a,&n);
	CHECK(listen(l,4)==0);
	int c=socket(AF_INET,SOCK_STREAM,0);
	CHECK(connect(c,(void*)&a,sizeof a)==0);
	int s=accept4(l,0,0,SOCK_CLOEXEC);
	CHECK(s>=0);
	CHECK(send(c,"tcp",3,0)==3);
	char b[3];
	CHECK(recv(s,b,3,MSG_WAITALL)==3);
	PASS();
}
