#include "compat.h"
/* A guest user other than root: a folder without search permission hides
 * what is in it, and in a sticky folder only a name's owner (or the
 * folder's) may remove or rename it. Started as root (lxs-pico's fake
 * root) it sets up a sticky folder with root's file and becomes uid 4242;
 * started as an ordinary user (natively) it checks search permission only. */
#define FAILS(expr, e) CHECK((expr) == -1 && errno == (e))
int main(void)
{
	int root = geteuid() == 0;
	if (root) {
		CHECK(mkdir("s", 01777) == 0 && chmod("s", 01777) == 0);
		put_file("s/roots", "r");
		CHECK(chmod("s/roots", 0666) == 0);
		CHECK(mkdir("w", 0777) == 0 && chmod("w", 0777) == 0);
		CHECK(setgid(4242) == 0 && setuid(4242) == 0 && geteuid() == 4242);
		CHECK(chdir("w") == 0);
	}
	struct stat st;
	CHECK(mkdir("d", 0755) == 0);
	put_file("d/f", "in");
	CHECK(chmod("d", 0600) == 0);
	FAILS(stat("d/f", &st), EACCES);
	FAILS(open("d/f", O_RDONLY), EACCES);
	FAILS(access("d/f", F_OK), EACCES);
	FAILS(unlink("d/f"), EACCES);
	FAILS(mkdir("d/e", 0755), EACCES);
	CHECK(stat("d", &st) == 0); /* the folder itself is still there to see */
	CHECK(chmod("d", 0700) == 0);
	CHECK(stat("d/f", &st) == 0 && file_is("d/f", "in"));
	if (root) {
		/* root's file in a sticky folder: writable, but not removable */
		CHECK(file_is("../s/roots", "r"));
		FAILS(unlink("../s/roots"), EPERM);
		FAILS(rename("../s/roots", "../s/mine"), EPERM);
		put_file("../s/own", "o");
		CHECK(rename("../s/own", "../s/own2") == 0 && unlink("../s/own2") == 0);
	}
	PASS();
}
