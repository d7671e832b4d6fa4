#include "compat.h"

int main(void)
{
	int r=socket(AF_UNIX,SOCK_DGRAM,0);
	struct sockaddr_un a={.sun_family=AF_UNIX};
	strcpy(a.sun_path,"dg");
	CHECK(bind(r,(void*)&a,sizeof a)==0);
	int s=socket(AF_UNIX,SOCK_DGRAM,0);
	CHECK(connect(s,(void*)&a,sizeof a)==0);
	CHECK(send(s,"d",1,0)==1);
	char b;
	CHECK(recv(r,&b,1,0)==1 && b=='d');
	PASS();
}
