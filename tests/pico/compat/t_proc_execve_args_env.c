#include "compat.h"

int main(void)
{
	int p[2];
	pipe(p);
	pid_t c=fork();
	if(!c){ dup2(p[1],1);
	char *a[]={"sh","-c","echo $0-$1-$FOO","x","y",0};
	char *e[]={"FOO=bar",0};
	execve("/bin/sh",a,e);
	_exit(99);} close(p[1]);
	char b[64]={0};
	read(p[0],b,63);
	waitpid(c,0,0);
	CHECK(!strcmp(b,"x-y-bar\n"));
	PASS();
}
