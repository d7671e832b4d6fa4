#include "compat.h"

int main(void)
{
	time_t t=86400;
	struct tm m;
	gmtime_r(&t,&m);
	char b[32];
	CHECK(strftime(b,sizeof b,"%Y-%m-%d",&m)==10 && !strcmp(b,"1970-01-02"));
	PASS();
}
