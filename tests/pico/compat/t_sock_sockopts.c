#include "compat.h"

int main(void)
{
	int s=socket(AF_INET,SOCK_STREAM,0);
	int v=1;
	CHECK(setsockopt(s,SOL_SOCKET,SO_REUSEADDR,&v,sizeof v)==0);
	socklen_t n=sizeof v;
	v=0;
	CHECK(getsockopt(s,SOL_SOCKET,SO_REUSEADDR,&v,&n)==0 && v);
	CHECK(getsockopt(s,SOL_SOCKET,SO_TYPE,&v,&n)==0 && v==SOCK_STREAM);
	PASS();
}
