#include "compat.h"
#include <sys/sem.h>

int main(void)
{
	int id=semget(IPC_PRIVATE,1,IPC_CREAT|0600);
	CHECK(id>=0);
	struct sembuf op={0,1,0};
	CHECK(semop(id,&op,1)==0);
	CHECK(semctl(id,0,GETVAL)==1);
	semctl(id,0,IPC_RMID);
	PASS();
}
