#include "compat.h"

int main(void)
{
	char b[64];
	int fd=open("/proc/self/comm",O_RDONLY);
	ssize_t n=read(fd,b,63);
	CHECK(n>0);
	b[n]=0;
	CHECK(!strncmp(b,"t_proc_comm_is_",15));
	PASS();
}
