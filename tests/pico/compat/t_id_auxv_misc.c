#include "compat.h"
#include <sys/auxv.h>

int main(void)
{
	CHECK(getauxval(AT_PAGESZ)==4096);
	CHECK(getauxval(AT_RANDOM)!=0);
	const char *fn=(const char*)getauxval(AT_EXECFN);
	CHECK(fn && strstr(fn,"t_id_auxv_misc"));
	CHECK(getauxval(AT_SYSINFO_EHDR)!=0);
	CHECK(getauxval(AT_SECURE)==0);
	PASS();
}
