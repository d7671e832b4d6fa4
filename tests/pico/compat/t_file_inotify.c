#include "compat.h"
#include <sys/inotify.h>

int main(void)
{
	int in=inotify_init1(IN_NONBLOCK);
	CHECK(in>=0);
	CHECK(inotify_add_watch(in,".",IN_CREATE)>=0);
	put_file("new","x");
	char buf[4096];
	struct pollfd p={in,POLLIN,0};
	CHECK(poll(&p,1,2000)==1);
	ssize_t n=read(in,buf,sizeof buf);
	CHECK(n>0);
	struct inotify_event *e=(void*)buf;
	CHECK(e->mask&IN_CREATE && !strcmp(e->name,"new"));
	PASS();
}
