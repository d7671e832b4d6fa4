#include "compat.h"

int main(void)
{
	setenv("TZ","UTC",1);
	tzset();
	time_t t=0;
	struct tm *m=localtime(&t);
	CHECK(m && m->tm_year==70);
	PASS();
}
