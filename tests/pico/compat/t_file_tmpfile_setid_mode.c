#include "compat.h"
/* An O_TMPFILE file keeps the mode it was made with, set-id bits too,
 * through a write and a link to a name. */
int main(void)
{
	struct stat st;
	mode_t m = umask(022);
	(void)m;
	int fd = open(".", O_TMPFILE | O_RDWR, 07755);
	if (fd < 0 && errno == EOPNOTSUPP) /* a file system without O_TMPFILE */
		PASS();
	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 07755);
	if (geteuid() == 0) /* only root keeps them through a write (CAP_FSETID) */
		CHECK(write(fd, "x", 1) == 1 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 07755);
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	CHECK(linkat(AT_FDCWD, p, AT_FDCWD, "named", AT_SYMLINK_FOLLOW) == 0);
	CHECK(lstat("named", &st) == 0 && S_ISREG(st.st_mode));
	PASS();
}
