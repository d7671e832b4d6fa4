#include "compat.h"

int main(void)
{
	char n[300];
	memset(n,'a',299);
	n[299]=0;
	CHECK(open(n,O_CREAT|O_WRONLY,0644)<0 && errno==ENAMETOOLONG);
	PASS();
}
