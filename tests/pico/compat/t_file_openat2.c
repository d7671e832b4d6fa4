#include "compat.h"
#include <linux/openat2.h>

/* openat2: the struct checked as Linux checks it, and the RESOLVE_* flags
 * on paths in the distro and in /proc; name_to_handle_at on a translated
 * path; open_by_handle_at refused to whoever lacks CAP_DAC_READ_SEARCH in
 * the host. */
static int o2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

#define FAILS(call, e)                                   \
	do {                                             \
		errno = 0;                               \
		CHECK((call) == -1 && errno == (e));     \
	} while (0)

int main(void)
{
	CHECK(mkdir("d", 0755) == 0);
	int fd = open("d/f", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	CHECK(symlink("f", "d/l") == 0);
	CHECK(symlink("/etc/passwd", "abs") == 0);

	/* the struct */
	char big[64];
	memset(big, 0, sizeof big);
	struct open_how *h = (struct open_how *)big;
	h->flags = O_RDONLY;
	CHECK((fd = (int)syscall(SYS_openat2, AT_FDCWD, "d/f", h, sizeof big)) >= 0);
	close(fd);
	FAILS(syscall(SYS_openat2, AT_FDCWD, "d/f", h, 16), EINVAL);
	big[40] = 1;
	FAILS(syscall(SYS_openat2, AT_FDCWD, "d/f", h, sizeof big), E2BIG);
	FAILS(o2(AT_FDCWD, "d/f", 1ULL << 40, 0, 0), EINVAL);
	FAILS(o2(AT_FDCWD, "d/f", O_RDONLY, 0, 0x1000), EINVAL);
	FAILS(o2(AT_FDCWD, "d/f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT), EINVAL);
	FAILS(o2(AT_FDCWD, "d/f", O_RDONLY, 0644, 0), EINVAL);
	FAILS(o2(AT_FDCWD, "d/f", O_PATH | O_RDWR, 0, 0), EINVAL);
	FAILS(o2(AT_FDCWD, "d/g", O_CREAT | O_WRONLY, 0644, RESOLVE_CACHED), EAGAIN);

	/* resolve 0: as openat */
	CHECK((fd = o2(AT_FDCWD, "d/n0", O_CREAT | O_WRONLY, 0640, 0)) >= 0);
	close(fd);
	struct stat st;
	CHECK(stat("d/n0", &st) == 0 && S_ISREG(st.st_mode));

	/* RESOLVE_NO_SYMLINKS */
	FAILS(o2(AT_FDCWD, "d/l", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
	CHECK((fd = o2(AT_FDCWD, "d/../d/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS)) >= 0);
	close(fd);
	CHECK((fd = o2(AT_FDCWD, "d/l", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS)) >= 0);
	close(fd);
	FAILS(o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);

	/* RESOLVE_BENEATH */
	int d = open("d", O_DIRECTORY | O_RDONLY);
	CHECK(d >= 0);
	CHECK((fd = o2(d, "l", O_RDONLY, 0, RESOLVE_BENEATH)) >= 0);
	char c;
	CHECK(read(fd, &c, 1) == 1 && c == 'x');
	close(fd);
	FAILS(o2(d, "../d/f", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	FAILS(o2(d, "/etc/passwd", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	FAILS(o2(AT_FDCWD, "abs", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	CHECK((fd = o2(d, "new", O_CREAT | O_EXCL | O_WRONLY, 0600, RESOLVE_BENEATH)) >= 0);
	close(fd);
	CHECK(stat("d/new", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	FAILS(o2(d, "new", O_CREAT | O_EXCL | O_WRONLY, 0600, RESOLVE_BENEATH), EEXIST);

	/* RESOLVE_IN_ROOT: the cwd as the root, "/" and absolute links in it */
	CHECK((fd = o2(AT_FDCWD, "/d/f", O_RDONLY, 0, RESOLVE_IN_ROOT)) >= 0);
	close(fd);
	FAILS(o2(AT_FDCWD, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT), ENOENT);
	CHECK((fd = o2(d, "../../f", O_RDONLY, 0, RESOLVE_IN_ROOT)) >= 0);
	close(fd);

	/* RESOLVE_NO_MAGICLINKS */
	FAILS(o2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS), ELOOP);
	CHECK((fd = o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS)) >= 0);
	close(fd);
	CHECK((fd = o2(AT_FDCWD, "d/l", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS)) >= 0);
	close(fd);

	/* RESOLVE_NO_XDEV: /proc is another mount than the cwd's */
	CHECK((fd = o2(AT_FDCWD, "d/f", O_RDONLY, 0, RESOLVE_NO_XDEV)) >= 0);
	close(fd);
	int p = open("/proc", O_DIRECTORY | O_RDONLY);
	CHECK(p >= 0);
	CHECK((fd = o2(p, "self/status", O_RDONLY, 0, RESOLVE_NO_XDEV)) >= 0);
	close(fd);
	FAILS(o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);

	/* file handles: a link followed gives its target's */
	struct {
		struct file_handle fh;
		unsigned char b[128];
	} h1, h2;
	int m1, m2;
	h1.fh.handle_bytes = h2.fh.handle_bytes = 128;
	int r = name_to_handle_at(AT_FDCWD, "d/f", &h1.fh, &m1, 0);
	if (r == 0) {
		CHECK(name_to_handle_at(d, "l", &h2.fh, &m2, AT_SYMLINK_FOLLOW) == 0);
		CHECK(m1 == m2 && h1.fh.handle_bytes == h2.fh.handle_bytes &&
		      memcmp(h1.fh.f_handle, h2.fh.f_handle, h1.fh.handle_bytes) == 0);
		h2.fh.handle_bytes = 128;
		CHECK(name_to_handle_at(d, "l", &h2.fh, &m2, 0) == 0);
		CHECK(memcmp(h1.fh.f_handle, h2.fh.f_handle, h1.fh.handle_bytes) != 0);
		FAILS(open_by_handle_at(d, &h1.fh, O_RDONLY), EPERM);
	} else {
		CHECK(errno == EOPNOTSUPP);
	}
	PASS();
}
