#include "compat.h"

int main(void)
{
	CHECK(system("echo redir >out.txt && test \"$(cat out.txt)\" = redir")==0);
	PASS();
}
