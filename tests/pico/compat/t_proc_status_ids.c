#include "compat.h"
#include <grp.h>
#include <sys/fsuid.h>

/* /proc/<pid>/status shows the ids the process has, its own and those of
 * another process that changed them. */
static void status_ids(pid_t pid, unsigned u[4], unsigned g[4], unsigned *grp, int *ng)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	*ng = -1;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "Uid:", 4))
			CHECK(sscanf(line + 4, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4);
		if (!strncmp(line, "Gid:", 4))
			CHECK(sscanf(line + 4, "%u %u %u %u", &g[0], &g[1], &g[2], &g[3]) == 4);
		if (!strncmp(line, "Groups:", 7)) {
			char *p = line + 7, *e;
			*ng = 0;
			for (;;) {
				unsigned long v = strtoul(p, &e, 10);
				if (e == p)
					break;
				grp[(*ng)++] = (unsigned)v;
				p = e;
			}
		}
	}
	fclose(f);
	CHECK(*ng >= 0);
}

struct ids {
	unsigned u[3], g[3], fsu, fsg;
	int ng;
	gid_t grp[16];
};

static void mine(struct ids *m)
{
	CHECK(getresuid(&m->u[0], &m->u[1], &m->u[2]) == 0);
	CHECK(getresgid(&m->g[0], &m->g[1], &m->g[2]) == 0);
	m->fsu = (unsigned)setfsuid(-1);
	m->fsg = (unsigned)setfsgid(-1);
	m->ng = getgroups(16, m->grp);
	CHECK(m->ng >= 0);
}

static void same(pid_t pid, const struct ids *m)
{
	unsigned u[4], g[4], grp[64];
	int ng;
	status_ids(pid, u, g, grp, &ng);
	CHECK(u[0] == m->u[0] && u[1] == m->u[1] && u[2] == m->u[2] && u[3] == m->fsu);
	CHECK(g[0] == m->g[0] && g[1] == m->g[1] && g[2] == m->g[2] && g[3] == m->fsg);
	CHECK(ng == m->ng);
	for (int i = 0; i < ng; i++)
		CHECK(grp[i] == (unsigned)m->grp[i]);
}

int main(void)
{
	struct ids m;
	mine(&m);
	same(getpid(), &m);
	int to[2], back[2];
	CHECK(pipe(to) == 0 && pipe(back) == 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		if (geteuid() == 0) {
			gid_t gs[2] = {7, 8};
			CHECK(setgroups(2, gs) == 0);
			CHECK(setresgid(11, 12, 13) == 0);
			CHECK(setresuid(21, 22, 0) == 0);
		}
		struct ids k;
		mine(&k);
		CHECK(write(back[1], &k, sizeof k) == sizeof k);
		char x;
		CHECK(read(to[0], &x, 1) == 1);
		_exit(0);
	}
	struct ids k;
	CHECK(read(back[0], &k, sizeof k) == sizeof k);
	same(c, &k);
	if (geteuid() == 0)
		CHECK(k.u[1] == 22 && k.g[0] == 11);
	CHECK(write(to[1], "x", 1) == 1);
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the thread's own file */
	unsigned u[4], g[4], grp[64];
	int ng;
	status_ids(gettid(), u, g, grp, &ng);
	CHECK(u[1] == m.u[1] && g[1] == m.g[1]);
	PASS();
}
