#include "compat.h"

int main(void)
{
	char n[32];
	for(int i=0;i<300;i++){ snprintf(n,sizeof n,"f%03d",i);
	put_file(n,"x");
	} DIR *d=opendir(".");
	int c=0;
	struct dirent *e;
	while((e=readdir(d))) if(e->d_name[0]=='f') c++;
	CHECK(c==300);
	for(int i=0;i<300;i++){ snprintf(n,sizeof n,"f%03d",i);
	CHECK(unlink(n)==0);}
	PASS();
}
