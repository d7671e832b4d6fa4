#include "compat.h"

int main(void)
{
	struct { uint32_t v;
	int pid;
	} h={0x20080522,0};
	uint32_t d[6];
	CHECK(syscall(SYS_capget,&h,d)==0);
	if(geteuid()!=0) CHECK(d[0]==0);
	PASS();
}
