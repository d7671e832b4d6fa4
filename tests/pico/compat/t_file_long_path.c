#include "compat.h"

int main(void)
{
	char p[PATH_MAX]=".";
	for(int i=0;i<40;i++){ strcat(p,"/dddddddddddddddddddddddd");
	CHECK(mkdir(p,0755)==0);} strcat(p,"/f");
	put_file(p,"deep");
	CHECK(file_is(p,"deep"));
	PASS();
}
