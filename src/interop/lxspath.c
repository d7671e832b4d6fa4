/*
 * lxspath.c - lxspath, the distro-side counterpart of WSL's wslpath: one
 * path translated between the host's view (a host path) and the distro's
 * (a path under the host mount), printed on stdout. One of the names of
 * the multi-call distro tool, whose main passes the host mount
 * (xlate_host_mount()).
 *
 *   lxspath [-a] [-u | -w | -m] PATH
 *     -u  a host path to the distro path that shows it (the default)
 *     -w  a distro path to its host path: under the host mount, the host
 *         file it shows; elsewhere, where lxs-fs shows the distro's own
 *         file ($LXS_DISTRO_FILES, e.g. $XDG_RUNTIME_DIR/lxs/fs/NAME)
 *     -m  the same as -w: on Linux a host path has no other "mixed" form
 *     -a  print an absolute path even for a relative PATH
 *
 * As wslpath does: a relative PATH is taken from the current folder and
 * printed relative to it when the result lies under it ("." for the folder
 * itself), absolute otherwise; every failure, usage errors included,
 * exits 1 with one line on stderr. Unlike wslpath, symlinks are not
 * resolved (wslpath -w calls realpath): the host mount's links point into
 * the host's namespace, so resolving them in the distro would go wrong,
 * and the translation stays purely lexical.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "interop/xlate.h"

/* wslpath exits 1 for a usage error too (its Die() and argument parser). */
#define LXSPATH_EXIT_FAIL  1
#define LXSPATH_EXIT_USAGE 1

static int usage(void)
{
	fputs("usage: lxspath [-a] [-u | -w | -m] PATH\n"
	      "  -u  translate a host path to the distro path that shows it (default)\n"
	      "  -w  translate a distro path under the host mount to its host path\n"
	      "  -m  the same as -w\n"
	      "  -a  print an absolute path, also for a relative PATH\n",
	      stderr);
	return LXSPATH_EXIT_USAGE;
}

/* RES relative to the folder BASE when it lies under it, else RES. */
static const char *relative_to(const char *res, const char *base)
{
	size_t bl = strlen(base);

	if (bl == 1) /* base "/" */
		return res[1] ? res + 1 : ".";
	if (strncmp(res, base, bl) != 0)
		return res;
	if (res[bl] == '\0')
		return ".";
	return res[bl] == '/' ? res + bl + 1 : res;
}

static int fail_errno(const char *path, int err)
{
	fprintf(stderr, "lxspath: %s: %s\n", path, strerror(err));
	return LXSPATH_EXIT_FAIL;
}

/* -u: a host path to the distro path, into RES; the text to print, or
 * NULL after saying why not. */
static const char *to_distro(const char *mnt, const char *files, const char *path, const char *cwd,
			     bool absolute, char *res, char *tmp, char *base)
{
	bool rel = path[0] != '/';
	int r;

	/* A host path into this distro's own files (lxs-fs) is the distro path it shows. */
	if (!rel && files && *files && xlate_absolute(NULL, path, tmp, PATH_MAX) >= 0 &&
	    xlate_to_host(files, tmp, res, PATH_MAX) >= 0)
		return res;
	if (!mnt || !*mnt) {
		fprintf(stderr,
			"lxspath: %s: this distro has no host mount (automount is disabled)\n",
			path);
		return NULL;
	}
	if (rel) {
		/* A relative host path is relative to the host path of the current folder. */
		if (xlate_to_host(mnt, cwd, base, PATH_MAX) < 0) {
			fprintf(
			    stderr,
			    "lxspath: %s: a relative path, and the current folder %s has no host "
			    "path\n",
			    path, cwd);
			return NULL;
		}
		r = xlate_absolute(base, path, tmp, PATH_MAX);
	} else {
		r = xlate_absolute(NULL, path, tmp, PATH_MAX);
	}
	if (r >= 0)
		r = xlate_to_distro(mnt, tmp, res, PATH_MAX);
	if (r < 0) {
		fail_errno(path, -r);
		return NULL;
	}
	if (!rel || absolute)
		return res;
	if (xlate_absolute(NULL, cwd, base, PATH_MAX) < 0)
		return res;
	return relative_to(res, base);
}

