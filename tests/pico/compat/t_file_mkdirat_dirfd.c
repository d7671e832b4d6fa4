#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	int dfd=open("d",O_RDONLY|O_DIRECTORY);
	CHECK(mkdirat(dfd,"sub",0755)==0);
	CHECK(symlinkat("t",dfd,"ln")==0);
	CHECK(renameat(dfd,"sub",dfd,"sub2")==0);
	struct stat st;
	CHECK(stat("d/sub2",&st)==0 && lstat("d/ln",&st)==0);
	PASS();
}
