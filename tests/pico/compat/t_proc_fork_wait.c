#include "compat.h"

int main(void)
{
	pid_t p=fork();
	CHECK(p>=0);
	if(!p) _exit(7);
	int st;
	CHECK(waitpid(p,&st,0)==p && WIFEXITED(st) && WEXITSTATUS(st)==7);
	PASS();
}
