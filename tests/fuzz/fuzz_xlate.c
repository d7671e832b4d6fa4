// fuzz-link: src/interop/*.c
/*
 * fuzz_xlate.c - libFuzzer target for src/interop: path normalisation,
 * host <-> distro translation, WSLENV/LXSENV (xlate_env) and lxspath.
 *
 * Input: the first byte picks a buffer size for the path calls (1..256
 * bytes, or 4096); the rest is split at '\n' into lines: the host mount,
 * a path, a second path (the cwd), then the environment ("NAME=VALUE"
 * strings, one per line, WSLENV and LXSENV among them as any other); when
 * the first byte's top bit is set, the lines after the mount are also
 * lxspath's arguments.
 *
 * Checked with abort(), besides crashes and sanitizer reports:
 * - xlate_absolute gives an absolute path with no "//", "." or ".."
 *   components and no trailing slash, that normalises to itself, of the
 *   length returned, and fails with -ENAMETOOLONG exactly when the result
 *   computed in a large buffer does not fit;
 * - a path taken to the distro comes back to the same host path, and a
 *   distro path taken to the host goes back to the same distro path;
 * - xlate_env returns 0 or -E2BIG, a NULL-terminated vector of its count
 *   of "NAME=VALUE" strings with distinct valid names, each WSLENV,
 *   LXSENV or listed in one of them, within XLATE_ENV_MAX_BYTES, plain
 *   entries' values unchanged;
 * - lxspath_main returns 0 or 1.
 * With LXS_FUZZ_SEED_DIR set to an empty directory, a few seeds are
 * written there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interop/xlate.h"
#define FUZZ_NAME "fuzz_xlate"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64
#define BIG       (64 * 1024)

static int devnull = -1;

static void check_normal(const char *p, int r)
{
	CHECK(r >= 1 && p[0] == '/' && strlen(p) == (size_t)r);
	CHECK(!strstr(p, "//") && !strstr(p, "/./") && !strstr(p, "/../"));
	CHECK(r == 1 || p[r - 1] != '/');
	CHECK(strcmp(p + (r >= 2 ? r - 2 : 0), "/.") != 0);
	CHECK(r < 3 || strcmp(p + r - 3, "/..") != 0);
}

static void fuzz_paths(const char *mnt, const char *path, const char *cwd, size_t len)
{
	static char big[BIG], small[4096], again[BIG], back[BIG];
	int r, rb;

	rb = xlate_absolute(cwd, path, big, sizeof(big));
	CHECK(rb >= 0 || rb == -EINVAL || rb == -ENAMETOOLONG);
	if (rb >= 0) {
		check_normal(big, rb);
		CHECK(xlate_absolute(NULL, big, again, sizeof(again)) == rb && !strcmp(again, big));
		r = xlate_absolute(cwd, path, small, len);
		if ((size_t)rb < len)
			CHECK(r == rb && !strcmp(small, big));
		else
			CHECK(r == -ENAMETOOLONG);
	}

	/* Host -> distro -> host, and distro -> host -> distro. */
	r = xlate_to_distro(mnt, path, again, sizeof(again));
	CHECK(r >= 0 || r == -ENOENT || r == -EINVAL || r == -ENAMETOOLONG);
	if (r >= 0) {
		check_normal(again, r);
		CHECK(rb >= 0);
		CHECK(xlate_to_host(mnt, again, back, sizeof(back)) >= 0 && !strcmp(back, big));
	}
	r = xlate_to_host(mnt, path, again, sizeof(again));
	CHECK(r >= 0 || r == -ENOENT || r == -EINVAL || r == -ENAMETOOLONG);
	if (r >= 0) {
		check_normal(again, r);
		CHECK(xlate_to_distro(mnt, again, back, sizeof(back)) >= 0 && !strcmp(back, big));
	}
}

static bool listed(const char *const *env, const char *name, size_t nlen)
{
	static const char *const lists[] = {"WSLENV=", "LXSENV="};

	for (int l = 0; l < 2; l++) {
		const char *v = NULL;

		for (const char *const *e = env; *e && !v; e++)
			if (!strncmp(*e, lists[l], 7))
				v = *e + 7;
		/* An entry is the name followed by '/', ':', white space or the end. */
		for (const char *p = v; p && *p;) {
			const char *q = p;

			while (*q && *q != ':')
				q++;
			if ((size_t)(q - p) >= nlen && !strncmp(p, name, nlen) &&
			    (p + nlen == q || p[nlen] == '/' || strchr(" \t\n\v\f\r", p[nlen])))
				return true;
			p = *q ? q + 1 : q;
		}
	}
	return false;
}

