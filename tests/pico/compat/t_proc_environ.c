#include "compat.h"

int main(void)
{
	CHECK(setenv("XYZ","123",1)==0 && !strcmp(getenv("XYZ"),"123"));
	CHECK(getenv("PATH")!=NULL);
	PASS();
}
