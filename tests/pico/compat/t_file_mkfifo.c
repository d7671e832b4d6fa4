#include "compat.h"

int main(void)
{
	CHECK(mkfifo("ff",0644)==0);
	struct stat st;
	CHECK(stat("ff",&st)==0 && S_ISFIFO(st.st_mode));
	pid_t p=fork();
	if(!p){int w=open("ff",O_WRONLY);
	write(w,"hi",2);
	_exit(0);} int r=open("ff",O_RDONLY);
	char b[2];
	CHECK(read(r,b,2)==2 && !memcmp(b,"hi",2));
	waitpid(p,0,0);
	PASS();
}
