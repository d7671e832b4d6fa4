#include "compat.h"
#include <spawn.h>
extern char **environ;

int main(void)
{
	pid_t p;
	char *a[]={"sh","-c","exit 4",0};
	CHECK(posix_spawn(&p,"/bin/sh",0,0,a,environ)==0);
	int st;
	waitpid(p,&st,0);
	CHECK(WEXITSTATUS(st)==4);
	PASS();
}
