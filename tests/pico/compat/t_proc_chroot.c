#include "compat.h"
/* chroot: a folder becomes "/" for root (and its children); ".." stops
 * there; an ordinary user is refused. */
int main(void)
{
	struct stat st;
	char cwd[PATH_MAX];
	CHECK(mkdir("j", 0755) == 0 && mkdir("j/sub", 0755) == 0);
	put_file("j/marker", "inside");
	put_file("outside", "out");
	if (geteuid() != 0) {
		CHECK(chroot("j") == -1 && errno == EPERM);
		PASS();
	}
	CHECK(chroot("nonexistent") == -1 && errno == ENOENT);
	CHECK(chroot("outside") == -1 && errno == ENOTDIR);
	CHECK(chroot("j") == 0);
	CHECK(chdir("/") == 0);
	CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0);
	CHECK(file_is("/marker", "inside") && file_is("/../../marker", "inside"));
	CHECK(stat("/sub", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(stat("/outside", &st) == -1 && errno == ENOENT);
	CHECK(chdir("/sub/..") == 0 && getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0);
	pid_t p = fork();
	if (p == 0)
		_exit(file_is("/marker", "inside") ? 0 : 1);
	int ws;
	CHECK(waitpid(p, &ws, 0) == p && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	PASS();
}
