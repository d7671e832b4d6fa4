#include "compat.h"

/* /proc/self/oom_score_adj: the (faked) root lowers it and reads back what
 * it wrote, per process: children inherit it, execve keeps it. An ordinary
 * user cannot lower it. */
static int get(const char *path)
{
	int v = 12345;
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	CHECK(fscanf(f, "%d", &v) == 1);
	fclose(f);
	return v;
}

static int put(const char *path, int v)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	if (fprintf(f, "%d", v) <= 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *self = "/proc/self/oom_score_adj";
	if (argc > 1) {
		/* after execve */
		CHECK(get(self) == atoi(argv[1]));
		PASS();
	}
	int v0 = get(self);
	CHECK(put(self, v0) == 0);
	if (geteuid() != 0 || v0 == -1000) {
		if (v0 > -1000)
			CHECK(put(self, -1000) == -1);
		CHECK(get(self) == v0);
		PASS();
	}
	CHECK(put(self, -1000) == 0);
	CHECK(get(self) == -1000);
	char own[64];
	snprintf(own, sizeof own, "/proc/%d/oom_score_adj", (int)getpid());
	CHECK(get(own) == -1000);
	CHECK(get("/proc/thread-self/oom_score_adj") == -1000);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(get(self) == -1000);
		CHECK(put(self, -500) == 0);
		CHECK(get(self) == -500);
		_exit(0);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(get(self) == -1000);
	/* raising it again needs no privilege, and lowering back to -1000 is
	 * allowed to whoever had it set there */
	CHECK(put(own, 0) == 0);
	CHECK(get(self) == 0);
	CHECK(put(self, -700) == 0);
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		execl("/proc/self/exe", argv[0], "-700", (char *)NULL);
		_exit(99);
	}
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));
	if (WEXITSTATUS(st) != 0) {
		printf("FAIL %s:%d: after execve the value is not kept (exit %d)\n", __FILE__, __LINE__,
		       WEXITSTATUS(st));
		return 1;
	}
	CHECK(put(self, v0) == 0);
	CHECK(get(self) == v0);
	PASS();
}
