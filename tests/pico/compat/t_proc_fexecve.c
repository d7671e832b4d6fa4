#include "compat.h"
extern char **environ;

int main(void)
{
	int fd=open("/bin/true",O_RDONLY);
	CHECK(fd>=0);
	pid_t c=fork();
	if(!c){ char *a[]={"true",0};
	fexecve(fd,a,environ);
	_exit(99);} int st;
	waitpid(c,&st,0);
	CHECK(WIFEXITED(st)&&WEXITSTATUS(st)==0);
	PASS();
}