/* -w, -m: a distro path to its host path, as to_distro. */
static const char *to_host(const char *mnt, const char *files, const char *path, const char *cwd,
			   bool absolute, char *res, char *tmp, char *base)
{
	bool rel = path[0] != '/';
	int r;

	if ((r = xlate_absolute(rel ? cwd : NULL, path, tmp, PATH_MAX)) < 0) {
		fail_errno(path, -r);
		return NULL;
	}
	r = xlate_to_host(mnt, tmp, res, PATH_MAX);
	/* The distro's own files: where lxs-fs shows them on the host. */
	if (r == -ENOENT && files && *files)
		r = xlate_to_distro(files, tmp, res, PATH_MAX);
	if (r == -ENOENT && (!mnt || !*mnt)) {
		fprintf(stderr,
			"lxspath: %s has no host path: this distro has no host mount (automount is "
			"disabled)\n",
			tmp);
		return NULL;
	}
	if (r == -ENOENT) {
		fprintf(stderr,
			"lxspath: %s has no host path: only files under %s do, since this distro's "
			"files are not shown on the host (lxs.conf [files] enabled=false)\n",
			tmp, mnt);
		return NULL;
	}
	if (r < 0) {
		fail_errno(path, -r);
		return NULL;
	}
	/* Relative to the current folder's host path, when it has one. */
	if (!rel || absolute || xlate_to_host(mnt, cwd, base, PATH_MAX) < 0)
		return res;
	return relative_to(res, base);
}

int lxspath_main(int argc, char **argv, const char *mnt, const char *files)
{
	char cwd[PATH_MAX] = "/", res[PATH_MAX], tmp[PATH_MAX], base[PATH_MAX];
	const char *path = NULL, *out;
	bool absolute = false, options = true;
	char mode = 0;

	for (int i = 1; i < argc && argv[i]; i++) {
		const char *a = argv[i];

		if (options && !strcmp(a, "--")) {
			options = false;
			continue;
		}
		if (options && !strcmp(a, "--help"))
			return usage();
		if (options && a[0] == '-' && a[1]) {
			for (const char *c = a + 1; *c; c++) {
				switch (*c) {
				case 'a':
					absolute = true;
					break;
				case 'u':
				case 'w':
				case 'm':
					/* As wslpath: one translation per call. */
					if (mode && mode != *c) {
						fprintf(stderr,
							"lxspath: -%c and -%c cannot be combined\n",
							mode, *c);
						return usage();
					}
					mode = *c;
					break;
				case 'h':
					return usage();
				default:
					fprintf(stderr, "lxspath: unknown option -%c\n", *c);
					return usage();
				}
			}
			continue;
		}
		if (path) {
			fprintf(stderr, "lxspath: one path only (%s and %s given)\n", path, a);
			return usage();
		}
		path = a;
	}
	if (!path) {
		fputs("lxspath: no path given\n", stderr);
		return usage();
	}
	if (!*path) {
		fputs("lxspath: the path is empty\n", stderr);
		return LXSPATH_EXIT_FAIL;
	}
	if (path[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr, "lxspath: cannot read the current folder: %s\n", strerror(errno));
		return LXSPATH_EXIT_FAIL;
	}
	if (mode == 'w' || mode == 'm')
		out = to_host(mnt, files, path, cwd, absolute, res, tmp, base);
	else
		out = to_distro(mnt, files, path, cwd, absolute, res, tmp, base);
	if (!out)
		return LXSPATH_EXIT_FAIL;
	/* The caller exits next: a full disk or closed pipe must show in the status. */
	if (printf("%s\n", out) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "lxspath: cannot write the result: %s\n", strerror(errno));
		return LXSPATH_EXIT_FAIL;
	}
	return 0;
}
