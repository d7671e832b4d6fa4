#include "compat.h"

int main(void)
{
	put_file("junk","\x01\x02garbage");
	chmod("junk",0755);
	CHECK(execl("./junk","x",(char*)0)<0 && errno==ENOEXEC);
	PASS();
}
