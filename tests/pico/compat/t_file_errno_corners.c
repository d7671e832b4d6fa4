#include "compat.h"
#include <linux/stat.h>
/* The kernel's answers where a translator is tempted to give its own:
 * flags checked before paths, a file as the folder to start from, the link
 * an O_PATH descriptor holds, O_PATH descriptors refused for metadata, and
 * the xattr namespaces and file types. */
#define FAILS(expr, e) CHECK((expr) == -1 && errno == (e))
int main(void)
{
	char buf[256];
	struct stat st;
	struct statx sx;
	int f = open("f", O_CREAT | O_RDWR, 0644);
	CHECK(f >= 0 && symlink("f", "l") == 0 && mkfifo("p", 0644) == 0);
	int out = open("/dev/null", O_WRONLY);
	FAILS(syscall(SYS_statx, out, "f", 0, 0, &sx), ENOTDIR);
	FAILS(syscall(SYS_statx, f, "f", 0, 0, &sx), ENOTDIR);
	FAILS(fstatat(out, "f", &st, 0), ENOTDIR);
	FAILS(fstatat(AT_FDCWD, "f", &st, 0x1234), EINVAL);
	FAILS(utimensat(AT_FDCWD, "f", NULL, 0x1234), EINVAL);
	FAILS(linkat(AT_FDCWD, "f", AT_FDCWD, "g", 0x1234), EINVAL);
	FAILS(fchownat(AT_FDCWD, "f", -1, -1, 0x1234), EINVAL);
	FAILS(syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, -1), EINVAL);
	FAILS(syscall(SYS_faccessat2, AT_FDCWD, "f", -1, 0), EINVAL);
	FAILS(syscall(SYS_faccessat2, f, "f", R_OK, 0), ENOTDIR);
	FAILS(syscall(452 /* fchmodat2 */, AT_FDCWD, "f", 0644, -1), EINVAL);

	int lp = open("l", O_PATH | O_NOFOLLOW);
	CHECK(lp >= 0);
	memset(buf, 0, sizeof buf);
	CHECK(readlinkat(lp, "", buf, sizeof buf) == 1 && strcmp(buf, "f") == 0);
	int fp = open("f", O_PATH);
	CHECK(fp >= 0);
	FAILS(fchmod(fp, 0600), EBADF);
	FAILS(fchown(fp, -1, -1), EBADF);
	CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 0644);

	FAILS(setxattr("f", "foo.x", "v", 1, 0), EOPNOTSUPP);
	FAILS(getxattr("f", "foo.x", buf, sizeof buf), EOPNOTSUPP);
	FAILS(setxattr("p", "user.x", "v", 1, 0), EPERM);
	FAILS(getxattr("p", "user.x", buf, sizeof buf), ENODATA);
	CHECK(setxattr("f", "user.a", "1", 1, 0) == 0 && setxattr("f", "user.bb", "2", 1, 0) == 0);
	/* exactly the guest's list fits; one byte less does not */
	long n = listxattr("f", NULL, 0);
	CHECK(n >= 13);
	CHECK(listxattr("f", buf, n) == n);
	FAILS(listxattr("f", buf, n - 1), ERANGE);
	PASS();
}
