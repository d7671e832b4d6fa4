#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	put_file("d/one","1");
	put_file("d/two","2");
	DIR *d=opendir("d");
	CHECK(d);
	int n=0;
	struct dirent *e;
	while((e=readdir(d))) if(e->d_name[0]!='.') n++;
	closedir(d);
	CHECK(n==2);
	PASS();
}
