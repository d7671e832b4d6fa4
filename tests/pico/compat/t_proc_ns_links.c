#include "compat.h"

/* /proc/<pid>/ns/<name>: magic links that open, stat and readlink. */
int main(void)
{
	char buf[256], path[64];
	const char *names[] = {"net", "uts", "ipc", "mnt", "pid", "user", "cgroup"};
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
		ssize_t n = readlink(path, buf, sizeof buf - 1);
		CHECK(n > 0);
		buf[n] = 0;
		CHECK(strncmp(buf, names[i], strlen(names[i])) == 0 && buf[strlen(names[i])] == ':');
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0);
		struct stat a, b, l;
		CHECK(fstat(fd, &a) == 0 && stat(path, &b) == 0);
		CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		CHECK(lstat(path, &l) == 0 && S_ISLNK(l.st_mode));
		close(fd);
	}
	struct stat a, b;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)getpid());
	CHECK(stat(path, &a) == 0 && stat("/proc/thread-self/ns/net", &b) == 0 && a.st_ino == b.st_ino);
	snprintf(path, sizeof path, "/proc/self/task/%d/ns/uts", (int)gettid());
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	fd = open("/proc/self/ns/uts", O_PATH);
	CHECK(fd >= 0);
	close(fd);
	PASS();
}
