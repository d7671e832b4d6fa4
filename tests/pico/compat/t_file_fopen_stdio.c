#include "compat.h"

int main(void)
{
	FILE *f=fopen("s","w+");
	CHECK(f);
	fprintf(f,"n=%d\n",42);
	rewind(f);
	int v=0;
	CHECK(fscanf(f,"n=%d",&v)==1 && v==42);
	fclose(f);
	PASS();
}
