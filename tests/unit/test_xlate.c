/*
 * test_xlate.c - src/interop: path normalisation, host <-> distro path
 * translation through the host mount, WSLENV/LXSENV (every flag both ways,
 * lists, precedence, names, bounds) and lxspath's output and exit codes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interop/xlate.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void t_absolute(struct unit *u)
{
	static const struct {
		const char *cwd, *path, *want;
	} c[] = {
	    {NULL, "/", "/"},
	    {NULL, "//", "/"},
	    {NULL, "/a/b", "/a/b"},
	    {NULL, "/a/b/", "/a/b"},
	    {NULL, "//a///b//", "/a/b"},
	    {NULL, "/a/./b/.", "/a/b"},
	    {NULL, "/a/../b", "/b"},
	    {NULL, "/..", "/"},
	    {NULL, "/../../a/..", "/"},
	    {NULL, "/a/b/../../..", "/"},
	    {NULL, "/.a/..b/...", "/.a/..b/..."},
	    {NULL, "/a/.../..", "/a"},
	    {"/c/d", "e", "/c/d/e"},
	    {"/c/d", ".", "/c/d"},
	    {"/c/d", "..", "/c"},
	    {"/c/d", "../../..", "/"},
	    {"/c/d/", "./e/../f/", "/c/d/f"},
	    {"/", "e", "/e"},
	    {"/c", "/abs", "/abs"},
	    {"relative/cwd", "/abs", "/abs"},
	};
	char out[64];

	for (unsigned i = 0; i < N(c); i++) {
		int r = xlate_absolute(c[i].cwd, c[i].path, out, sizeof(out));

		CHECK(u, r == (int)strlen(c[i].want) && !strcmp(out, c[i].want));
	}
	CHECK(u, xlate_absolute("/c", "", out, sizeof(out)) == -EINVAL);
	CHECK(u, xlate_absolute("/c", NULL, out, sizeof(out)) == -EINVAL);
	CHECK(u, xlate_absolute(NULL, "a", out, sizeof(out)) == -EINVAL);
	CHECK(u, xlate_absolute("c", "a", out, sizeof(out)) == -EINVAL);
	CHECK(u, xlate_absolute("", "a", out, sizeof(out)) == -EINVAL);
}

static void t_absolute_limits(struct unit *u)
{
	char out[8], big[PATH_MAX * 2];

	/* "/abcdef" is 7 bytes and the NUL makes 8: exactly fits. */
	CHECK(u, xlate_absolute(NULL, "/abcdef", out, 8) == 7 && !strcmp(out, "/abcdef"));
	CHECK(u, xlate_absolute(NULL, "/abcdefg", out, 8) == -ENAMETOOLONG);
	CHECK(u, xlate_absolute(NULL, "/ab/cd/e", out, 8) == -ENAMETOOLONG);
	CHECK(u, xlate_absolute(NULL, "/ab/cd/", out, 8) == 6);
	/* Too long on the way, but not in the end. */
	CHECK(u,
	      xlate_absolute(NULL, "/ab/cdefghijk/lm/../..", out, 8) == 3 && !strcmp(out, "/ab"));
	CHECK(u, xlate_absolute("/abcdefghijk", "..", out, 8) == 1 && !strcmp(out, "/"));
	CHECK(u, xlate_absolute("/abc", "defg", out, 8) == -ENAMETOOLONG);
	CHECK(u, xlate_absolute("/abc", "de", out, 8) == 7 && !strcmp(out, "/abc/de"));
	CHECK(u, xlate_absolute(NULL, "/", out, 2) == 1 && !strcmp(out, "/"));
	CHECK(u, xlate_absolute(NULL, "/", out, 1) == -ENAMETOOLONG);
	CHECK(u, xlate_absolute(NULL, "/", out, 0) == -ENAMETOOLONG);
	CHECK(u, xlate_absolute(NULL, "/..", out, 1) == -ENAMETOOLONG);
	/* Longer than PATH_MAX is only a matter of the buffer. */
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	static char huge[PATH_MAX * 2];
	CHECK(u, xlate_absolute(NULL, big, huge, sizeof(huge)) == (int)sizeof(big) - 1);
	CHECK(u, xlate_absolute(NULL, big, huge, sizeof(huge) - 1) == -ENAMETOOLONG);
}

