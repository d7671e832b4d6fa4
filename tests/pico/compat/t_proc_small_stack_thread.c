#include "compat.h"
#include <spawn.h>
static void *tf(void *a){ struct stat st; char b[256]; int ok = stat("/usr/bin/../bin/sh",&st)==0 && readlink("/proc/self/exe",b,sizeof b)>0 && access("/etc/passwd",R_OK)==0; pid_t p; char *av[]={"true",0}; extern char **environ; ok = ok && posix_spawn(&p,"/bin/true",0,0,av,environ)==0; int s; ok = ok && waitpid(p,&s,0)==p && WIFEXITED(s) && WEXITSTATUS(s)==0; *(long*)a = ok ? 0 : 1; return 0; }

int main(void)
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	CHECK(pthread_attr_setstacksize(&at,32768)==0);
	pthread_t th;
	long r=-1;
	CHECK(pthread_create(&th,&at,tf,&r)==0);
	pthread_join(th,0);
	CHECK(r==0);
	PASS();
}
