#include "compat.h"

int main(void)
{
	put_file("a","x");
	if (setxattr("a","user.test","val",3,0)<0) { CHECK(errno==ENOTSUP);
	PASS();
	} char b[8];
	CHECK(getxattr("a","user.test",b,8)==3 && !memcmp(b,"val",3));
	char l[256];
	ssize_t n=listxattr("a",l,sizeof l);
	CHECK(n>0);
	int found=0;
	for(ssize_t o=0;o<n;o+=strlen(l+o)+1) if(!strcmp(l+o,"user.test")) found=1;
	CHECK(found);
	CHECK(removexattr("a","user.test")==0);
	CHECK(getxattr("a","user.test",b,8)<0 && errno==ENODATA);
	PASS();
}
