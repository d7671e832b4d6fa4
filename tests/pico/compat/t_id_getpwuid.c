#include "compat.h"
#include <pwd.h>

int main(void)
{
	struct passwd *p=getpwuid(0);
	CHECK(p && !strcmp(p->pw_name,"root"));
	PASS();
}
