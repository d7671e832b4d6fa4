#include "compat.h"

int main(void)
{
	int s[2];
	socketpair(AF_UNIX,SOCK_DGRAM,0,s);
	struct iovec io[2]={{"a",1},{"b",1}};
	struct mmsghdr m[2]={{.msg_hdr={.msg_iov=&io[0],.msg_iovlen=1}},{.msg_hdr={.msg_iov=&io[1],.msg_iovlen=1}}};
	CHECK(sendmmsg(s[0],m,2,0)==2);
	char b[2][1];
	struct iovec ri[2]={{b[0],1},{b[1],1}};
	struct mmsghdr r[2]={{.msg_hdr={.msg_iov=&ri[0],.msg_iovlen=1}},{.msg_hdr={.msg_iov=&ri[1],.msg_iovlen=1}}};
	CHECK(recvmmsg(s[1],r,2,0,0)==2);
	PASS();
}
