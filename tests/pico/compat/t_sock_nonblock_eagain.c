#include "compat.h"

int main(void)
{
	int s[2];
	socketpair(AF_UNIX,SOCK_STREAM|SOCK_NONBLOCK,0,s);
	char b;
	CHECK(read(s[0],&b,1)<0 && errno==EAGAIN);
	PASS();
}
