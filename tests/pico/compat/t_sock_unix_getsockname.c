#include "compat.h"

int main(void)
{
	int l=socket(AF_UNIX,SOCK_STREAM,0);
	struct sockaddr_un a={.sun_family=AF_UNIX};
	strcpy(a.sun_path,"named");
	CHECK(bind(l,(void*)&a,sizeof a)==0);
	struct sockaddr_un b;
	socklen_t n=sizeof b;
	CHECK(getsockname(l,(void*)&b,&n)==0 && b.sun_family==AF_UNIX);
	PASS();
}
