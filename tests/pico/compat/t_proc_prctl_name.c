#include "compat.h"
#include <sys/prctl.h>

int main(void)
{
	CHECK(prctl(PR_SET_NAME,"mytest",0,0,0)==0);
	char n[17]={0};
	CHECK(prctl(PR_GET_NAME,n,0,0,0)==0 && !strcmp(n,"mytest"));
	CHECK(file_is("/proc/self/comm","mytest\n"));
	PASS();
}