static void t_to_distro(struct unit *u)
{
	static const struct {
		const char *mnt, *host, *want;
	} c[] = {
	    {"/mnt/host", "/", "/mnt/host"},
	    {"/mnt/host", "/a/b", "/mnt/host/a/b"},
	    {"/mnt/host", "//a/./b/", "/mnt/host/a/b"},
	    {"/mnt/host", "/a/../..", "/mnt/host"},
	    {"/mnt/host/", "/a", "/mnt/host/a"},
	    {"//x//host/.", "/a", "/x/host/a"},
	    {"/x/host", "/etc/passwd", "/x/host/etc/passwd"},
	    {"/", "/a/b", "/a/b"},
	    {"/", "/", "/"},
	};
	char out[64];

	for (unsigned i = 0; i < N(c); i++) {
		int r = xlate_to_distro(c[i].mnt, c[i].host, out, sizeof(out));

		CHECK(u, r == (int)strlen(c[i].want) && !strcmp(out, c[i].want));
	}
	CHECK(u, xlate_to_distro(NULL, "/a", out, sizeof(out)) == -ENOENT);
	CHECK(u, xlate_to_distro("", "/a", out, sizeof(out)) == -ENOENT);
	CHECK(u, xlate_to_distro("mnt/host", "/a", out, sizeof(out)) == -EINVAL);
	CHECK(u, xlate_to_distro("/mnt/host", "a", out, sizeof(out)) == -EINVAL);
	CHECK(u, xlate_to_distro("/mnt/host", "", out, sizeof(out)) == -EINVAL);
	CHECK(u, xlate_to_distro("/mnt/host", NULL, out, sizeof(out)) == -EINVAL);
	/* Limits: "/mnt/host/ab" is 12 bytes. */
	CHECK(u,
	      xlate_to_distro("/mnt/host", "/ab", out, 13) == 12 && !strcmp(out, "/mnt/host/ab"));
	CHECK(u, xlate_to_distro("/mnt/host", "/ab", out, 12) == -ENAMETOOLONG);
	CHECK(u, xlate_to_distro("/mnt/host", "/", out, 10) == 9 && !strcmp(out, "/mnt/host"));
	CHECK(u, xlate_to_distro("/mnt/host", "/", out, 9) == -ENAMETOOLONG);
}

static void t_to_host(struct unit *u)
{
	static const struct {
		const char *mnt, *distro, *want;
	} c[] = {
	    {"/mnt/host", "/mnt/host", "/"},
	    {"/mnt/host", "/mnt/host/", "/"},
	    {"/mnt/host", "/mnt/host/a", "/a"},
	    {"/mnt/host", "//mnt//host//a/./b/", "/a/b"},
	    {"/mnt/host", "/mnt/host/a/..", "/"},
	    {"/mnt/host", "/mnt/x/../host/a", "/a"},
	    {"/mnt/host/", "/mnt/host/a", "/a"},
	    {"/x/host", "/x/host/etc", "/etc"},
	    {"/", "/etc/x", "/etc/x"},
	};
	static const char *const outside[] = {
	    "/",        "/etc/x",           "/mnt",         "/mnt/hostx", "/mnt/hostx/a",
	    "/mnt/hos", "/mnt/host/../etc", "/mnt/host/..",
	};
	char out[64];

	for (unsigned i = 0; i < N(c); i++) {
		int r = xlate_to_host(c[i].mnt, c[i].distro, out, sizeof(out));

		CHECK(u, r == (int)strlen(c[i].want) && !strcmp(out, c[i].want));
	}
	for (unsigned i = 0; i < N(outside); i++)
		CHECK(u, xlate_to_host("/mnt/host", outside[i], out, sizeof(out)) == -ENOENT);
	CHECK(u, xlate_to_host(NULL, "/mnt/host/a", out, sizeof(out)) == -ENOENT);
	CHECK(u, xlate_to_host("", "/mnt/host/a", out, sizeof(out)) == -ENOENT);
	CHECK(u, xlate_to_host("mnt", "/mnt/a", out, sizeof(out)) == -EINVAL);
	CHECK(u, xlate_to_host("/mnt/host", "mnt/host/a", out, sizeof(out)) == -EINVAL);
	/* The limit is on the distro path, which is normalised in OUT first. */
	CHECK(u, xlate_to_host("/mnt/host", "/mnt/host/ab", out, 13) == 3 && !strcmp(out, "/ab"));
	CHECK(u, xlate_to_host("/mnt/host", "/mnt/host/ab", out, 12) == -ENAMETOOLONG);
}

