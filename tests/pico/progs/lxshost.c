/*
 * lxshost.c - a stand-in for lxs's bin/lxs-host in tests/pico/run.sh's
 * tools folder (built static with musl, as the real one is). It says how
 * it was started, and:
 *   exe           reads /proc/self/exe
 *   connect PATH  sends "ping" to the Unix socket PATH, prints the reply
 *   ro DIR        tries the calls that change a file by fd or by a path
 *                 the shell's tools cannot reach, in the read-only DIR
 *                 (which holds bin/lxs-host), one "NAME=errno" each
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

static void report(const char *name, long r)
{
	printf("%s=%d\n", name, r < 0 ? errno : 0);
}

static int ro(const char *dir)
{
	char f[4096], p[4096];
	snprintf(f, sizeof f, "%s/bin/lxs-host", dir);
	int fd = open(f, O_RDONLY), dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || dfd < 0) {
		perror(f);
		return 1;
	}
	report("fchmod", fchmod(fd, 0777));
	report("fchown", fchown(fd, 0, 0));
	report("truncate", truncate(f, 0));
	report("setxattr", setxattr(f, "user.x", "v", 1, 0));
	report("fsetxattr", fsetxattr(fd, "user.x", "v", 1, 0));
	report("removexattr", removexattr(f, "user.x"));
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	report("reopen_write", open(p, O_WRONLY));
	report("open_rdwr", open(f, O_RDWR));
	report("open_creat_there", open(f, O_RDONLY | O_CREAT, 0644));
	report("open_creat_excl", open(f, O_RDONLY | O_CREAT | O_EXCL, 0644));
	report("access_w", access(f, W_OK));
	report("access_x", access(f, X_OK));
	snprintf(p, sizeof p, "%s/fifo", dir);
	report("mkfifo", mkfifo(p, 0644));
	report("openat_creat", openat(dfd, "new", O_WRONLY | O_CREAT, 0644));
	report("mkdirat", mkdirat(dfd, "new", 0755));
	report("utimensat_empty", utimensat(fd, "", NULL, AT_EMPTY_PATH));
	report("linkat_empty", linkat(fd, "", AT_FDCWD, "/tmp/lxshost-link", AT_EMPTY_PATH));
	struct {
		unsigned long long flags, mode, resolve;
	} how = {O_WRONLY | O_CREAT, 0644, 0x08 /* RESOLVE_IN_ROOT */};
	report("openat2_in_root", syscall(SYS_openat2, dfd, "bin/new", &how, sizeof how));
	how.resolve = 0x04; /* RESOLVE_NO_SYMLINKS */
	snprintf(p, sizeof p, "%s/new", dir);
	report("openat2_no_symlinks", syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how));
	struct sockaddr_un a = {AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof a.sun_path, "%s/new.sock", dir);
	report("bind", bind(s, (struct sockaddr *)&a, sizeof a));
	return 0;
}

int main(int argc, char **argv)
{
	printf("lxs-host argv0=%s uid=%d\n", argv[0], (int)getuid());
	if (argc > 1 && !strcmp(argv[1], "exe")) {
		char b[4096];
		ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1);
		printf("exe=%.*s\n", n < 0 ? 0 : (int)n, b);
	}
	if (argc > 2 && !strcmp(argv[1], "ro"))
		return ro(argv[2]);
	if (argc > 2 && !strcmp(argv[1], "connect")) {
		struct sockaddr_un a = {AF_UNIX};
		char b[64];
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[2]);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
			perror("connect");
			return 1;
		}
		if (write(s, "ping\n", 5) != 5)
			return 1;
		ssize_t n = read(s, b, sizeof b - 1);
		printf("reply=%.*s\n", n < 0 ? 0 : (int)n, b);
	}
	return 0;
}
