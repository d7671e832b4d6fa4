#include "compat.h"

int main(void)
{
	unsigned long fs=0;
	CHECK(syscall(SYS_arch_prctl,0x1003,&fs)==0 && fs!=0);
	PASS();
}
