#include "compat.h"

int main(void)
{
	int c=socket(AF_UNIX,SOCK_STREAM,0);
	struct sockaddr_un a={.sun_family=AF_UNIX};
	strcpy(a.sun_path,"nothere");
	CHECK(connect(c,(void*)&a,sizeof a)<0 && errno==ENOENT);
	PASS();
}
