#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	put_file("d/f","in");
	int fd=open("d",O_RDONLY|O_DIRECTORY);
	CHECK(fchdir(fd)==0);
	CHECK(file_is("f","in"));
	PASS();
}
