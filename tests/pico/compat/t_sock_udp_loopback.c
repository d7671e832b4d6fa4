#include "compat.h"

int main(void)
{
	int r=socket(AF_INET,SOCK_DGRAM,0);
	struct sockaddr_in a={.sin_family=AF_INET,.sin_addr.s_addr=htonl(INADDR_LOOPBACK)};
	bind(r,(void*)&a,sizeof a);
	socklen_t n=sizeof a;
	getsockname(r,(void*)&a,&n);
	int s=socket(AF_INET,SOCK_DGRAM,0);
	CHECK(sendto(s,"u",1,0,(void*)&a,sizeof a)==1);
	char b;
	struct sockaddr_in from;
	n=sizeof from;
	CHECK(recvfrom(r,&b,1,0,(void*)&from,&n)==1 && b=='u');
	PASS();
}
