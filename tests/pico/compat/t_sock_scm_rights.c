#include "compat.h"

int main(void)
{
	int s[2];
	socketpair(AF_UNIX,SOCK_STREAM,0,s);
	put_file("passed","fdpass");
	int fd=open("passed",O_RDONLY);
	char c='x';
	struct iovec io={&c,1};
	char cb[CMSG_SPACE(sizeof(int))];
	struct msghdr m={.msg_iov=&io,.msg_iovlen=1,.msg_control=cb,.msg_controllen=sizeof cb};
	struct cmsghdr *h=CMSG_FIRSTHDR(&m);
	h->cmsg_level=SOL_SOCKET;
	h->cmsg_type=SCM_RIGHTS;
	h->cmsg_len=CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h),&fd,sizeof fd);
	CHECK(sendmsg(s[0],&m,0)==1);
	struct msghdr r={.msg_iov=&io,.msg_iovlen=1,.msg_control=cb,.msg_controllen=sizeof cb};
	CHECK(recvmsg(s[1],&r,0)==1);
	int got;
	memcpy(&got,CMSG_DATA(CMSG_FIRSTHDR(&r)),sizeof got);
	char b[6];
	CHECK(read(got,b,6)==6 && !memcmp(b,"fdpass",6));
	PASS();
}
