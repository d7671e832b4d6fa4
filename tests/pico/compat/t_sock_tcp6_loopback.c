#include "compat.h"

int main(void)
{
	int l=socket(AF_INET6,SOCK_STREAM,0);
	if(l<0) PASS();
	struct sockaddr_in6 a={.sin6_family=AF_INET6,.sin6_addr=IN6ADDR_LOOPBACK_INIT};
	if(bind(l,(void*)&a,sizeof a)<0) PASS();
	socklen_t n=sizeof a;
	getsockname(l,(void*)&a,&n);
	listen(l,1);
	int c=socket(AF_INET6,SOCK_STREAM,0);
	CHECK(connect(c,(void*)&a,sizeof a)==0);
	PASS();
}
