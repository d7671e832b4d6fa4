#include "compat.h"

int main(void)
{
	put_file("s","#!/bin/sh -e\n[ \"$1\" = one ] && exit 6\n");
	chmod("s",0755);
	pid_t c=fork();
	if(!c){ execl("./s","s","one",(char*)0);
	_exit(99);} int st;
	waitpid(c,&st,0);
	CHECK(WIFEXITED(st)&&WEXITSTATUS(st)==6);
	PASS();
}
