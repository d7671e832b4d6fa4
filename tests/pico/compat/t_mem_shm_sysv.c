#include "compat.h"
#include <sys/shm.h>

int main(void)
{
	int id=shmget(IPC_PRIVATE,4096,IPC_CREAT|0600);
	CHECK(id>=0);
	char *p=shmat(id,0,0);
	CHECK(p!=(void*)-1);
	strcpy(p,"sysv");
	CHECK(shmdt(p)==0);
	CHECK(shmctl(id,IPC_RMID,0)==0);
	PASS();
}
