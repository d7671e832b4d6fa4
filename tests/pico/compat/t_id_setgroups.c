#include "compat.h"
#include <grp.h>

int main(void)
{
	int r=setgroups(0,0);
	if(geteuid()==0) CHECK(r==0);
	else CHECK(r<0 && errno==EPERM);
	PASS();
}
