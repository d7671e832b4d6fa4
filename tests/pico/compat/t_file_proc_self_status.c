#include "compat.h"

int main(void)
{
	FILE *f=fopen("/proc/self/status","r");
	CHECK(f);
	char l[256];
	int ok=0;
	while(fgets(l,sizeof l,f)) if(!strncmp(l,"Pid:",4) && atoi(l+4)==getpid()) ok=1;
	CHECK(ok);
	PASS();
}
