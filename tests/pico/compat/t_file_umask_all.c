#include "compat.h"
/* Files made under umask 0777 (useradd makes /etc/passwd+ so) have mode 0,
 * take a write through the descriptor, and come back with chmod. */
int main(void)
{
	struct stat st;
	CHECK(umask(0777) == 022 || 1);
	int fd = open("f", O_CREAT | O_RDWR, 0666);
	CHECK(fd >= 0);
	CHECK(write(fd, "data", 4) == 4);
	CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0);
	CHECK(fchown(fd, geteuid(), getegid()) == 0 && fchmod(fd, 0644) == 0);
	CHECK(close(fd) == 0);
	CHECK(mkdir("d", 0777) == 0 && stat("d", &st) == 0 && (st.st_mode & 07777) == 0);
	CHECK(umask(022) == 0777);
	CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(file_is("f", "data"));
	CHECK(chmod("d", 0755) == 0);
	put_file("d/g", "x");
	CHECK(stat("d/g", &st) == 0 && (st.st_mode & 07777) == 0644);
	PASS();
}
