#include "compat.h"

int main(void)
{
	int p[2];
	CHECK(pipe(p)==0);
	put_file("a","spliced");
	int in=open("a",O_RDONLY);
	CHECK(splice(in,NULL,p[1],NULL,7,0)==7);
	char b[7];
	CHECK(read(p[0],b,7)==7 && !memcmp(b,"spliced",7));
	PASS();
}
