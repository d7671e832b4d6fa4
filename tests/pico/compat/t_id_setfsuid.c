#include "compat.h"
#include <sys/fsuid.h>

int main(void)
{
	int old=setfsuid(-1);
	CHECK(old==(int)geteuid());
	PASS();
}
