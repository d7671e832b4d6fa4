#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	put_file("d/f","abc");
	int dfd=open("d",O_RDONLY|O_DIRECTORY);
	struct stat st;
	CHECK(fstatat(dfd,"f",&st,0)==0 && st.st_size==3);
	close(dfd);
	PASS();
}
