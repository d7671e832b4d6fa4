#include "compat.h"

int main(void)
{
	CHECK(getuid()==geteuid() && getgid()==getegid());
	uid_t r,e,s;
	CHECK(getresuid(&r,&e,&s)==0 && r==getuid() && s==r);
	gid_t gr,ge,gs;
	CHECK(getresgid(&gr,&ge,&gs)==0 && gr==getgid());
	PASS();
}