static void t_host_mount(struct unit *u)
{
	char *old = getenv("LXS_HOST_MOUNT") ? strdup(getenv("LXS_HOST_MOUNT")) : NULL;

	unsetenv("LXS_HOST_MOUNT");
	CHECK(u, !strcmp(xlate_host_mount(), "/mnt/host"));
	setenv("LXS_HOST_MOUNT", "", 1);
	CHECK(u, !strcmp(xlate_host_mount(), ""));
	setenv("LXS_HOST_MOUNT", "/x/host", 1);
	CHECK(u, !strcmp(xlate_host_mount(), "/x/host"));
	if (old)
		setenv("LXS_HOST_MOUNT", old, 1);
	else
		unsetenv("LXS_HOST_MOUNT");
	free(old);
}

/* xlate_env's result joined with '|' into BUF; its return value. */
static int envs(const char *const *env, enum xlate_way w, const char *mnt, char *buf, size_t len)
{
	char **v = (char **)1;
	size_t n = 99, at = 0;
	int r = xlate_env(env, w, mnt, &v, &n);

	buf[0] = '\0';
	if (r < 0)
		return v == NULL && n == 0 ? r : -9999;
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "|" : "", v[i]);
	if (v[n] != NULL)
		r = -9998;
	xlate_env_free(v);
	return r;
}

static void t_env_flags(struct unit *u)
{
	static const char *const flags[] = {
	    "",    "/",   "/p",  "/l",  "/u", "/w",  "/pu", "/up", "/pw", "/lu",  "/lw",
	    "/uw", "/pl", "/lp", "/ul", "/x", "/px", "/P",  "/pp", "/uu", "/upl",
	};
	char wslenv[32], want[128], got[256];

	for (unsigned i = 0; i < N(flags); i++) {
		const char *f = flags[i];
		const char *fl = f + (*f == '/');
		int bad = strspn(fl, "pluw") != strlen(fl);
		int path = strchr(f, 'p') || strchr(f, 'l');

		snprintf(wslenv, sizeof(wslenv), "WSLENV=V%s", f);
		for (int way = 0; way < 2; way++) {
			const char *const env[] = {wslenv, "OTHER=1",
						   way ? "V=/mnt/host/a//b" : "V=/a//b", NULL};
			/* u: only into the distro; w: only into the host. */
			int pass =
			    !bad && !(way == 0 && strchr(f, 'w')) && !(way == 1 && strchr(f, 'u'));
			const char *val = way ? (path ? "/a/b" : "/mnt/host/a//b")
					      : (path ? "/mnt/host/a/b" : "/a//b");

			if (pass)
				snprintf(want, sizeof(want), "%s|V=%s", wslenv, val);
			else
				snprintf(want, sizeof(want), "%s", wslenv);
			CHECK(u, envs(env, way ? XLATE_INTO_HOST : XLATE_INTO_DISTRO, "/mnt/host",
				      got, sizeof(got)) == 0);
			CHECK(u, !strcmp(got, want));
			if (strcmp(got, want))
				fprintf(stderr, "flags %s way %d: got %s want %s\n", f, way, got,
					want);
		}
	}
}

