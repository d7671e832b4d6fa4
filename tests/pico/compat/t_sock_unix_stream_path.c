#include "compat.h"

int main(void)
{
	int l=socket(AF_UNIX,SOCK_STREAM,0);
	struct sockaddr_un a={.sun_family=AF_UNIX};
	strcpy(a.sun_path,"sock");
	CHECK(bind(l,(void*)&a,sizeof a)==0);
	CHECK(listen(l,1)==0);
	struct stat st;
	CHECK(stat("sock",&st)==0 && S_ISSOCK(st.st_mode));
	int c=socket(AF_UNIX,SOCK_STREAM,0);
	CHECK(connect(c,(void*)&a,sizeof a)==0);
	int s=accept(l,0,0);
	CHECK(s>=0);
	CHECK(write(c,"hi",2)==2);
	char b[2];
	CHECK(read(s,b,2)==2);
	PASS();
}
