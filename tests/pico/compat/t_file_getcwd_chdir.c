#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	char a[PATH_MAX],b[PATH_MAX];
	CHECK(getcwd(a,sizeof a));
	CHECK(chdir("d")==0);
	CHECK(getcwd(b,sizeof b));
	CHECK(strlen(b)==strlen(a)+2 && !strcmp(b+strlen(a),"/d"));
	CHECK(chdir("..")==0);
	CHECK(getcwd(b,sizeof b) && !strcmp(a,b));
	PASS();
}