static void t_env_paths(struct unit *u)
{
	char got[512];
	const char *const a[] = {
	    "WSLENV=P/p:L/l:R/p:E/p:H/p:LE/l:C/p",
	    "P=/usr/../etc/",
	    "L=/a::rel:/b/:/",
	    "R=rel",
	    "E=",
	    "H=/mnt/host",
	    "LE=::rel:",
	    "C=/a:/b",
	    NULL,
	};
	/* Into the distro: a relative /p path drops the variable (as WSL: it
	 * has no translation); /l keeps what translates. */
	CHECK(u, envs(a, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=P/p:L/l:R/p:E/p:H/p:LE/l:C/p|P=/mnt/host/etc|"
			      "L=/mnt/host/a:/mnt/host/b:/mnt/host|H=/mnt/host/mnt/host|"
			      "C=/mnt/host/a:/b"));
	/* No host mount: nothing path-like passes. */
	CHECK(u, envs(a, XLATE_INTO_DISTRO, "", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=P/p:L/l:R/p:E/p:H/p:LE/l:C/p"));
	CHECK(u, envs(a, XLATE_INTO_DISTRO, NULL, got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=P/p:L/l:R/p:E/p:H/p:LE/l:C/p"));

	const char *const b[] = {
	    "WSLENV=P/p:L/l:O/p:H/p:X/l",
	    "P=/mnt/host/usr/bin",
	    "L=/mnt/host/a:/etc:/mnt/host:/mnt/hostx",
	    "O=/etc/passwd",
	    "H=/mnt/host/",
	    "X=/etc:/home",
	    NULL,
	};
	CHECK(u, envs(b, XLATE_INTO_HOST, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=P/p:L/l:O/p:H/p:X/l|P=/usr/bin|L=/a:/|H=/"));
	CHECK(u, envs(b, XLATE_INTO_HOST, "/x/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=P/p:L/l:O/p:H/p:X/l"));
}

static void t_env_lists(struct unit *u)
{
	char got[512];
	/* Trailing white space of the list goes (WSL trims it), empty entries
	 * are skipped, absent variables are not passed. */
	const char *const a[] = {"WSLENV=::A::B/u:MISSING:C \t\n", "A=1", "B=2", "C=3", NULL};

	CHECK(u, envs(a, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=::A::B/u:MISSING:C \t\n|A=1|B=2|C=3"));
	/* No list, or an empty one: nothing but the list. */
	const char *const b[] = {"A=1", NULL};
	CHECK(u,
	      envs(b, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0 && !strcmp(got, ""));
	const char *const c[] = {"WSLENV=", "A=1", NULL};
	CHECK(u, envs(c, XLATE_INTO_HOST, "/mnt/host", got, sizeof(got)) == 0 &&
		     !strcmp(got, "WSLENV="));
	const char *const none[] = {NULL};
	CHECK(u,
	      envs(none, XLATE_INTO_HOST, "/mnt/host", got, sizeof(got)) == 0 && !strcmp(got, ""));
	/* The first of a name in ENV counts, as getenv has it. */
	const char *const d[] = {"WSLENV=A", "A=1", "A=2", NULL};
	CHECK(u, envs(d, XLATE_INTO_HOST, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=A|A=1"));
	/* Values keep '=' and anything else. */
	const char *const e[] = {"WSLENV=A", "A==x=y ", "AB=no", NULL};
	CHECK(u, envs(e, XLATE_INTO_HOST, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=A|A==x=y "));
	/* Bad arguments. */
	char **v;
	size_t n;
	CHECK(u, xlate_env(NULL, XLATE_INTO_HOST, "/m", &v, &n) == -EINVAL);
	CHECK(u, xlate_env(a, XLATE_INTO_HOST, "/m", NULL, &n) == -EINVAL);
	CHECK(u, xlate_env(a, XLATE_INTO_HOST, "/m", &v, NULL) == -EINVAL);
	CHECK(u, xlate_env(a, (enum xlate_way)7, "/m", &v, &n) == -EINVAL);
	xlate_env_free(NULL);
}

static void t_env_both_lists(struct unit *u)
{
	char got[512];
	/* Names from both; WSLENV's entry for a name in both wins, even one
	 * that does not pass this way. */
	const char *const a[] = {
	    "LXSENV=B:C/p:D/w:E",
	    "WSLENV=A:C:D/u:E/w",
	    "A=/a",
	    "B=/b",
	    "C=/c",
	    "D=/d",
	    "E=/e",
	    NULL,
	};
	CHECK(u, envs(a, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=A:C:D/u:E/w|LXSENV=B:C/p:D/w:E|A=/a|C=/c|D=/d|B=/b"));
	CHECK(u, envs(a, XLATE_INTO_HOST, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=A:C:D/u:E/w|LXSENV=B:C/p:D/w:E|A=/a|C=/c|E=/e|B=/b"));
	/* LXSENV alone. */
	const char *const b[] = {"LXSENV=P/p", "P=/x", NULL};
	CHECK(u, envs(b, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "LXSENV=P/p|P=/mnt/host/x"));
	/* A WSLENV entry WSL would ignore (unknown flag, bad name) does not
	 * shadow LXSENV's. */
	const char *const c[] = {"WSLENV=A/z", "LXSENV=A", "A=1", NULL};
	CHECK(u, envs(c, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=A/z|LXSENV=A|A=1"));
	/* Listing WSLENV or LXSENV adds nothing: they travel as they are. */
	const char *const d[] = {"WSLENV=WSLENV/p:LXSENV/p:A", "A=1", "LXSENV=/x", NULL};
	CHECK(u, envs(d, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=WSLENV/p:LXSENV/p:A|LXSENV=/x|A=1"));
}

static void t_env_duplicates(struct unit *u)
{
	char got[512];
	/* The last entry of a name that passes wins, in the first one's place
	 * (WSL adds each in turn, the later replacing the earlier). */
	const char *const a[] = {"WSLENV=F/p:G:F", "F=rel", "G=1", NULL};
	CHECK(u, envs(a, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=F/p:G:F|G=1|F=rel"));
	const char *const b[] = {"WSLENV=F:F/p", "F=/a", NULL};
	CHECK(u, envs(b, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=F:F/p|F=/mnt/host/a"));
	const char *const c[] = {"WSLENV=F:F/p", "F=rel", NULL};
	CHECK(u, envs(c, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=F:F/p|F=rel"));
	const char *const d[] = {"WSLENV=F/u:F/w", "F=x", NULL};
	CHECK(u, envs(d, XLATE_INTO_HOST, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=F/u:F/w|F=x"));
}

static void t_env_bad_names(struct unit *u)
{
	char got[512];
	const char *const a[] = {
	    "WSLENV=1A:A-B:A B:/p:.:A.B:_ok:ok9:\xc3\xa9:A=B:a/p/p:OK/",
	    "1A=x",
	    "A-B=x",
	    "A B=x",
	    "=x",
	    ".=x",
	    "A.B=x",
	    "_ok=x",
	    "ok9=x",
	    "\xc3\xa9=x",
	    "A=B=x",
	    "a=x",
	    "OK=y",
	    NULL,
	};
	/* "a/p/p" has the flags "p/p": '/' is an unknown flag, so it is ignored. */
	CHECK(u, envs(a, XLATE_INTO_DISTRO, "/mnt/host", got, sizeof(got)) == 0);
	CHECK(u, !strcmp(got, "WSLENV=1A:A-B:A B:/p:.:A.B:_ok:ok9:\xc3\xa9:A=B:a/p/p:OK/|"
			      "_ok=x|ok9=x|OK=y"));
}

static void t_env_limits(struct unit *u)
{
	static char list[XLATE_ENV_MAX_NAMES * 8 + 16];
	static char big[XLATE_ENV_MAX_BYTES + 16];
	const char *env[4] = {list, NULL, NULL, NULL};
	char **v;
	size_t n, at = 0;

	/* Exactly XLATE_ENV_MAX_NAMES entries, empty ones not counted. */
	at = (size_t)snprintf(list, sizeof(list), "WSLENV=::");
	for (int i = 0; i < XLATE_ENV_MAX_NAMES; i++)
		at += (size_t)snprintf(list + at, sizeof(list) - at, "V%d:", i);
	env[1] = "V7=seven";
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/mnt/host", &v, &n) == 0 && n == 2 &&
		     !strcmp(v[1], "V7=seven"));
	xlate_env_free(v);
	snprintf(list + at, sizeof(list) - at, "X");
	v = (char **)1;
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/mnt/host", &v, &n) == -E2BIG && !v && !n);
	/* 256 in WSLENV and one more in LXSENV. */
	list[at] = '\0';
	env[2] = "LXSENV=X";
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/mnt/host", &v, &n) == -E2BIG);
	env[2] = NULL;

	/* Bytes: "WSLENV=V" and "V=..." together exactly at the bound. */
	snprintf(list, sizeof(list), "WSLENV=V");
	memset(big, 'x', sizeof(big));
	memcpy(big, "V=", 2);
	big[XLATE_ENV_MAX_BYTES - 8] = '\0';
	env[1] = big;
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/mnt/host", &v, &n) == 0 && n == 2 &&
		     strlen(v[1]) == XLATE_ENV_MAX_BYTES - 8);
	xlate_env_free(v);
	big[XLATE_ENV_MAX_BYTES - 8] = 'x';
	big[XLATE_ENV_MAX_BYTES - 7] = '\0';
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/mnt/host", &v, &n) == -E2BIG);
	/* A translated path that grows past it. */
	snprintf(list, sizeof(list), "WSLENV=V/p");
	big[2] = '/';
	big[XLATE_ENV_MAX_BYTES - 7] = 'x';
	big[XLATE_ENV_MAX_BYTES - 10] = '\0';
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/mnt/host", &v, &n) == -E2BIG);
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/", &v, &n) == 0 && n == 2);
	xlate_env_free(v);
	/* A variable that is not listed does not count. */
	snprintf(list, sizeof(list), "WSLENV=W");
	env[2] = "W=1";
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/mnt/host", &v, &n) == 0 && n == 2);
	xlate_env_free(v);
	/* The lists themselves count. */
	memcpy(big, "WSLENV=", 7);
	big[XLATE_ENV_MAX_BYTES + 1] = '\0';
	memset(big + 7, ':', XLATE_ENV_MAX_BYTES - 6);
	env[0] = big;
	env[1] = NULL;
	CHECK(u, xlate_env(env, XLATE_INTO_DISTRO, "/mnt/host", &v, &n) == -E2BIG);
}

/* lxspath_main with stdout and stderr caught; its status. */
static int lxspath(const char *mnt, const char *files, const char *const *args, char *out, char *err,
		   size_t len)
{
	char *argv[16];
	int argc = 0, r, fd1, fd2;
	FILE *o = tmpfile(), *e = tmpfile();
	size_t n;

	argv[argc++] = strdup("lxspath");
	for (; *args && argc < 15; args++)
		argv[argc++] = strdup(*args);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	fd1 = dup(1);
	fd2 = dup(2);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	r = lxspath_main(argc, argv, mnt, files);
	fflush(stdout);
	fflush(stderr);
	dup2(fd1, 1);
	dup2(fd2, 2);
	close(fd1);
	close(fd2);
	rewind(o);
	rewind(e);
	n = fread(out, 1, len - 1, o);
	out[n] = '\0';
	n = fread(err, 1, len - 1, e);
	err[n] = '\0';
	fclose(o);
	fclose(e);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return r;
}

#define LXSPATH(mnt, ...)                                                                          \
	lxspath(mnt, NULL, (const char *const[]){__VA_ARGS__, NULL}, out, err, sizeof(out))
/* With the distro's files shown on the host at `files` (LXS_DISTRO_FILES). */
#define LXSPATH_F(mnt, files, ...)                                                                 \
	lxspath(mnt, files, (const char *const[]){__VA_ARGS__, NULL}, out, err, sizeof(out))

static void t_lxspath_absolute(struct unit *u)
{
	char out[512], err[512];

	CHECK(u, LXSPATH("/mnt/host", "/etc/x") == 0 && !strcmp(out, "/mnt/host/etc/x\n") && !*err);
	CHECK(u, LXSPATH("/mnt/host", "-u", "/") == 0 && !strcmp(out, "/mnt/host\n"));
	CHECK(u, LXSPATH("/x/host/", "-u", "//a/../b/") == 0 && !strcmp(out, "/x/host/b\n"));
	CHECK(u, LXSPATH("/mnt/host", "-w", "/mnt/host/etc/x") == 0 && !strcmp(out, "/etc/x\n"));
	CHECK(u, LXSPATH("/mnt/host", "-m", "/mnt/host") == 0 && !strcmp(out, "/\n"));
	CHECK(u, LXSPATH("/mnt/host", "-aw", "/mnt/host/a") == 0 && !strcmp(out, "/a\n"));
	CHECK(u, LXSPATH("/mnt/host", "/mnt/host/a", "-w") == 0 && !strcmp(out, "/a\n"));
	CHECK(u, LXSPATH("/mnt/host", "-w", "--", "/mnt/host/-a") == 0 && !strcmp(out, "/-a\n"));
	/* No host path: the one sentence, exit 1. */
	CHECK(u, LXSPATH("/mnt/host", "-w", "/etc/x") == 1 && !*out);
	CHECK(u, !strcmp(err, "lxspath: /etc/x has no host path: only files under /mnt/host do, "
			      "since this distro's files are not shown on the host (lxs.conf "
			      "[files] enabled=false)\n"));
	/* Shown by lxs-fs: a distro path outside the host mount is there, and back. */
	CHECK(u, LXSPATH_F("/mnt/host", "/run/fs/D", "-w", "/etc/x") == 0 &&
		     !strcmp(out, "/run/fs/D/etc/x\n"));
	CHECK(u, LXSPATH_F("/mnt/host", "/run/fs/D", "-w", "/") == 0 && !strcmp(out, "/run/fs/D\n"));
	CHECK(u, LXSPATH_F("/mnt/host", "/run/fs/D", "-w", "/mnt/host/a") == 0 &&
		     !strcmp(out, "/a\n"));
	CHECK(u, LXSPATH_F("/mnt/host", "/run/fs/D", "-u", "/run/fs/D/etc/x") == 0 &&
		     !strcmp(out, "/etc/x\n"));
	CHECK(u, LXSPATH_F("/mnt/host", "/run/fs/D", "/run/fs/D") == 0 && !strcmp(out, "/\n"));
	CHECK(u, LXSPATH_F("/mnt/host", "/run/fs/D", "/run/fs/Dx") == 0 &&
		     !strcmp(out, "/mnt/host/run/fs/Dx\n"));
	CHECK(u, LXSPATH_F("", "/run/fs/D", "-u", "/run/fs/D/a") == 0 && !strcmp(out, "/a\n"));
	CHECK(u, LXSPATH("/mnt/host", "-w", "/mnt/hostx") == 1 && !*out);
	CHECK(u, LXSPATH("", "-w", "/mnt/host/a") == 1 && !*out && strstr(err, "no host mount"));
	CHECK(u, LXSPATH("", "-u", "/a") == 1 && !*out && strstr(err, "no host mount"));
	CHECK(u, LXSPATH(NULL, "/a") == 1 && !*out);
	CHECK(u, LXSPATH("/mnt/host", "") == 1 && !*out && *err);
}

static void t_lxspath_usage(struct unit *u)
{
	char out[512], err[512];

	/* As wslpath: a usage error exits 1, and only stderr says so. */
	CHECK(u, LXSPATH("/mnt/host", "-h") == 1 && !*out && strstr(err, "usage: lxspath"));
	CHECK(u, LXSPATH("/mnt/host", "--help") == 1 && !*out && strstr(err, "usage: lxspath"));
	CHECK(u,
	      LXSPATH("/mnt/host", "-x", "/a") == 1 && !*out && strstr(err, "unknown option -x"));
	CHECK(u, LXSPATH("/mnt/host", "-u", "-w", "/a") == 1 && !*out && strstr(err, "usage"));
	CHECK(u, LXSPATH("/mnt/host", "-w", "-m", "/a") == 1 && !*out);
	CHECK(u, LXSPATH("/mnt/host", "/a", "/b") == 1 && !*out && strstr(err, "one path"));
	CHECK(u, LXSPATH("/mnt/host", "-a") == 1 && !*out && strstr(err, "no path"));
	CHECK(u, lxspath("/mnt/host", NULL, (const char *const[]){NULL}, out, err, sizeof(out)) == 1);
	CHECK(u, LXSPATH("/mnt/host", "-u", "-u", "/a") == 0 && !strcmp(out, "/mnt/host/a\n"));
}

static void t_lxspath_relative(struct unit *u)
{
	char out[512], err[512], dir[] = "/tmp/lxs-xlate.XXXXXX", mnt[64], sub[96], old[PATH_MAX];

	CHECK(u, getcwd(old, sizeof(old)) != NULL);
	CHECK(u, mkdtemp(dir) != NULL);
	snprintf(mnt, sizeof(mnt), "%s/host", dir);
	snprintf(sub, sizeof(sub), "%s/host/a", dir);
	CHECK(u, mkdir(mnt, 0700) == 0 && mkdir(sub, 0700) == 0 && chdir(sub) == 0);

	/* Under the current folder: printed relative, as wslpath does. */
	CHECK(u, LXSPATH(mnt, "-w", "b/./c/") == 0 && !strcmp(out, "b/c\n"));
	CHECK(u, LXSPATH(mnt, "-w", ".") == 0 && !strcmp(out, ".\n"));
	CHECK(u, LXSPATH(mnt, "-w", "..") == 0 && !strcmp(out, "/\n"));
	CHECK(u, LXSPATH(mnt, "-aw", "b") == 0 && !strcmp(out, "/a/b\n"));
	CHECK(u, LXSPATH(mnt, "-w", "../z") == 0 && !strcmp(out, "/z\n"));
	CHECK(u, LXSPATH(mnt, "-w", "../../x") == 1 && !*out && strstr(err, "/x has no host path"));
	/* -u: a relative host path is relative to the current folder's host path. */
	CHECK(u, LXSPATH(mnt, "b") == 0 && !strcmp(out, "b\n"));
	CHECK(u, LXSPATH(mnt, "-u", ".") == 0 && !strcmp(out, ".\n"));
	CHECK(u, LXSPATH(mnt, "-u", "../c") == 0);
	snprintf(sub, sizeof(sub), "%s/c\n", mnt);
	CHECK(u, !strcmp(out, sub));
	CHECK(u, LXSPATH(mnt, "-au", "b") == 0);
	snprintf(sub, sizeof(sub), "%s/a/b\n", mnt);
	CHECK(u, !strcmp(out, sub));
	/* From the mount itself. */
	CHECK(u, chdir(mnt) == 0);
	CHECK(u, LXSPATH(mnt, "-w", "a/b") == 0 && !strcmp(out, "a/b\n"));
	CHECK(u, LXSPATH(mnt, "-u", "a/b") == 0 && !strcmp(out, "a/b\n"));
	/* Outside the mount: -u has no host folder to start from; -w says
	 * the path has none. */
	CHECK(u, chdir(dir) == 0);
	CHECK(u, LXSPATH(mnt, "-u", "b") == 1 && !*out && strstr(err, "has no host path"));
	CHECK(u, LXSPATH(mnt, "-w", "host/q") == 0 && !strcmp(out, "/q\n"));
	CHECK(u, LXSPATH(mnt, "-w", "q") == 1 && !*out);

	CHECK(u, chdir(old) == 0);
	snprintf(sub, sizeof(sub), "%s/host/a", dir);
	rmdir(sub);
	rmdir(mnt);
	rmdir(dir);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_absolute);
	RUN(&u, t_absolute_limits);
	RUN(&u, t_to_distro);
	RUN(&u, t_to_host);
	RUN(&u, t_host_mount);
	RUN(&u, t_env_flags);
	RUN(&u, t_env_paths);
	RUN(&u, t_env_lists);
	RUN(&u, t_env_both_lists);
	RUN(&u, t_env_duplicates);
	RUN(&u, t_env_bad_names);
	RUN(&u, t_env_limits);
	RUN(&u, t_lxspath_absolute);
	RUN(&u, t_lxspath_usage);
	RUN(&u, t_lxspath_relative);
	return unit_done(&u);
}
