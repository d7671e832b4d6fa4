#include "compat.h"
#include <sys/sendfile.h>

int main(void)
{
	put_file("a","sendfile-data");
	int in=open("a",O_RDONLY), out=open("b",O_CREAT|O_WRONLY,0644);
	CHECK(sendfile(out,in,NULL,13)==13);
	close(out);
	CHECK(file_is("b","sendfile-data"));
	PASS();
}
