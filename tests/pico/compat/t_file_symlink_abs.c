#include "compat.h"

int main(void)
{
	char cwd[PATH_MAX], t2[PATH_MAX+8];
	CHECK(getcwd(cwd,sizeof cwd));
	put_file("f","abs");
	snprintf(t2,sizeof t2,"%s/f",cwd);
	CHECK(symlink(t2,"l")==0);
	CHECK(file_is("l","abs"));
	PASS();
}
