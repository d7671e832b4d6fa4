/*
 * lxs - the command line of the Linux subsystem for Linux, after wsl.exe
 * (reference/wsl.md §1; README "The lxs command line"). Management commands
 * that need no VM (import, export, list, unregister, defaults) run right
 * here against the registry; running a command asks lxsd to make sure the
 * VM and the distro run, then talks to the guest's lxs-init directly, so
 * the command's bytes pass through no process but lxs and lxs-vm.
 *
 * Exit status: the command's; 128+N when signal N killed it; 255 when lxs
 * itself failed, after one sentence on stderr (wsl.exe returns -1).
 *
 * Two programs are built from this file. lxs-manage is all of it; lxs
 * (LXS_LEAN) hands the commands that write distros (install, import,
 * export, unregister, defaults, conversions, manage) to the lxs-manage next
 * to it with the same arguments, so that running a command does not load
 * libarchive and libext2fs and the dozen libraries behind them: they took
 * 11 of the 12 ms of `lxs --version` (measured on this host).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/args.h"
#include "common/proto.h"
#include "store/config.h"
#include "store/distro.h"
#include "store/extfile.h"
#include "store/ipc.h"
#include "store/paths.h"
#include "store/registry.h"
#include "store/v1.h"
#include "session/session.h"

#define LXS_VERSION "0.1.0"
#define FAIL        255

static int fail(const char *sentence)
{
	fprintf(stderr, "lxs: %s\n", sentence);
	return FAIL;
}

static void warn_cb(const char *sentence, void *arg)
{
	(void)arg;
	if (!getenv("WSL_DISABLE_WARNINGS") && !getenv("LXS_DISABLE_WARNINGS"))
		fprintf(stderr, "lxs: warning: %s\n", sentence);
}

#ifndef LXS_LEAN
/* ---- progress -------------------------------------------------------------- */

struct progress {
	const char *verb, *name;
	bool tty;
};

static int show_progress(const struct image_progress *ip, void *arg)
{
	struct progress *pr = arg;

	if (ip->warning) {
		fprintf(stderr, "%slxs: warning: %s\n", pr->tty ? "\r\033[K" : "", ip->warning);
		return 0;
	}
	if (!pr->tty)
		return 0;
	if (ip->done) {
		fprintf(stderr, "\r\033[K");
		return 0;
	}
	if (ip->in_total)
		fprintf(stderr, "\r%s %s: %3u%% (%llu MiB, %llu files)", pr->verb, pr->name,
			(unsigned)(ip->in_bytes * 100 / ip->in_total),
			(unsigned long long)(ip->data_bytes >> 20),
			(unsigned long long)ip->entries);
	else
		fprintf(stderr, "\r%s %s: %llu MiB, %llu files", pr->verb, pr->name,
			(unsigned long long)(ip->data_bytes >> 20),
			(unsigned long long)ip->entries);
	return 0;
}

#endif /* !LXS_LEAN */

/* ---- the view of the registry plus lxsd's running state ------------------- */

struct state {
	struct registry reg;
	bool lxsd; /* lxsd answered */
	bool vm;
	char running[16][REG_NAME_MAX + 1];
	int nrunning;
};

static int load_state(const struct lxs_paths *p, struct state *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	int ret = registry_load(p->registry, &st->reg, err, errlen);
	if (ret < 0)
		return ret;
	/* Ask lxsd only if it is up: listing must never start a VM. */
	int fd = lxsd_connect(p, false, err, errlen);
	if (fd == -EPERM) {
		registry_free(&st->reg);
		return fd;
	}
	if (fd >= 0) {
		static struct ipc_reply r;

		if (ipc_request(fd, "status", &r, 5000) == 0 && r.ok) {
			const char *v;

			st->lxsd = true;
			st->vm = (v = ipc_get(&r, "vm", 0)) && !strcmp(v, "running");
			for (int i = 0; i < 16 && (v = ipc_get(&r, "running", i)); i++) {
				snprintf(st->running[i], sizeof(st->running[i]), "%.*s",
					 (int)strcspn(v, " "), v);
				st->nrunning++;
			}
		}
		close(fd);
	}
	err[0] = 0;
	return 0;
}

static bool is_running(const struct state *st, const char *name)
{
	for (int i = 0; i < st->nrunning; i++)
		if (!strcasecmp(st->running[i], name))
			return true;
	return false;
}

