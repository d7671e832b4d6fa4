#include "compat.h"
#include <sys/msg.h>

int main(void)
{
	int id=msgget(IPC_PRIVATE,IPC_CREAT|0600);
	CHECK(id>=0);
	struct { long t;
	char m[8];
	} a={1,"hi"}, b;
	CHECK(msgsnd(id,&a,8,0)==0);
	CHECK(msgrcv(id,&b,8,0,0)==8 && !strcmp(b.m,"hi"));
	msgctl(id,IPC_RMID,0);
	PASS();
}
