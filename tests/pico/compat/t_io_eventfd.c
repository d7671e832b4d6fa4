#include "compat.h"

int main(void)
{
	int fd=eventfd(3,0);
	CHECK(fd>=0);
	uint64_t v=4;
	CHECK(write(fd,&v,8)==8);
	CHECK(read(fd,&v,8)==8 && v==7);
	PASS();
}
