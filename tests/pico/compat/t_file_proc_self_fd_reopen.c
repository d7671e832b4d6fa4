#include "compat.h"

int main(void)
{
	put_file("a","reopen");
	int fd=open("a",O_RDONLY);
	char p[64];
	snprintf(p,sizeof p,"/proc/self/fd/%d",fd);
	CHECK(file_is(p,"reopen"));
	PASS();
}
