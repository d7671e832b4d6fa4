#include "compat.h"

int main(void)
{
	int p[2];
	CHECK(pipe(p)==0);
	char path[32];
	snprintf(path,sizeof path,"/dev/fd/%d",p[1]);
	int w=open(path,O_WRONLY);
	CHECK(w>=0);
	CHECK(write(w,"z",1)==1);
	char b;
	CHECK(read(p[0],&b,1)==1 && b=='z');
	PASS();
}
