#include "compat.h"
#include <sys/auxv.h>
/* A set-user-ID program runs with its owner as the effective user (and
 * AT_SECURE set when that differs from the real one); the saved id follows.
 * Root makes one owned by root and runs it as uid 4242; an ordinary user
 * can only make one of its own. */
int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "check") == 0) {
		uid_t r, e, s;
		CHECK(getresuid(&r, &e, &s) == 0);
		CHECK(e == (uid_t)atoi(argv[2]) && s == e);
		CHECK(getauxval(AT_SECURE) == (r != e));
		PASS();
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	CHECK(n > 0);
	self[n] = 0;
	int in = open(self, O_RDONLY), out = open("sid", O_CREAT | O_WRONLY, 0755);
	CHECK(in >= 0 && out >= 0);
	char buf[65536];
	while ((n = read(in, buf, sizeof buf)) > 0)
		CHECK(write(out, buf, n) == n);
	close(in);
	close(out);
	CHECK(chmod("sid", 04755) == 0);
	uid_t owner = geteuid();
	pid_t p = fork();
	if (p == 0) {
		if (owner == 0)
			CHECK(setresgid(4242, 4242, 4242) == 0 && setresuid(4242, 4242, 4242) == 0);
		char o[16];
		snprintf(o, sizeof o, "%u", owner);
		execl("./sid", "sid", "check", o, (char *)0);
		_exit(3);
	}
	int st;
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	PASS();
}
