#include "compat.h"
#include <dlfcn.h>

int main(void)
{
	void *h=dlopen("libm.so.6",RTLD_NOW);
	CHECK(h);
	double (*c)(double)=(double(*)(double))dlsym(h,"cos");
	CHECK(c && c(0.0)==1.0);
	PASS();
}