static void fuzz_env(const char *const *env, enum xlate_way way, const char *mnt)
{
	char **v = NULL;
	size_t n = 0, bytes = 0;
	int r = xlate_env(env, way, mnt, &v, &n);

	CHECK(r == 0 || r == -E2BIG);
	if (r < 0) {
		CHECK(!v && !n);
		return;
	}
	CHECK(v && !v[n] && n <= XLATE_ENV_MAX_NAMES + 2);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(v[i], '=');
		size_t nlen;

		CHECK(eq && eq > v[i]);
		nlen = (size_t)(eq - v[i]);
		bytes += strlen(v[i]);
		for (size_t k = 0; k < nlen; k++)
			CHECK(v[i][k] == '_' || (v[i][k] >= 'A' && v[i][k] <= 'Z') ||
			      (v[i][k] >= 'a' && v[i][k] <= 'z') ||
			      (k > 0 && v[i][k] >= '0' && v[i][k] <= '9'));
		for (size_t j = 0; j < i; j++)
			CHECK(strncmp(v[j], v[i], nlen + 1) != 0);
		if (!(nlen == 6 && (!strncmp(v[i], "WSLENV", 6) || !strncmp(v[i], "LXSENV", 6))))
			CHECK(listed(env, v[i], nlen));
	}
	CHECK(bytes <= XLATE_ENV_MAX_BYTES);
	xlate_env_free(v);
}

static void fuzz_lxspath(char **lines, int nlines, const char *mnt)
{
	static char name[] = "lxspath";
	char *argv[MAX_LINES + 2];
	int argc = 0, saved, r;

	argv[argc++] = name;
	for (int i = 1; i < nlines && argc < 5; i++)
		argv[argc++] = lines[i];
	argv[argc] = NULL;
	/* Its messages would flood the fuzzer's log. */
	fflush(stderr);
	saved = dup(2);
	if (devnull >= 0)
		dup2(devnull, 2);
	r = lxspath_main(argc, argv, mnt, NULL);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	CHECK(r == 0 || r == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *lines[MAX_LINES + 1];
	int nlines = 0;
	size_t len;

	if (size < 1)
		return 0;
	len = (data[0] & 0x7f) == 0x7f ? 4096 : (size_t)(data[0] & 0x7f) * 2 + 1;
	if (!(buf = malloc(size)))
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (char *p = buf; nlines < MAX_LINES;) {
		char *nl = memchr(p, '\n', (size_t)(buf + size - 1 - p));

		lines[nlines++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	lines[nlines] = NULL;

	const char *mnt = lines[0][0] == '-' ? NULL : lines[0];
	const char *path = nlines > 1 ? lines[1] : "/";
	const char *cwd = nlines > 2 ? lines[2] : NULL;

	fuzz_paths(mnt, path, cwd, len);
	fuzz_env((const char *const *)(lines + 1), XLATE_INTO_DISTRO, mnt);
	fuzz_env((const char *const *)(lines + 1), XLATE_INTO_HOST, mnt);
	if (data[0] & 0x80)
		fuzz_lxspath(lines, nlines, mnt);
	free(buf);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const seeds[] = {
	    ("\x20/mnt/host\n/a/../b//c/\n/cwd\nWSLENV=P/p:L/l:U/u:W/w:X/pu:Y/lw:B/z\n"
	     "LXSENV=Q:P/w\nP=/usr/bin\nL=/a::rel:/mnt/host/b\nU=1\nW=2\nX=/x\nY=/mnt/host\nQ=q"),
	    "\x7f/x/host/\n/x/host/./etc\nrel/cwd\nWSLENV=A:A/p:1B:C D:E/\nA=/x/host/a\nE=",
	    "\x81/mnt/host\n-w\n/mnt/host/etc/x",
	    "\x82/mnt/host\n-au\nrel/../x",
	    "\x03\n/\n/\nWSLENV=P/p\nP=/",
	};
	const char *dir = fz_seed_dir();

	(void)argc;
	(void)argv;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	/* lxspath prints its answers; libFuzzer speaks on stderr only. */
	if (devnull >= 0)
		dup2(devnull, 1);
	if (dir)
		for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
			char name[16];

			snprintf(name, sizeof(name), "%u", i);
			fz_write_seed(dir, name, seeds[i], strlen(seeds[i]));
		}
	return 0;
}
