#include "compat.h"
#include <stddef.h>

int main(void)
{
	int l=socket(AF_UNIX,SOCK_STREAM,0);
	struct sockaddr_un a={.sun_family=AF_UNIX};
	snprintf(a.sun_path+1,100,"lxs-compat-%d",getpid());
	socklen_t n=offsetof(struct sockaddr_un,sun_path)+1+strlen(a.sun_path+1);
	CHECK(bind(l,(void*)&a,n)==0);
	listen(l,1);
	int c=socket(AF_UNIX,SOCK_STREAM,0);
	CHECK(connect(c,(void*)&a,n)==0);
	PASS();
}
