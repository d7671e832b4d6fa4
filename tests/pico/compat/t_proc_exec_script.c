#include "compat.h"

int main(void)
{
	put_file("s.sh","#!/bin/sh\nexit 5\n");
	chmod("s.sh",0755);
	pid_t c=fork();
	if(!c){ execl("./s.sh","s.sh",(char*)0);
	_exit(99);} int st;
	waitpid(c,&st,0);
	CHECK(WIFEXITED(st)&&WEXITSTATUS(st)==5);
	PASS();
}
