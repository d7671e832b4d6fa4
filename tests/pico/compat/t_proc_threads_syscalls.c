#include "compat.h"
static void *tf(void *a){ (void)a; long bad=0; for(int i=0;i<500;i++){ struct stat st; char c[PATH_MAX]; if(stat(".",&st)||!getcwd(c,sizeof c)) bad++; int fd=open(".",O_RDONLY); if(fd<0) bad++; else close(fd);} return (void*)bad; }

int main(void)
{
	pthread_t th[4];
	for(int i=0;i<4;i++) pthread_create(&th[i],0,tf,0);
	long bad=0;
	for(int i=0;i<4;i++){ void *r;
	pthread_join(th[i],&r);
	bad+=(long)r;} CHECK(bad==0);
	PASS();
}
