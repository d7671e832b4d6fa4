/* Escape attempt: fd 3 is a host directory outside the distro, opened by
 * whoever started lxs-pico. Reaching a file through it (openat, fchdir,
 * /proc/self/fd/3/...) must fail. Prints ESCAPED and exits 1 if it did. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int escaped = 0, fd;
	char buf[64];
	if ((fd = openat(3, "secret", O_RDONLY)) >= 0)
		escaped = 1, printf("ESCAPED via openat(3)\n"), close(fd);
	if ((fd = open("/proc/self/fd/3/secret", O_RDONLY)) >= 0)
		escaped = 1, printf("ESCAPED via /proc/self/fd/3\n"), close(fd);
	if (fchdir(3) == 0 && (fd = open("secret", O_RDONLY)) >= 0)
		escaped = 1, printf("ESCAPED via fchdir\n"), close(fd);
	if (fchdir(3) == 0 && (fd = open("../../../../../../../../proc/self/root/etc/hostname", O_RDONLY)) >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		(void)n;
		close(fd);
	}
	printf(escaped ? "ESCAPED\n" : "contained\n");
	return escaped;
}
