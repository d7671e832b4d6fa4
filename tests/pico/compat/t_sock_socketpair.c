#include "compat.h"

int main(void)
{
	int s[2];
	CHECK(socketpair(AF_UNIX,SOCK_STREAM,0,s)==0);
	CHECK(write(s[0],"ping",4)==4);
	char b[4];
	CHECK(read(s[1],b,4)==4 && !memcmp(b,"ping",4));
	PASS();
}