/* Imports in flight hold their name's lock before the registry knows the name. */
static int installing(const struct lxs_paths *p, const struct registry *reg,
		      char names[][REG_NAME_MAX + 1], int max)
{
	char dir[LXS_PATH_MAX];
	int n = 0;

	if (path_fmt(dir, sizeof(dir), "%s/locks", p->data) < 0)
		return 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) && n < max) {
		char *dot = strrchr(e->d_name, '.');

		if (!dot || strcmp(dot, ".lock"))
			continue;
		*dot = 0;
		if (reg_name_ok(e->d_name) && !registry_find(reg, e->d_name) &&
		    distro_locked(p, e->d_name))
			snprintf(names[n++], REG_NAME_MAX + 1, "%.64s", e->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

/* A version-1 distro runs while an lxs session holds its lock (shared). */
static bool v1_running(const struct lxs_paths *p, const char *name)
{
	int fd = distro_lock(p, name, true);

	if (fd < 0)
		return fd == -EWOULDBLOCK;
	close(fd);
	return false;
}

static int do_list(const struct lxs_paths *p, const struct cli_args *a)
{
	struct state st;
	char err[1024] = "", inst[16][REG_NAME_MAX + 1];

	if (a->online)
		return fail("--online: lxs installs only debian for now (lxs --install debian)");
	if (load_state(p, &st, err, sizeof(err)) < 0)
		return fail(err);
	int ninst = a->running ? 0 : installing(p, &st.reg, inst, 16), shown = 0;
	if (a->verbose && (st.reg.n || ninst))
		printf("  %-24s %-12s %s\n", "NAME", "STATE", "VERSION");
	else if (!a->quiet && (st.reg.n || ninst) && !a->running)
		printf("lxs distributions:\n");
	else if (!a->quiet && !a->verbose && a->running && st.nrunning)
		printf("Running lxs distributions:\n");
	for (int i = 0; i < st.reg.n; i++) {
		const struct reg_distro *d = &st.reg.d[i];
		bool run = is_running(&st, d->name) || (d->version == 1 && v1_running(p, d->name)),
		     def = !strcasecmp(d->name, st.reg.default_name);

		if (a->running && !run)
			continue;
		shown++;
		if (a->quiet)
			printf("%s\n", d->name);
		else if (a->verbose)
			printf("%s %-24s %-12s %d\n", def ? "*" : " ", d->name,
			       run ? "Running" : "Stopped", d->version);
		else
			printf("%s%s\n", d->name, def ? " (Default)" : "");
	}
	for (int i = 0; i < ninst; i++, shown++) {
		if (a->quiet)
			printf("%s\n", inst[i]);
		else if (a->verbose)
			printf("  %-24s %-12s %d\n", inst[i], "Installing", 2);
		else
			printf("%s (Installing)\n", inst[i]);
	}
	registry_free(&st.reg);
	/* As wsl.exe: an empty answer is an error unless --quiet asked for names only. */
	if (!shown && !a->quiet)
		return fail(
		    a->running
			? "there are no running distributions"
			: "there are no distributions; add one with lxs --install or lxs --import");
	return 0;
}

static int do_status(const struct lxs_paths *p)
{
	struct state st;
	struct lxs_config cfg;
	char err[1024] = "";

	if (load_state(p, &st, err, sizeof(err)) < 0)
		return fail(err);
	config_defaults(&cfg);
	config_load(p->config, &cfg, warn_cb, NULL);
	printf("Default distribution: %s\n",
	       st.reg.default_name[0] ? st.reg.default_name : "(none)");
	printf("Default version: %d\n", st.reg.default_version ? st.reg.default_version : 2);
	printf("Distributions: %d, running: %d\n", st.reg.n, st.nrunning);
	printf("VM: %s\n", st.vm ? "running" : "stopped");
	printf("VM settings: memory %llu MiB, %d processors, idle stop after %ld ms (distros %ld "
	       "ms)\n",
	       (unsigned long long)(cfg.memory >> 20), cfg.processors, cfg.vm_idle_timeout_ms,
	       cfg.instance_idle_timeout_ms);
	if (cfg.networking)
		printf("VM network: NAT (guest %s, host at %s, DNS %s), localhost forwarding %s\n",
		       LXS_NET_GUEST4, LXS_NET_GATEWAY4, LXS_NET_DNS4,
		       cfg.localhost_forwarding ? "on" : "off");
	else
		printf("VM network: none (networkingMode = none)\n");
	printf("Configuration: %s\nData: %s\n", p->config, p->data);
	struct leftovers l = {0};
	if (leftovers_all(p, false, &l) == 0 && l.count)
		printf("Leftovers of interrupted imports and conversions: %d (%.1f MiB); the next "
		       "operation on those folders, or lxsd's next start, removes them\n",
		       l.count, (double)l.bytes / (1 << 20));
	registry_free(&st.reg);
	return 0;
}

/* Ask a running lxsd something; with no lxsd, nothing runs and there is nothing to do. */
static int tell_lxsd(const struct lxs_paths *p, const char *req)
{
	char err[1024] = "";
	static struct ipc_reply r;
	int fd = lxsd_connect(p, false, err, sizeof(err));

	if (fd == -EPERM)
		return fail(err);
	if (fd < 0)
		return 0;
	int ret = ipc_request(fd, req, &r, -1);
	close(fd);
	if (ret < 0) {
		snprintf(err, sizeof(err), "lxsd did not answer: %s", strerror(-ret));
		return fail(err);
	}
	return r.ok ? 0 : fail(r.msg);
}

#ifndef LXS_LEAN
static int do_import(const struct lxs_paths *p, const struct cli_args *a)
{
	struct lxs_config cfg;
	char err[1024] = "";
	struct progress pr = {"Importing", a->name, isatty(2)};

	config_defaults(&cfg);
	config_load(p->config, &cfg, warn_cb, NULL);
	if (!strcmp(a->file, "-") && isatty(0))
		return fail("--import with - reads the tarball from stdin, which is a terminal; "
			    "redirect a file into it");
	struct import_opts o = {.name = a->name,
				.dir = a->dir,
				.file = a->file,
				.in_fd = 0,
				.version = a->version,
				.image_bytes = cfg.default_vhd_size,
				.image = a->vhd,
				.progress = show_progress,
				.progress_arg = &pr};
	if (distro_import(p, &o, err, sizeof(err)) < 0)
		return fail(err);
	return 0;
}

static int do_export(const struct lxs_paths *p, const struct cli_args *a)
{
	enum export_format f = EXPORT_AUTO;
	char err[1024] = "";
	struct progress pr = {"Exporting", a->name, isatty(2)};

	if (a->format && export_format_parse(a->format, &f) < 0) {
		snprintf(err, sizeof(err),
			 "--format takes tar, tar.gz, tar.xz, tar.zst or img, not '%s'", a->format);
		return fail(err);
	}
	if (!strcmp(a->file, "-") && isatty(1))
		return fail("--export to - writes the tarball to stdout, which is a terminal; "
			    "redirect it into a file");
	if (!a->file[0])
		return fail("--export needs a file name, or - for stdout");
	/* A pipe cannot carry the image's holes: 1 TiB of zeros would follow. */
	if (f == EXPORT_IMG && !strcmp(a->file, "-"))
		return fail("--format img needs a file name: an image cannot go to stdout");
	if (distro_export(p, a->name, a->file, 1, f, show_progress, &pr, err, sizeof(err)) < 0)
		return fail(err);
	return 0;
}

static int do_set_version(const struct lxs_paths *p, const struct cli_args *a)
{
	struct lxs_config cfg;
	char err[1024] = "";
	int v;

	if (!a->value || (strcmp(a->value, "1") && strcmp(a->value, "2")))
		return fail("--set-version takes a distribution name and 1 or 2");
	v = a->value[0] - '0';
	struct progress pr = {"Converting", a->name, isatty(2)};
	config_defaults(&cfg);
	config_load(p->config, &cfg, warn_cb, NULL);
	/* The conversion's two ends are a pipe: a side that gave up must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (distro_set_version(p, a->name, v, cfg.default_vhd_size, show_progress, &pr, err,
			       sizeof(err)) < 0)
		return fail(err);
	return 0;
}

static int do_manage(const struct lxs_paths *p, const struct cli_args *a)
{
	char err[1024] = "";
	int ret = 0;

	switch (a->manage) {
	case MANAGE_DEFAULT_USER:
		ret = distro_set_default_user(p, a->name, a->value, err, sizeof(err));
		break;
	case MANAGE_RESIZE: {
		uint64_t bytes;

		if (config_parse_size(a->value, &bytes) < 0) {
			snprintf(err, sizeof(err),
				 "--resize takes a size such as 64G or 512M, not '%s'", a->value);
			return fail(err);
		}
		ret = distro_resize(p, a->name, bytes, err, sizeof(err));
		break;
	}
	case MANAGE_MOVE:
		ret = distro_move(p, a->name, a->value, err, sizeof(err));
		break;
	case MANAGE_SPARSE:
		/* Images are always sparse: discard in the guest punches holes in the file. */
		if (strcmp(a->value, "true") && strcmp(a->value, "false"))
			return fail("--set-sparse takes true or false");
		if (!strcmp(a->value, "false"))
			return fail(
			    "lxs images are always sparse; --set-sparse false is not supported");
		return 0;
	default:
		return fail("--manage needs one of --set-default-user, --resize, --move");
	}
	return ret < 0 ? fail(err) : 0;
}

/* ---- --install --------------------------------------------------------------- */

static int run_wait(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		dup2(2, 1); /* their progress goes with ours, to stderr */
		execvp(argv[0], argv);
		fprintf(stderr, "lxs: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_session(const struct lxs_paths *p, const struct cli_args *a, const char *distro);

/*
 * A Debian minbase tarball already in the cache: ours, or the one the test
 * suite builds (tests/distro/debian.sh names it debian-bookworm-minbase-*).
 */
static bool cached_debian(const struct lxs_paths *p, char *out, size_t len)
{
	char dir[LXS_PATH_MAX];
	bool found = false;

	if (access(out, R_OK) == 0)
		return true;
	if (path_fmt(dir, sizeof(dir), "%s/distro", p->cache) < 0)
		return false;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && !found && (e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (!strncmp(e->d_name, "debian-bookworm-minbase", 23) && n > 8 &&
		    !strcmp(e->d_name + n - 8, ".tar.zst"))
			found = path_fmt(out, len, "%s/%s", dir, e->d_name) == 0;
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * The one distribution lxs knows how to fetch: Debian bookworm minbase from
 * Debian's archive with debootstrap (needs root), packed once into the cache.
 */
static int do_install(const struct lxs_paths *p, struct cli_args *a)
{
	const char *which = a->value ? a->value : "debian";
	const char *name = a->name ? a->name : which;
	char tarball[LXS_PATH_MAX], work[LXS_PATH_MAX], dir[LXS_PATH_MAX], err[1024] = "",
									   cmd[3 * LXS_PATH_MAX];

	if (strcmp(which, "debian") && strcmp(which, "Debian"))
		return fail(
		    "lxs can install debian (bookworm); for anything else, lxs --import a tarball");
	if (!reg_name_ok(name)) {
		snprintf(err, sizeof(err), "'%.80s' is not a valid distribution name", name);
		return fail(err);
	}
	if (path_fmt(tarball, sizeof(tarball), "%s/distro/debian-bookworm-minbase.tar.zst",
		     p->cache) < 0 ||
	    path_fmt(work, sizeof(work), "%s/distro/debian-work", p->cache) < 0)
		return fail("the cache folder's name is too long");
	if (a->location) {
		snprintf(dir, sizeof(dir), "%s", a->location);
	} else if (path_fmt(dir, sizeof(dir), "%s/distros/%s", p->data, name) < 0) {
		return fail("the data folder's name is too long");
	}
	if (!cached_debian(p, tarball, sizeof(tarball))) {
		if (geteuid() != 0)
			return fail(
			    "building the Debian root file system needs debootstrap as root once; "
			    "run lxs --install debian as root (the result is cached)");
		mkdir_p(work, 0755);
		path_fmt(cmd, sizeof(cmd), "%s/root", work);
		fprintf(stderr, "lxs: fetching Debian bookworm (minbase) with debootstrap; this "
				"takes a few minutes, once\n");
		char *db[] = {"debootstrap",
			      "--variant=minbase",
			      "bookworm",
			      cmd,
			      "http://deb.debian.org/debian",
			      NULL};
		if (run_wait(db) != 0) {
			char *rm[] = {"rm", "-rf", "--one-file-system", work, NULL};
			run_wait(rm);
			return fail("debootstrap failed (see its messages above); check the "
				    "network and try again");
		}
		char packed[LXS_PATH_MAX + 16];
		snprintf(packed, sizeof(packed), "%s.tmp", tarball);
		path_fmt(cmd, sizeof(cmd),
			 "rm -rf '%s'/root/var/lib/apt/lists/* "
			 "'%s'/root/var/cache/apt/archives/*.deb && "
			 "tar --numeric-owner --xattrs --xattrs-include='*' --acls --format=posix "
			 "-C '%s/root' -cf - . | zstd -q -T0 >'%s' && mv '%s' '%s'",
			 work, work, work, packed, packed, tarball);
		char *sh[] = {"sh", "-c", cmd, NULL};
		int st = run_wait(sh);
		char *rm[] = {"rm", "-rf", "--one-file-system", work, NULL};
		run_wait(rm);
		if (st != 0)
			return fail("cannot pack the Debian root file system into the cache");
	}
	struct cli_args imp = *a;
	imp.name = name;
	imp.dir = dir;
	imp.file = tarball;
	int ret = do_import(p, &imp);
	if (ret || a->no_launch)
		return ret;
	struct cli_args run = {.action = ACT_RUN};
	return run_session(p, &run, name);
}

#else
/* lxs-manage, next to this program, with the same arguments. */
static int exec_manage(char **argv)
{
	char self[LXS_PATH_MAX], path[LXS_PATH_MAX + 16], msg[LXS_PATH_MAX + 160];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return fail("cannot find where lxs is installed (/proc/self/exe)");
	self[n] = 0;
	slash = strrchr(self, '/');
	*slash = 0;
	snprintf(path, sizeof(path), "%s/lxs-manage", self);
	execv(path, argv);
	snprintf(msg, sizeof(msg), "cannot run %s (%s); it belongs next to lxs (make builds both)",
		 path, strerror(errno));
	return fail(msg);
}
#endif /* !LXS_LEAN */

/* ---- running ------------------------------------------------------------------ */

/* One argument as the shell reads it back: 'it'\''s' */
static size_t shell_quote(char *out, size_t cap, const char *s)
{
	size_t n = 0;

#define PUT(c)                                                                                     \
	do {                                                                                       \
		if (n + 1 < cap)                                                                   \
			out[n] = (c);                                                              \
		n++;                                                                               \
	} while (0)
	PUT('\'');
	for (; *s; s++) {
		if (*s == '\'') {
			PUT('\'');
			PUT('\\');
			PUT('\'');
			PUT('\'');
		} else {
			PUT(*s);
		}
	}
	PUT('\'');
#undef PUT
	return n;
}

static char *join_cmd(char **cmd, int n, bool quote)
{
	size_t cap = 1;

	for (int i = 0; i < n; i++)
		cap += 4 * strlen(cmd[i]) + 3;
	char *s = malloc(cap), *o = s;
	if (!s)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (i)
			*o++ = ' ';
		if (quote) {
			o += shell_quote(o, cap - (size_t)(o - s), cmd[i]);
		} else {
			strcpy(o, cmd[i]);
			o += strlen(cmd[i]);
		}
	}
	*o = 0;
	return s;
}

static bool user_ok(const char *u)
{
	if (!u[0] || strlen(u) > 64)
		return false;
	for (const char *c = u; *c; c++)
		if (*c <= ' ' || *c == ':' || *c == '/' || *c == 0x7f)
			return false;
	return true;
}

/*
 * Version 1 distributions run as host processes under lxs-pico, with no
 * lxsd and no VM: lxs reads the user and /etc/wsl.conf from the folder
 * itself, forks lxs-pico with the same argv, working folder and environment
 * a version-2 session gets, and waits. lxs (not an exec) stays so that it
 * holds the distro's lock shared for the session's life: --set-version,
 * --unregister and --manage then know the distro runs. The child shares our
 * terminal and process group, so ^C and ^Z reach the program directly; its
 * status (128+N for signal N, as lxs-pico reports it) is ours.
 */
static int run_version1(const struct lxs_paths *p, const struct cli_args *a,
			const struct reg_distro *d)
{
	char err[1024] = "", pico[LXS_PATH_MAX], who[80];
	struct wsl_conf wsl;
	char *text = NULL, *passwd = NULL, *group = NULL;
	long n;

	if (v1_pico_path(p, pico, sizeof(pico), err, sizeof(err)) < 0)
		return fail(err);
	if (a->user && !user_ok(a->user)) {
		snprintf(err, sizeof(err), "'%.64s' is not a valid user name", a->user);
		return fail(err);
	}
	if (!v1_is_dir(d->image, "/")) {
		snprintf(err, sizeof(err),
			 "the folder of %s (%.200s) is missing; lxs --unregister it and import it "
			 "again",
			 d->name, d->image);
		return fail(err);
	}
	/* The same files, in the same order, as lxsd reads for version 2. */
	wsl_conf_defaults(&wsl);
	if ((n = v1_read_file(d->image, "/etc/wsl-distribution.conf", 1 << 20, &text)) >= 0)
		wsl_conf_parse(text, (size_t)n, &wsl, warn_cb, NULL);
	free(text);
	text = NULL;
	if ((n = v1_read_file(d->image, "/etc/wsl.conf", 1 << 20, &text)) >= 0)
		wsl_conf_parse(text, (size_t)n, &wsl, warn_cb, NULL);
	free(text);
	if (a->user)
		snprintf(who, sizeof(who), "%s", a->user);
	else if (wsl.default_user[0])
		snprintf(who, sizeof(who), "%s", wsl.default_user);
	else if (d->default_user[0])
		snprintf(who, sizeof(who), "%s", d->default_user);
	else if (wsl.oobe_default_uid >= 0)
		snprintf(who, sizeof(who), "#%ld", wsl.oobe_default_uid);
	else
		who[0] = 0;
	struct pw_entry pw = {.name = "root", .home = "/root", .shell = "/bin/sh"};
	if (v1_read_file(d->image, "/etc/passwd", 16 << 20, &passwd) < 0 ||
	    passwd_lookup(passwd, who, &pw) < 0) {
		if (who[0] && (who[0] != '#' || strcmp(who, "#0"))) {
			free(passwd);
			snprintf(err, sizeof(err),
				 "user %s does not exist in %s; create it inside the distribution "
				 "first",
				 who[0] == '#' ? who + 1 : who, d->name);
			return fail(err);
		}
	}
	free(passwd);
	if (!pw.shell[0])
		snprintf(pw.shell, sizeof(pw.shell), "/bin/sh");
	char groups[1024];
	if (v1_read_file(d->image, "/etc/group", 16 << 20, &group) < 0)
		group = NULL;
	v1_groups(group ? group : "", pw.name, pw.gid, groups, sizeof(groups));
	free(group);

	/* Where to start: as version 2 does, the home folder unless --cd says otherwise. */
	char cwd[LXS_PATH_MAX];
	const char *home = pw.home[0] ? pw.home : "/";
	snprintf(cwd, sizeof(cwd), "%s", home);
	if (a->cd && !strcmp(a->cd, "~")) {
		/* the home folder */
	} else if (a->cd && !strncmp(a->cd, "~/", 2)) {
		if (path_fmt(cwd, sizeof(cwd), "%s/%s", strcmp(home, "/") ? home : "", a->cd + 2) <
		    0)
			return fail("the --cd folder's name is too long");
	} else if (a->cd && a->cd[0] == '/') {
		snprintf(cwd, sizeof(cwd), "%s", a->cd);
	} else if (a->cd) {
		char abs[LXS_PATH_MAX];

		if (!wsl.automount_enabled)
			return fail("a relative --cd names a host folder, but /etc/wsl.conf turns "
				    "off /mnt/host ([automount] enabled=false); give a path inside "
				    "the distribution");
		if (absolute_path(a->cd, abs, sizeof(abs)) < 0 ||
		    path_fmt(cwd, sizeof(cwd), "/mnt/host%s", abs) < 0)
			return fail("the --cd folder's name is too long");
	}
	if (a->cd && strcmp(a->cd, "~") && strncmp(cwd, "/mnt/host/", 10) &&
	    !v1_is_dir(d->image, cwd)) {
		snprintf(err, sizeof(err), "the folder %.200s does not exist in %s", cwd, d->name);
		return fail(err);
	}
	char here[LXS_PATH_MAX], there[LXS_PATH_MAX];
	if (!a->cd && wsl.automount_enabled && getcwd(here, sizeof(here)) &&
	    access(here, X_OK) == 0 &&
	    path_fmt(there, sizeof(there), "/mnt/host%s", strcmp(here, "/") ? here : "") == 0) {
		/* As wsl.exe: start in the host folder we are in, seen through /mnt/host. */
		snprintf(cwd, sizeof(cwd), "%s", there);
	} else if (!a->cd && !v1_is_dir(d->image, cwd)) {
		snprintf(cwd, sizeof(cwd), "/"); /* no home folder: as lxs-init, start at / */
	}

	/* What to run: exactly the argv a version-2 session would get. */
	char *cmdline = NULL;
	bool login = a->shell == SHELL_LOGIN || (a->shell == SHELL_DEFAULT && !a->ncmd);
	int ncmd = a->exec || a->shell == SHELL_NONE ? a->ncmd : 4;
	if ((a->exec || a->shell == SHELL_NONE) && !a->ncmd)
		return fail("--shell-type none needs a command");
	char **argv = calloc((size_t)ncmd + 24, sizeof(*argv));
	char uid_s[16], gid_s[16];
	int k = 0;
	if (!argv)
		return fail("out of memory");
	snprintf(uid_s, sizeof(uid_s), "%u", pw.uid);
	snprintf(gid_s, sizeof(gid_s), "%u", pw.gid);
	argv[k++] = pico;
	argv[k++] = "--root";
	argv[k++] = (char *)d->image;
	argv[k++] = "--uid";
	argv[k++] = uid_s;
	argv[k++] = "--gid";
	argv[k++] = gid_s;
	argv[k++] = "--groups";
	argv[k++] = groups;
	argv[k++] = "--cwd";
	argv[k++] = cwd;
	if (wsl.automount_enabled) {
		argv[k++] = "--host-share";
		argv[k++] = "/";
	}
	argv[k++] = "--";
	if (a->exec || a->shell == SHELL_NONE) {
		for (int i = 0; i < a->ncmd; i++)
			argv[k++] = a->cmd[i];
	} else {
		argv[k++] = pw.shell;
		if (login)
			argv[k++] = "-l";
		if (a->ncmd) {
			if (!(cmdline = join_cmd(a->cmd, a->ncmd, a->quote))) {
				free(argv);
				return fail("out of memory");
			}
			argv[k++] = "-c";
			argv[k++] = cmdline;
		}
	}
	argv[k] = NULL;

	/* The environment: the same variables a version-2 session gets. */
	static char envbuf[8][LXS_PATH_MAX + 32];
	char *envp[16];
	int ne = 0;
	const char *term = getenv("TERM"), *lang = getenv("LANG");
	envp[ne++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	if (term)
		snprintf(envbuf[0], sizeof(envbuf[0]), "TERM=%s", term), envp[ne++] = envbuf[0];
	if (lang)
		snprintf(envbuf[1], sizeof(envbuf[1]), "LANG=%s", lang), envp[ne++] = envbuf[1];
	snprintf(envbuf[2], sizeof(envbuf[2]), "HOME=%s", home), envp[ne++] = envbuf[2];
	snprintf(envbuf[3], sizeof(envbuf[3]), "USER=%s", pw.name), envp[ne++] = envbuf[3];
	snprintf(envbuf[4], sizeof(envbuf[4]), "LOGNAME=%s", pw.name), envp[ne++] = envbuf[4];
	snprintf(envbuf[5], sizeof(envbuf[5]), "SHELL=%s", pw.shell), envp[ne++] = envbuf[5];
	snprintf(envbuf[6], sizeof(envbuf[6]), "LXS_DISTRO_NAME=%s", d->name),
	    envp[ne++] = envbuf[6];
	snprintf(envbuf[7], sizeof(envbuf[7]), "WSL_DISTRO_NAME=%s", d->name),
	    envp[ne++] = envbuf[7];
	envp[ne] = NULL;

	/* Shared: any number of sessions; a conversion or unregister waits for none of them. */
	int lock = distro_lock(p, d->name, false);
	if (lock < 0) {
		free(argv);
		free(cmdline);
		snprintf(err, sizeof(err),
			 "%s is busy with another lxs (import, conversion, move); try again when "
			 "it is done",
			 d->name);
		return fail(err);
	}
	/* As a shell's system(): the terminal's signals are the program's to act on. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execve(pico, argv, envp);
		fprintf(stderr, "lxs: cannot run %s: %s\n", pico, strerror(errno));
		_exit(FAIL);
	}
	int st = 0, ret;
	if (pid < 0) {
		ret = fail("cannot start lxs-pico; the system is out of processes");
	} else {
		/* SIGTERM/SIGHUP to lxs end the program too (lxs-pico passes them on). */
		sigset_t set, old;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		sigaddset(&set, SIGCHLD);
		sigprocmask(SIG_BLOCK, &set, &old);
		int sfd = signalfd(-1, &set, SFD_CLOEXEC);
		for (;;) {
			pid_t w = waitpid(pid, &st, sfd >= 0 ? WNOHANG : 0);
			if (w == pid || (w < 0 && errno != EINTR))
				break;
			struct signalfd_siginfo si;
			if (sfd >= 0 && read(sfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo != SIGCHLD)
				kill(pid, (int)si.ssi_signo);
		}
		if (sfd >= 0)
			close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
		ret = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	close(lock);
	free(argv);
	free(cmdline);
	return ret;
}

static int run_session(const struct lxs_paths *p, const struct cli_args *a, const char *distro)
{
	struct registry reg;
	static struct ipc_reply r;
	char err[1024] = "", req[256];
	int ret;

	if ((ret = registry_load(p->registry, &reg, err, sizeof(err))) < 0)
		return fail(err);
	if (!distro)
		distro = reg.default_name[0] ? reg.default_name : NULL;
	if (!distro) {
		registry_free(&reg);
		return fail(
		    reg.n
			? "there is no default distribution; choose one with -d NAME or lxs "
			  "--set-default NAME"
			: "there are no distributions; add one with lxs --install or lxs --import");
	}
	struct reg_distro *d = registry_find(&reg, distro);
	if (!d) {
		snprintf(err, sizeof(err), "there is no distribution named %.80s; see lxs --list",
			 distro);
		registry_free(&reg);
		return fail(err);
	}
	char name[REG_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", d->name);
	distro = name;
	if (d->version == 1) {
		struct reg_distro one = *d;

		registry_free(&reg);
		return run_version1(p, a, &one);
	}
	registry_free(&reg);
	if (a->user && !user_ok(a->user)) {
		snprintf(err, sizeof(err), "'%.64s' is not a valid user name", a->user);
		return fail(err);
	}
	snprintf(req, sizeof(req), "run %s%s%s", distro, a->user ? " " : "",
		 a->user ? a->user : "");
	int lfd = lxsd_connect(p, true, err, sizeof(err));
	if (lfd < 0)
		return fail(err);
	/* An lxsd that was just leaving (idle) drops us unanswered: once more, with a new one. */
	if ((ret = ipc_request(lfd, req, &r, -1)) == -ECONNRESET || ret == -EPIPE) {
		close(lfd);
		if ((lfd = lxsd_connect(p, true, err, sizeof(err))) < 0)
			return fail(err);
		ret = ipc_request(lfd, req, &r, -1);
	}
	if (ret < 0) {
		snprintf(err, sizeof(err), "lxsd stopped answering (%s); try again",
			 strerror(-ret));
		return fail(err);
	}
	if (!r.ok)
		return fail(r.msg);
	/* lfd stays open: it is how lxsd knows this session still runs. */
	const char *vsock = ipc_get(&r, "vsock", 0), *port = ipc_get(&r, "port", 0);
	const char *gname = ipc_get(&r, "distro", 0), *user = ipc_get(&r, "user", 0);
	const char *home = ipc_get(&r, "home", 0), *shell = ipc_get(&r, "shell", 0);
	if (!vsock || !port || !gname || !user)
		return fail("lxsd gave an incomplete answer; restart it with lxs --shutdown");
	if (!shell || !shell[0])
		shell = "/bin/sh";
	if (!home)
		home = "";

	/* What to run. */
	char *cmdline = NULL, **argv;
	char *sh_argv[6];
	bool login = a->shell == SHELL_LOGIN || (a->shell == SHELL_DEFAULT && !a->ncmd);
	if (a->exec || a->shell == SHELL_NONE) {
		if (!a->ncmd)
			return fail("--shell-type none needs a command");
		argv = a->cmd;
	} else {
		int n = 0;

		sh_argv[n++] = (char *)shell;
		if (login)
			sh_argv[n++] = "-l";
		if (a->ncmd) {
			cmdline = join_cmd(a->cmd, a->ncmd, a->quote);
			if (!cmdline)
				return fail("out of memory");
			sh_argv[n++] = "-c";
			sh_argv[n++] = cmdline;
		}
		sh_argv[n] = NULL;
		argv = sh_argv;
	}

	/* Where to start. */
	char cwd[LXS_PATH_MAX] = "";
	bool host_cwd = false;
	if (a->cd) {
		if (!strcmp(a->cd, "~")) {
			snprintf(cwd, sizeof(cwd), "~");
		} else if (!strncmp(a->cd, "~/", 2)) {
			if (path_fmt(cwd, sizeof(cwd), "%s/%s", home[0] ? home : "", a->cd + 2) < 0)
				return fail("the --cd folder's name is too long");
		} else if (a->cd[0] == '/') {
			snprintf(cwd, sizeof(cwd), "%s", a->cd);
		} else {
			/* A relative path is the host's: lxs-init finds it under the host share. */
			if (absolute_path(a->cd, cwd, sizeof(cwd)) < 0)
				return fail("the --cd folder's name is too long");
			host_cwd = true;
		}
	} else if (getcwd(cwd, sizeof(cwd))) {
		/* As wsl.exe: start in the host folder we are in, or home without the share. */
		host_cwd = true;
	}

	/* The environment: the distro's PATH, a few things from the host, who we are. */
	static char envbuf[8][LXS_PATH_MAX + 32];
	char *envp[16];
	int ne = 0;
	envp[ne++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	const char *term = getenv("TERM"), *lang = getenv("LANG");
	const char *uname = user[0] && user[0] != '#' ? user : !user[0] ? "root" : NULL;
	if (term)
		snprintf(envbuf[0], sizeof(envbuf[0]), "TERM=%s", term), envp[ne++] = envbuf[0];
	if (lang)
		snprintf(envbuf[1], sizeof(envbuf[1]), "LANG=%s", lang), envp[ne++] = envbuf[1];
	if (home[0])
		snprintf(envbuf[2], sizeof(envbuf[2]), "HOME=%s", home), envp[ne++] = envbuf[2];
	if (uname) {
		snprintf(envbuf[3], sizeof(envbuf[3]), "USER=%s", uname), envp[ne++] = envbuf[3];
		snprintf(envbuf[4], sizeof(envbuf[4]), "LOGNAME=%s", uname), envp[ne++] = envbuf[4];
	}
	snprintf(envbuf[5], sizeof(envbuf[5]), "SHELL=%s", shell), envp[ne++] = envbuf[5];
	snprintf(envbuf[6], sizeof(envbuf[6]), "LXS_DISTRO_NAME=%s", gname), envp[ne++] = envbuf[6];
	snprintf(envbuf[7], sizeof(envbuf[7]), "WSL_DISTRO_NAME=%s", gname), envp[ne++] = envbuf[7];
	envp[ne] = NULL;

	struct session_req q = {.distro = gname,
				.user = user,
				.cwd = cwd,
				.argv = argv,
				.envp = envp,
				.host_cwd = host_cwd};
	/* A terminal on both ends gets a pty; otherwise pipes keep stdout and stderr apart. */
	q.pty = isatty(0) && isatty(1);
	int vfd = session_connect(vsock, (uint32_t)strtoul(port, NULL, 10), err, sizeof(err));
	if (vfd < 0) {
		free(cmdline);
		char msg[1200];
		snprintf(msg, sizeof(msg), "cannot reach the distribution: %s", err);
		return fail(msg);
	}
	struct lxs_exit ex = {0};
	err[0] = 0;
	ret = session_run_stdio(vfd, &q, &ex, err, sizeof(err));
	free(cmdline);
	close(vfd);
	close(lfd);
	if (ret < 0) {
		char msg[1200];

		if (ret == -ENOENT && strstr(err, "does not exist"))
			snprintf(msg, sizeof(msg), "%s", err);
		else if (ret == -ENOENT || ret == -EACCES)
			snprintf(msg, sizeof(msg), "cannot run %s: %s", argv[0],
				 err[0] ? err : strerror(-ret));
		else
			snprintf(msg, sizeof(msg), "%s",
				 err[0] ? err
					: "the session with the distribution ended unexpectedly");
		if (ret == -ECONNRESET || strstr(msg, "lost"))
			snprintf(msg, sizeof(msg),
				 "the connection to the VM was lost (did the VM stop?); the "
				 "command's fate is unknown");
		return fail(msg);
	}
	return ex.signo ? 128 + ex.signo : ex.code;
}

int main(int argc, char **argv)
{
	struct cli_args a;
	struct lxs_paths p;
	char err[1024] = "";

	if (cli_parse(argc, argv, &a, err, sizeof(err)) < 0)
		return fail(err);
	if (a.action == ACT_HELP) {
		fputs(cli_usage, stdout);
		return 0;
	}
	if (a.action == ACT_VERSION) {
		printf("lxs version: %s\nsession protocol: %d\n", LXS_VERSION, LXS_PROTO_VERSION);
		return 0;
	}
	if (paths_init(&p, err, sizeof(err)) < 0)
		return fail(err);
#ifdef LXS_LEAN
	switch (a.action) {
	case ACT_INSTALL:
	case ACT_IMPORT:
	case ACT_IMPORT_IN_PLACE:
	case ACT_EXPORT:
	case ACT_UNREGISTER:
	case ACT_SET_DEFAULT:
	case ACT_SET_DEFAULT_VERSION:
	case ACT_SET_VERSION:
	case ACT_MANAGE:
		return exec_manage(argv);
	default:
		break;
	}
#endif
	if (a.action == ACT_RUN && a.distro && !reg_name_ok(a.distro)) {
		snprintf(err, sizeof(err), "there is no distribution named '%.80s'; see lxs --list",
			 a.distro);
		return fail(err);
	}
	switch (a.action) {
	case ACT_RUN:
		return run_session(&p, &a, a.distro);
	case ACT_LIST:
		return do_list(&p, &a);
	case ACT_STATUS:
		return do_status(&p);
#ifndef LXS_LEAN
	case ACT_IMPORT:
		return do_import(&p, &a);
	case ACT_IMPORT_IN_PLACE:
		return distro_import_in_place(&p, a.name, a.file, err, sizeof(err)) < 0 ? fail(err)
											: 0;
	case ACT_EXPORT:
		return do_export(&p, &a);
	case ACT_UNREGISTER: {
		char req[128];

		if (!reg_name_ok(a.name)) {
			snprintf(err, sizeof(err),
				 "there is no distribution named '%.80s'; see lxs --list", a.name);
			return fail(err);
		}
		snprintf(req, sizeof(req), "terminate %s", a.name);
		int st = tell_lxsd(&p, req);
		if (st)
			return st;
		return distro_unregister(&p, a.name, err, sizeof(err)) < 0 ? fail(err) : 0;
	}
	case ACT_SET_DEFAULT:
		return distro_set_default(&p, a.name, err, sizeof(err)) < 0 ? fail(err) : 0;
	case ACT_SET_DEFAULT_VERSION:
		return distro_set_default_version(&p, a.version, err, sizeof(err)) < 0 ? fail(err)
										       : 0;
	case ACT_SET_VERSION:
		return do_set_version(&p, &a);
#endif
	case ACT_TERMINATE: {
		char req[128];

		if (!reg_name_ok(a.name)) {
			snprintf(err, sizeof(err),
				 "there is no distribution named '%.80s'; see lxs --list", a.name);
			return fail(err);
		}
		struct registry reg;
		if (registry_load(p.registry, &reg, err, sizeof(err)) < 0)
			return fail(err);
		bool known = registry_find(&reg, a.name) != NULL;
		registry_free(&reg);
		if (!known) {
			snprintf(err, sizeof(err),
				 "there is no distribution named %s; see lxs --list", a.name);
			return fail(err);
		}
		snprintf(req, sizeof(req), "terminate %s", a.name);
		return tell_lxsd(&p, req);
	}
	case ACT_SHUTDOWN:
		return tell_lxsd(&p, a.force ? "shutdown force" : "shutdown");
#ifndef LXS_LEAN
	case ACT_MANAGE:
		return do_manage(&p, &a);
	case ACT_INSTALL:
		return do_install(&p, &a);
#endif
	default:
		return fail("this command is not available yet");
	}
}
