#include "compat.h"

int main(void)
{
	int s[2];
	socketpair(AF_UNIX,SOCK_STREAM,0,s);
	CHECK(shutdown(s[0],SHUT_WR)==0);
	char b;
	CHECK(read(s[1],&b,1)==0);
	PASS();
}
