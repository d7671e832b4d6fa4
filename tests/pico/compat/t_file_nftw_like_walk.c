#include "compat.h"

int main(void)
{
	CHECK(mkdir("w",0755)==0);
	CHECK(mkdir("w/a",0755)==0);
	put_file("w/a/f","1");
	put_file("w/g","2");
	int n=0;
	DIR *d=opendir("w");
	struct dirent *e;
	while((e=readdir(d))) if(e->d_name[0]!='.'){ n++;
	char p[300];
	snprintf(p,sizeof p,"w/%s",e->d_name);
	struct stat st;
	CHECK(lstat(p,&st)==0);} CHECK(n==2);
	PASS();
}
