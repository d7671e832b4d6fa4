#include "compat.h"
#include <spawn.h>
extern char **environ;

int main(void)
{
	char *a[]={"true",0};
	for(int i=0;i<50;i++){ pid_t p;
	CHECK(posix_spawnp(&p,"true",0,0,a,environ)==0);
	int st;
	CHECK(waitpid(p,&st,0)==p && WEXITSTATUS(st)==0);}
	PASS();
}
