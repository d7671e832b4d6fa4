#include "compat.h"
static int cmp(const void *x,const void *y){ return *(int*)x-*(int*)y; }

int main(void)
{
	int a[5]={5,3,1,4,2};
	qsort(a,5,sizeof(int),cmp);
	CHECK(a[0]==1&&a[4]==5);
	PASS();
}
