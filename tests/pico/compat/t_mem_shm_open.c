#include "compat.h"

int main(void)
{
	int fd=shm_open("/lxs-compat-shm",O_CREAT|O_RDWR,0600);
	CHECK(fd>=0);
	CHECK(ftruncate(fd,4096)==0);
	CHECK(shm_unlink("/lxs-compat-shm")==0);
	PASS();
}
