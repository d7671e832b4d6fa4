#include "compat.h"
/* Unix sockets named by paths that fit a socket address (107 bytes) in the
 * guest's terms but not once the distro's folder is in front of them; and
 * a Unix address given to an IP socket is the kernel's EAFNOSUPPORT. */
static void talk(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	CHECK(strlen(path) < sizeof a.sun_path);
	strcpy(a.sun_path, path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(l >= 0 && c >= 0);
	CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(l, 1) == 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
	int s = accept(l, 0, 0);
	CHECK(s >= 0);
	CHECK(write(c, "hi", 2) == 2);
	char b[2];
	CHECK(read(s, b, 2) == 2 && memcmp(b, "hi", 2) == 0);
	close(s), close(c), close(l);
}

int main(void)
{
	char cwd[PATH_MAX], dir[128], path[PATH_MAX + 256];
	CHECK(getcwd(cwd, sizeof cwd));
	size_t n = strlen(cwd);
	CHECK(n < 80);
	/* cwd/ddd.../s, 100 bytes in all */
	memset(dir, 'd', 100 - n - 3);
	dir[100 - n - 3] = 0;
	CHECK(mkdir(dir, 0755) == 0);
	snprintf(path, sizeof path, "%s/%s/s", cwd, dir);
	CHECK(strlen(path) == 100);
	talk(path);
	CHECK(chdir(dir) == 0);
	talk("t");

	struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "."};
	int in = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind(in, (struct sockaddr *)&a, sizeof a) == -1 && errno == EAFNOSUPPORT);
	/* getcwd's size is unsigned: a huge one fits, the NULL buffer faults. */
	CHECK(syscall(SYS_getcwd, 0, (size_t)-1) == -1 && errno == EFAULT);
	PASS();
}
