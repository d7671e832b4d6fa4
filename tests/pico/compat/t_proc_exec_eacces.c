#include "compat.h"

int main(void)
{
	put_file("noexec","#!/bin/sh\n");
	chmod("noexec",0644);
	CHECK(execl("./noexec","x",(char*)0)<0 && errno==EACCES);
	PASS();
}
