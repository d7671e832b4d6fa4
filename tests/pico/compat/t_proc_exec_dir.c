#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	CHECK(execl("./d","d",(char*)0)<0 && errno==EACCES);
	PASS();
}
