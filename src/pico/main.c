/*
 * lxs-pico - run a program of a version-1 (VolFs) distro as an ordinary
 * user, and move distros in and out of VolFs folders.
 *
 *   lxs-pico --root DIR [--uid N] [--gid N] [--groups G,G..] [--cwd PATH]
 *            [--host-share HOSTDIR] [--tools DIR] [--loader PATH]
 *            -- PROG [ARGS...]
 *   lxs-pico --unpack TARBALL DIR [--progress]   tar (any libarchive format/filter) -> VolFs
 *   lxs-pico --pack DIR TARBALL|- [--progress]   VolFs -> pax tar (filter from the name)
 *
 * --progress prints "progress ENTRIES BYTES" lines on stderr every 1,000
 * entries and at the end, for a caller to show.
 *
 * Exit status: the program's, or 128+N if signal N ended it (as a shell
 * reports it); 127 if PROG is not found in the distro, 126 if it cannot be
 * executed, 125 if lxs-pico itself failed (bad options, missing loader,
 * unusable root). --unpack/--pack: 0, or 125 with one line on stderr.
 *
 * PROG is looked up in the guest's PATH (from the environment, which is
 * passed on unchanged) when it has no slash. --uid/--gid default to 0:0,
 * the faked root; --cwd to "/". Without --host-share the guest sees no host
 * files at all; --host-share / gives it the host's / at /mnt/host.
 * --tools DIR shows the host folder DIR (lxs's programs for the distro and
 * its interop socket) read-only at /usr/lib/lxs, over the distro's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/posix_const.h"
#include "pico/volfs_tar.h"

#define EXIT_OWN 125

static void usage(FILE *f)
{
	fputs("usage: lxs-pico --root DIR [--uid N] [--gid N] [--groups G,G..] [--cwd PATH]\n"
	      "                [--host-share HOSTDIR] [--tools DIR] [--loader PATH]\n"
	      "                -- PROG [ARGS...]\n"
	      "       lxs-pico --unpack TARBALL DIR [--progress]\n"
	      "       lxs-pico --pack DIR TARBALL|- [--progress]\n"
	      "--host-share HOSTDIR: the host folder HOSTDIR at /mnt/host\n"
	      "--tools DIR: the host folder DIR at /usr/lib/lxs, read-only (lxs's tools)\n",
	      f);
}

static int parse_id(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 0xfffffffeUL)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The loader sits next to this program unless told otherwise. */
static int find_loader(char *buf, size_t size)
{
	const char *env = getenv("LXS_PICO_LOADER");
	if (env && *env) {
		if (!realpath(env, buf))
			return -1;
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		return -1;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if ((size_t)snprintf(buf, size, "%s/lxs-pico-loader", self) >= size)
		return -1;
	return access(buf, X_OK);
}

/*
 * Mount points the guest expects to see as directories, made where missing.
 * The folder is the distro's, so its names may be symlinks leading anywhere
 * (a /mnt -> /somewhere made `host` there): each is made by name in its
 * parent's fd, and a parent that is not a real folder is left alone.
 */
static void ensure_dirs(const char *root, int tools)
{
	static const char *dirs[] = {"proc", "sys", "dev", "tmp", "mnt", "mnt/host"};
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		const char *slash = strchr(dirs[i], '/');
		int pfd = rootfd;
		if (slash) {
			char parent[16];
			snprintf(parent, sizeof parent, "%.*s", (int)(slash - dirs[i]), dirs[i]);
			pfd = openat(rootfd, parent, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (pfd < 0)
				continue;
		}
		mkdirat(pfd, slash ? slash + 1 : dirs[i], 0755);
		if (pfd != rootfd)
			close(pfd);
	}
	/*
	 * /usr/lib/lxs, where the tools folder shows (a listing of /usr/lib
	 * names it, as a mount point), with /usr and /usr/lib made when the
	 * distro lacks them (busybox's); a symlink on the way is left alone.
	 */
	int ufd = -1, lfd = -1;
	if (tools) {
		mkdirat(rootfd, "usr", 0755);
		ufd = openat(rootfd, "usr", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (ufd >= 0) {
		mkdirat(ufd, "lib", 0755);
		lfd = openat(ufd, "lib", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (lfd >= 0) {
		mkdirat(lfd, "lxs", 0755);
		close(lfd);
	}
	if (ufd >= 0)
		close(ufd);
	close(rootfd);
}

static void show_progress(void *arg, long entries, long long bytes)
{
	(void)arg;
	fprintf(stderr, "progress %ld %lld\n", entries, bytes);
}

static pid_t child;
static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int main(int argc, char **argv)
{
	const char *root = NULL, *cwd = "/", *share = NULL, *loader_opt = NULL, *groups = NULL,
		   *tools = NULL;
	unsigned uid = 0, gid = 0;
	int i;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "--unpack") || !strcmp(argv[1], "--pack"))) {
		char err[512] = "";
		int prog = argc == 5 && !strcmp(argv[4], "--progress");
		if (argc != 4 && !prog) {
			usage(stderr);
			return EXIT_OWN;
		}
		volfs_progress_fn *fn = prog ? show_progress : NULL;
		int r = !strcmp(argv[1], "--unpack")
			    ? volfs_unpack(argv[2], argv[3], fn, NULL, err, sizeof err)
			    : volfs_pack(argv[2], argv[3], fn, NULL, err, sizeof err);
		if (r < 0) {
			fprintf(stderr, "lxs-pico: %s\n", err[0] ? err : strerror(-r));
			return EXIT_OWN;
		}
		return 0;
	}

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!v) {
			fprintf(stderr, "lxs-pico: %s needs a value\n", a);
			return EXIT_OWN;
		}
		if (!strcmp(a, "--root"))
			root = v;
		else if (!strcmp(a, "--cwd"))
			cwd = v;
		else if (!strcmp(a, "--host-share"))
			share = v;
		else if (!strcmp(a, "--tools"))
			tools = v;
		else if (!strcmp(a, "--loader"))
			loader_opt = v;
		else if (!strcmp(a, "--groups"))
			groups = v;
		else if (!strcmp(a, "--uid")) {
			if (parse_id(v, &uid)) {
				fprintf(stderr, "lxs-pico: bad --uid '%s'\n", v);
				return EXIT_OWN;
			}
		} else if (!strcmp(a, "--gid")) {
			if (parse_id(v, &gid)) {
				fprintf(stderr, "lxs-pico: bad --gid '%s'\n", v);
				return EXIT_OWN;
			}
		} else {
			fprintf(stderr, "lxs-pico: unknown option '%s'\n", a);
			usage(stderr);
			return EXIT_OWN;
		}
		i++;
	}
	if (!root || i >= argc) {
		usage(stderr);
		return EXIT_OWN;
	}

	char rootbuf[PATH_MAX], sharebuf[PATH_MAX], toolsbuf[PATH_MAX], loader[PATH_MAX];
	struct stat st;
	if (!realpath(root, rootbuf) || stat(rootbuf, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "lxs-pico: root '%s' is not a directory\n", root);
		return EXIT_OWN;
	}
	if (!strcmp(rootbuf, "/") || strlen(rootbuf) >= 1000) {
		fprintf(stderr, "lxs-pico: root '%s' cannot be used\n", rootbuf);
		return EXIT_OWN;
	}
	if (share && (!realpath(share, sharebuf) || strlen(sharebuf) >= 1000)) {
		fprintf(stderr, "lxs-pico: host share '%s' is not usable\n", share);
		return EXIT_OWN;
	}
	/* canonical, as the root: the translator compares host paths with it */
	if (tools && (tools[0] != '/' || !realpath(tools, toolsbuf) || stat(toolsbuf, &st) ||
		      !S_ISDIR(st.st_mode) || !strcmp(toolsbuf, "/") || strlen(toolsbuf) >= 1000 ||
		      strchr(toolsbuf, '\n'))) {
		fprintf(stderr, "lxs-pico: tools folder '%s' is not usable\n", tools);
		return EXIT_OWN;
	}
	if (loader_opt) {
		if (!realpath(loader_opt, loader)) {
			fprintf(stderr, "lxs-pico: loader '%s' not found\n", loader_opt);
			return EXIT_OWN;
		}
	} else if (find_loader(loader, sizeof loader)) {
		fprintf(
		    stderr,
		    "lxs-pico: lxs-pico-loader not found next to lxs-pico (set LXS_PICO_LOADER)\n");
		return EXIT_OWN;
	}
	if (cwd[0] != '/' || strlen(cwd) >= 4000 || strchr(cwd, '\n')) {
		fprintf(stderr, "lxs-pico: --cwd must be an absolute guest path\n");
		return EXIT_OWN;
	}
	ensure_dirs(rootbuf, tools != NULL);

	/* The state string the loader parses (see trap.c pico_state_format). */
	char state[8192];
	int n = snprintf(state, sizeof state, "R%s\n", rootbuf);
	if (share)
		n += snprintf(state + n, sizeof state - (size_t)n, "S%s\n", sharebuf);
	if (tools)
		n += snprintf(state + n, sizeof state - (size_t)n, "T%s\n", toolsbuf);
	n += snprintf(state + n, sizeof state - (size_t)n, "I%u,%u,%u,%u,%u,%u,%u,%u,%u,%u\nG", uid,
		      uid, uid, uid, gid, gid, gid, gid, (unsigned)getuid(), (unsigned)getgid());
	if (groups) {
		for (const char *g = groups; *g; g++)
			if ((*g < '0' || *g > '9') && *g != ',') {
				fprintf(stderr, "lxs-pico: bad --groups '%s'\n", groups);
				return EXIT_OWN;
			}
		n += snprintf(state + n, sizeof state - (size_t)n, "%s", groups);
	} else {
		n += snprintf(state + n, sizeof state - (size_t)n, "%u", gid);
	}
	n += snprintf(state + n, sizeof state - (size_t)n, "\nF1\nC%s\n", cwd);
	if ((size_t)n >= sizeof state) {
		fprintf(stderr, "lxs-pico: paths too long\n");
		return EXIT_OWN;
	}

	/* The loader gets the guest's argv as it is and its state in five
	 * variables at the end of the environment (see loader.c). */
	extern char **environ;
	size_t envc = 0;
	while (environ[envc])
		envc++;
	char **ev = calloc(envc + 6, sizeof *ev);
	char *vstate = malloc(strlen(state) + 32), *vfn = malloc(strlen(argv[i]) + 32);
	if (!ev || !vstate || !vfn)
		return EXIT_OWN;
	for (size_t k = 0; k < envc; k++)
		ev[k] = environ[k];
	sprintf(vstate, "LXS_PICO_STATE=%s", state);
	sprintf(vfn, "LXS_PICO_EXECFN=%s", argv[i]);
	ev[envc] = vstate;
	ev[envc + 1] = exec_str("LXS_PICO_HOST=");
	ev[envc + 2] = exec_str("LXS_PICO_EXE=");
	ev[envc + 3] = vfn;
	/* Room the loader fills with the guest's ids (privilege.c; the
	 * length is pico.h's PICO_IDS_LEN). */
	enum { IDS_LEN = 8 * (8 + 1 + 64) };
	static char vids[sizeof "LXS_PICO_IDS=" + IDS_LEN] = "LXS_PICO_IDS=";
	memset(vids + 13, '0', IDS_LEN);
	ev[envc + 4] = vids;
	char **lv = argv + i;

	/* A child, so that a signal death comes back as 128+N like a shell
	 * reports it; terminal signals reach the child directly (same process
	 * group), others are passed on. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	child = fork();
	if (child < 0) {
		perror("lxs-pico: fork");
		return EXIT_OWN;
	}
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execve(loader, lv, ev);
		fprintf(stderr, "lxs-pico: cannot run %s: %s\n", loader, strerror(errno));
		_exit(EXIT_OWN);
	}
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			perror("lxs-pico: waitpid");
			return EXIT_OWN;
		}
	free(ev);
	free(vstate);
	free(vfn);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
