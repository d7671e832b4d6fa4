#include "compat.h"

int main(void)
{
	CHECK(mkdir("d",0755)==0);
	put_file("d/f","1");
	CHECK(mkdir("d/s",0755)==0);
	CHECK(symlink("f","d/l")==0);
	DIR *d=opendir("d");
	struct dirent *e;
	int ok=0;
	while((e=readdir(d))){ if(!strcmp(e->d_name,"f")&&e->d_type==DT_REG) ok++;
	if(!strcmp(e->d_name,"s")&&e->d_type==DT_DIR) ok++;
	if(!strcmp(e->d_name,"l")&&e->d_type==DT_LNK) ok++;
	} closedir(d);
	CHECK(ok==3);
	PASS();
}
