#include "compat.h"

int main(void)
{
	void *v[10000];
	for(int i=0;i<10000;i++){ v[i]=malloc(i%512+1);
	CHECK(v[i]);} for(int i=0;i<10000;i++) free(v[i]);
	PASS();
}
