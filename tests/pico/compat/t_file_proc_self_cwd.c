#include "compat.h"

int main(void)
{
	char a[PATH_MAX],b[PATH_MAX];
	CHECK(getcwd(a,sizeof a));
	ssize_t n=readlink("/proc/self/cwd",b,sizeof b-1);
	CHECK(n>0);
	b[n]=0;
	CHECK(!strcmp(a,b));
	PASS();
}
