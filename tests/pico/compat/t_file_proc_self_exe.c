#include "compat.h"

int main(void)
{
	char b[PATH_MAX];
	ssize_t n=readlink("/proc/self/exe",b,sizeof b-1);
	CHECK(n>0);
	b[n]=0;
	CHECK(strstr(b,"t_file_proc_self_exe")!=NULL);
	CHECK(access(b,X_OK)==0);
	PASS();
}
