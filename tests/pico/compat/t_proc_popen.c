#include "compat.h"

int main(void)
{
	FILE *f=popen("echo popen-out","r");
	CHECK(f);
	char b[32]={0};
	CHECK(fgets(b,sizeof b,f));
	CHECK(!strcmp(b,"popen-out\n"));
	CHECK(pclose(f)==0);
	PASS();
}
