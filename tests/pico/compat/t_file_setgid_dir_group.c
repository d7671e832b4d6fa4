#include "compat.h"
/* Names made in a set-group-id folder take the folder's group, and new
 * folders its set-group-id bit. Root gives the folder a group of its own
 * (4242); an ordinary user can only use its own group. */
int main(void)
{
	gid_t g = geteuid() == 0 ? 4242 : getegid();
	struct stat st;
	CHECK(mkdir("d", 0755) == 0);
	CHECK(chown("d", -1, g) == 0 && chmod("d", 02775) == 0);
	CHECK(stat("d", &st) == 0 && (st.st_mode & S_ISGID) && st.st_gid == g);
	put_file("d/f", "x");
	CHECK(stat("d/f", &st) == 0 && st.st_gid == g && !(st.st_mode & S_ISGID));
	CHECK(mkdir("d/sub", 0755) == 0);
	CHECK(stat("d/sub", &st) == 0 && st.st_gid == g && (st.st_mode & S_ISGID));
	int fd = open("d/sub/f2", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_gid == g);
	close(fd);
	/* outside it, the creator's group */
	put_file("plain", "y");
	CHECK(stat("plain", &st) == 0 && st.st_gid == getegid());
	PASS();
}
