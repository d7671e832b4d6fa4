#include "compat.h"

int main(void)
{
	CHECK(WEXITSTATUS(system("exit 3"))==3);
	PASS();
}
