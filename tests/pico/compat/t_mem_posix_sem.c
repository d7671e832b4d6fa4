#include "compat.h"
#include <semaphore.h>

int main(void)
{
	sem_t s;
	CHECK(sem_init(&s,0,0)==0);
	CHECK(sem_post(&s)==0);
	CHECK(sem_wait(&s)==0);
	CHECK(sem_trywait(&s)<0 && errno==EAGAIN);
	PASS();
}
