#include "compat.h"

int main(void)
{
	put_file("a","copy-range");
	int in=open("a",O_RDONLY), out=open("b",O_CREAT|O_WRONLY,0644);
	CHECK(copy_file_range(in,NULL,out,NULL,10,0)==10);
	close(out);
	CHECK(file_is("b","copy-range"));
	PASS();
}
