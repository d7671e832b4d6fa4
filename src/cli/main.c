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
#include "cli/interop.h"
#include "common/posix_const.h"
#include "common/proto.h"
#include "store/config.h"
#include "store/distro.h"
#include "store/extfile.h"
#include "store/ipc.h"
#include "store/paths.h"
#include "store/plan.h"
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
	bool lxsd;   /* lxsd answered */
	uint32_t vm; /* enum lxs_vm_state */
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
		static struct ipc_state is;
		struct call_answer ans;

		if (call_fd(fd, LXS_MSG_LXSD_STATUS, NULL, 0, NULL, 0, &ans, 5000) == 0 &&
		    ans.type == LXS_MSG_LXSD_STATE && ipc_decode_state(ans.p, ans.len, &is) == 0) {
			st->lxsd = true;
			st->vm = is.vm;
			for (uint32_t i = 0; i < is.n && st->nrunning < 16; i++)
				if (is.d[i].state == LXS_DISTRO_RUNNING)
					snprintf(st->running[st->nrunning++],
						 sizeof(st->running[0]), "%s", is.d[i].name);
		}
		call_answer_free(&ans);
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
	static const char *const vm_states[] = {"stopped", "booting", "running", "stopping"};
	printf("VM: %s\n", vm_states[st.vm < 4 ? st.vm : 0]);
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
static int tell_lxsd(const struct lxs_paths *p, uint16_t type, const void *payload, size_t len)
{
	char err[1200] = "";
	struct call_answer ans;
	int fd = lxsd_connect(p, false, err, sizeof(err));

	if (fd == -EPERM)
		return fail(err);
	if (fd < 0)
		return 0;
	int ret = call_fd(fd, type, payload, len, NULL, 0, &ans, -1);
	close(fd);
	if (ret < 0) {
		snprintf(err, sizeof(err), "lxsd did not answer: %s", strerror(-ret));
		return fail(err);
	}
	call_answer_free(&ans);
	if (ans.type == LXS_MSG_ERROR)
		return fail(ans.msg);
	return ans.type == LXS_MSG_OK ? 0 : fail("lxsd gave an answer lxs does not know");
}

/* TERMINATE and SHUTDOWN's payloads. */
static int tell_terminate(const struct lxs_paths *p, const char *name)
{
	return tell_lxsd(p, LXS_MSG_LXSD_TERMINATE, name, strlen(name) + 1);
}

static int tell_shutdown(const struct lxs_paths *p, bool force)
{
	struct lxs_shutdown m = {.force = force};

	return tell_lxsd(p, LXS_MSG_LXSD_SHUTDOWN, &m, sizeof(m));
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
	case MANAGE_SPARSE: {
		uint64_t freed = 0;

		/*
		 * Images are always sparse (the guest mounts with discard, which
		 * punches holes); true also gives back zero blocks already there.
		 */
		if (strcmp(a->value, "true") && strcmp(a->value, "false"))
			return fail("--set-sparse takes true or false");
		if (!strcmp(a->value, "false"))
			return fail(
			    "lxs images are always sparse; --set-sparse false is not supported");
		ret = distro_make_sparse(p, a->name, &freed, err, sizeof(err));
		if (ret == 0)
			printf("%s: %llu MiB given back to the host\n", a->name,
			       (unsigned long long)(freed >> 20));
		break;
	}
	default:
		return fail("--manage needs one of --set-default-user, --resize, --move");
	}
	return ret < 0 ? fail(err) : 0;
}

/* ---- --install --------------------------------------------------------------- */

static int run_wait(const char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		dup2(2, 1); /* their progress goes with ours, to stderr */
		execvp(argv[0], exec_vec(argv));
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
		const char *db[] = {"debootstrap",
				    "--variant=minbase",
				    "bookworm",
				    cmd,
				    "http://deb.debian.org/debian",
				    NULL};
		if (run_wait(db) != 0) {
			const char *rm[] = {"rm", "-rf", "--one-file-system", work, NULL};
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
		const char *sh[] = {"sh", "-c", cmd, NULL};
		int st = run_wait(sh);
		const char *rm[] = {"rm", "-rf", "--one-file-system", work, NULL};
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

_Static_assert(SHELL_DEFAULT == (int)PLAN_SHELL_DEFAULT &&
		   SHELL_STANDARD == (int)PLAN_SHELL_STANDARD &&
		   SHELL_LOGIN == (int)PLAN_SHELL_LOGIN && SHELL_NONE == (int)PLAN_SHELL_NONE,
	       "--shell-type's values are the plan's");

static void no_warn(const char *sentence, void *arg)
{
	(void)sentence;
	(void)arg;
}

/* lxs.conf's [interop] enabled (its other settings are the VM's; their warnings lxsd's). */
/* lxs.conf as a session needs it (its warnings are lxsd's to give, or --status's). */
static void session_config(const struct lxs_paths *p, struct lxs_config *cfg)
{
	config_defaults(cfg);
	config_load(p->config, cfg, no_warn, NULL);
}

static bool interop_configured(const struct lxs_paths *p)
{
	struct lxs_config cfg;

	session_config(p, &cfg);
	return cfg.interop;
}

/*
 * The tools folder brought up to date for a session (path_env: the host's
 * PATH for host-path/, NULL to leave it); a failure is said once, unless it
 * is the run folder's own, which what follows reports as the error it is.
 */
static bool tools_ready(const struct lxs_paths *p, const char *path_env)
{
	char err[1024] = "", why[1024];

	if (interop_tools_refresh(p, path_env, err, sizeof(err)) == 0)
		return true;
	if (paths_check_run_dir(p, why, sizeof(why)) == 0)
		fprintf(stderr, "lxs: lxs-host and lxspath are missing from this session: %s\n",
			err);
	return false;
}

/*
 * When the plan has interop on, the session's interop server (version 1:
 * a socket lxs-pico shows the distro; version 2: beside the VM's vsock
 * socket; host_view: lxs-init --serve-unix's tests, whose "distro" is the
 * host). A failure costs the session its interop, said once, never the
 * session itself.
 */
static void interop_prepare(const struct lxs_paths *p, bool on, const char *vsock, bool host_view,
			    struct interop_server *is)
{
	char err[1024] = "";
	int ret = 0;

	memset(is, 0, sizeof(*is));
	if (on && vsock && !host_view)
		ret = interop_start_vsock(vsock, is, err, sizeof(err));
	else if (on)
		ret = interop_start_unix(p, host_view, is, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "lxs: host programs cannot be run from this session: %s\n", err);
}

/* What lxs was asked, with the host folder and terminal it runs in, as the plan takes it. */
static void plan_request_of(const struct cli_args *a, struct plan_request *rq, char *here,
			    size_t herelen)
{
	*rq = (struct plan_request){.user = a->user,
				    .cd = a->cd,
				    .host_cwd = getcwd(here, herelen),
				    .term = getenv("TERM"),
				    .lang = getenv("LANG"),
				    .shell = (enum plan_shell)a->shell,
				    .exec = a->exec,
				    .quote = a->quote,
				    .ncmd = a->ncmd,
				    .cmd = (const char *const *)a->cmd};
}

/*
 * A version-1 session's working folder: the plan's, resolved in the folder
 * as lxs-init resolves it for version 2 (a host path through /mnt/host,
 * home when that cannot be, / when there is no home).
 */
static int v1_cwd(const struct reg_distro *d, const struct wsl_conf *wsl, const struct cli_args *a,
		  const struct session_plan *pl, char *cwd, size_t len, char *err, size_t errlen)
{
	const char *home = pl->pw.home[0] ? pl->pw.home : "/";

	if (pl->host_cwd && a->cd) {
		if (!wsl->automount_enabled) {
			snprintf(err, errlen,
				 "a relative --cd names a host folder, but /etc/wsl.conf turns off "
				 "/mnt/host ([automount] enabled=false); give a path inside the "
				 "distribution");
			return -EINVAL;
		}
		if (path_fmt(cwd, len, "/mnt/host%s", pl->cwd) < 0)
			goto too_long;
		return 0;
	}
	if (pl->host_cwd) {
		/* As wsl.exe: start in the host folder we are in, seen through /mnt/host. */
		if (wsl->automount_enabled && access(pl->cwd, X_OK) == 0 &&
		    path_fmt(cwd, len, "/mnt/host%s", strcmp(pl->cwd, "/") ? pl->cwd : "") == 0)
			return 0;
		snprintf(cwd, len, "%s", v1_is_dir(d->image, home) ? home : "/");
		return 0;
	}
	if (path_fmt(cwd, len, "%s", !pl->cwd[0] || !strcmp(pl->cwd, "~") ? home : pl->cwd) < 0)
		goto too_long;
	if (a->cd && strcmp(a->cd, "~") && strncmp(cwd, "/mnt/host/", 10) &&
	    !v1_is_dir(d->image, cwd)) {
		snprintf(err, errlen, "the folder %.200s does not exist in %s", cwd, d->name);
		return -ENOENT;
	}
	if (!a->cd && !v1_is_dir(d->image, cwd))
		snprintf(cwd, len, "/"); /* no home folder: as lxs-init, start at / */
	return 0;
too_long:
	snprintf(err, errlen, "the --cd folder's name is too long");
	return -ENAMETOOLONG;
}

/* wsl-distribution.conf then wsl.conf, the same files in the same order as lxsd reads. */
/* Run lxs-pico with argv and envp and wait: its status (128+N for signal N). */
static int pico_spawn(const char *pico, const char *const argv[], const char *const envp[])
{
	/* As a shell's system(): the terminal's signals are the program's to act on. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execve(pico, exec_vec(argv), exec_vec(envp));
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
	return ret;
}

/*
 * Version 1 distributions run as host processes under lxs-pico, with no
 * lxsd and no VM: lxs reads /etc/wsl.conf and the users from the folder
 * itself, plans the session as lxsd does for version 2, forks lxs-pico and
 * waits. lxs (not an exec) stays so that it holds the distro's lock shared
 * for the session's life: --set-version, --unregister and --manage then
 * know the distro runs. The child shares our terminal and process group,
 * so ^C and ^Z reach the program directly; its status is ours.
 */
static int run_version1(const struct lxs_paths *p, const struct cli_args *a,
			const struct reg_distro *d)
{
	char err[1024] = "", pico[LXS_PATH_MAX], here[LXS_PATH_MAX], cwd[LXS_PATH_MAX];
	struct wsl_conf wsl;
	struct plan_request rq;
	struct session_plan pl;
	char *passwd = NULL, *group = NULL;
	int ret;

	if (v1_pico_path(p, pico, sizeof(pico), err, sizeof(err)) < 0)
		return fail(err);
	if (!v1_is_dir(d->image, "/")) {
		snprintf(err, sizeof(err),
			 "the folder of %s (%.200s) is missing; lxs --unregister it and import it "
			 "again",
			 d->name, d->image);
		return fail(err);
	}
	v1_wsl_conf(d, &wsl, warn_cb, NULL);
	if (v1_read_file(d->image, "/etc/passwd", 16 << 20, &passwd) < 0)
		passwd = NULL;
	plan_request_of(a, &rq, here, sizeof(here));
	rq.version1 = true;
	struct lxs_config cfg;
	char files[LXS_PATH_MAX];
	session_config(p, &cfg);
	rq.interop_off = !cfg.interop;
	if (cfg.distro_files && path_fmt(files, sizeof(files), "%s/fs/%s", p->run, d->name) == 0)
		rq.files_root = files;
	ret = plan_session(&rq, d, &wsl, passwd, true, &pl, err, sizeof(err));
	free(passwd);
	if (ret < 0)
		return fail(err);
	if (v1_cwd(d, &wsl, a, &pl, cwd, sizeof(cwd), err, sizeof(err)) < 0) {
		plan_free(&pl);
		return fail(err);
	}
	char groups[1024], uid_s[16], gid_s[16];
	if (v1_read_file(d->image, "/etc/group", 16 << 20, &group) < 0)
		group = NULL;
	v1_groups(group ? group : "", pl.pw.name, pl.pw.gid, groups, sizeof(groups));
	free(group);
	snprintf(uid_s, sizeof(uid_s), "%u", pl.pw.uid);
	snprintf(gid_s, sizeof(gid_s), "%u", pl.pw.gid);

	/* The tools at /usr/lib/lxs, and who serves this session's host programs. */
	bool tools =
	    interop_tools_refresh(p, pl.interop ? getenv("PATH") : NULL, err, sizeof(err)) == 0;
	if (!tools)
		fprintf(stderr, "lxs: lxs-host and lxspath are missing from this session: %s\n",
			err);
	struct interop_server is;
	interop_prepare(p, pl.interop && tools, NULL, false, &is);
	char **extra;
	const char **env = interop_session_env(pl.envp, &is, pl.host_mount, &extra);

	/* lxs-pico's options, then the plan's argv. */
	const char **argv = calloc((size_t)pl.argc + 18, sizeof(*argv));
	int k = 0;
	if (!argv || !env) {
		free(argv);
		interop_stop(&is);
		interop_session_env_free(env, extra);
		plan_free(&pl);
		return fail(env ? "out of memory"
				: "the variables WSLENV names are too many or too large to pass "
				  "on");
	}
	argv[k++] = pico;
	argv[k++] = "--root";
	argv[k++] = d->image;
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
	if (tools) {
		argv[k++] = "--tools";
		argv[k++] = p->tools;
	}
	argv[k++] = "--";
	for (int i = 0; i < pl.argc; i++)
		argv[k++] = pl.argv[i];
	argv[k] = NULL;

	/* Shared: any number of sessions; a conversion or unregister waits for none of them. */
	int lock = distro_lock(p, d->name, false);
	if (lock < 0) {
		snprintf(err, sizeof(err),
			 "%s is busy with another lxs (import, conversion, move); try again when "
			 "it is done",
			 d->name);
		ret = fail(err);
	} else {
		ret = pico_spawn(pico, argv, env);
		close(lock);
	}
	interop_stop(&is);
	interop_session_env_free(env, extra);
	free(argv);
	plan_free(&pl);
	return ret;
}

/* Ask lxsd for the session (it starts the VM and the distro): the answer, or exit's status. */
static int ask_lxsd(const struct lxs_paths *p, const uint8_t *req, size_t len, int *lfd,
		    struct call_answer *ans)
{
	char err[1200] = "";
	int ret;

	if ((*lfd = lxsd_connect(p, true, err, sizeof(err))) < 0)
		return fail(err);
	/* An lxsd that was just leaving (idle) drops us unanswered: once more, with a new one. */
	ret = call_fd(*lfd, LXS_MSG_LXSD_RUN, req, len, NULL, 0, ans, -1);
	if (ret == -ECONNRESET || ret == -EPIPE) {
		close(*lfd);
		if ((*lfd = lxsd_connect(p, true, err, sizeof(err))) < 0)
			return fail(err);
		ret = call_fd(*lfd, LXS_MSG_LXSD_RUN, req, len, NULL, 0, ans, -1);
	}
	if (ret < 0) {
		snprintf(err, sizeof(err), "lxsd stopped answering (%s); try again",
			 strerror(-ret));
		return fail(err);
	}
	if (ans->type == LXS_MSG_ERROR)
		return fail(ans->msg);
	return 0;
}

static int run_session(const struct lxs_paths *p, const struct cli_args *a, const char *distro)
{
	struct registry reg;
	char err[1024] = "", here[LXS_PATH_MAX];
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
	struct reg_distro one = *d;
	registry_free(&reg);
	if (one.version == 1)
		return run_version1(p, a, &one);

	/* Version 2: lxsd plans the session, from what the distro's image says. */
	struct plan_request rq;
	plan_request_of(a, &rq, here, sizeof(here));
	if (plan_check(&rq, err, sizeof(err)) < 0)
		return fail(err);
	/* Before the VM may boot: lxsd shares the tools folder with it. */
	tools_ready(p, interop_configured(p) ? getenv("PATH") : NULL);
	uint8_t *req = NULL;
	long len = ipc_encode_run(one.name, &rq, &req);
	if (len < 0)
		return fail("the command and its arguments are too long for one session");
	struct call_answer ans;
	struct ipc_plan pl;
	int lfd;
	ret = ask_lxsd(p, req, (size_t)len, &lfd, &ans);
	free(req);
	if (ret) {
		call_answer_free(&ans);
		return ret;
	}
	if (ans.type != LXS_MSG_LXSD_PLAN || ipc_decode_plan(ans.p, ans.len, &pl) < 0) {
		call_answer_free(&ans);
		return fail("lxsd gave an incomplete answer; restart it with lxs --shutdown");
	}
	/* lfd stays open: it is how lxsd knows this session still runs. */
	struct interop_server is;
	interop_prepare(p, pl.interop, pl.vsock, pl.port == 0, &is);
	char **extra;
	const char *mnt = "";
	for (int i = 0; pl.envp[i]; i++)
		if (!strncmp(pl.envp[i], "LXS_HOST_MOUNT=", 15))
			mnt = pl.envp[i] + 15;
	const char **env = interop_session_env(pl.envp, &is, mnt, &extra);
	if (!env) {
		interop_stop(&is);
		ipc_plan_free(&pl);
		call_answer_free(&ans);
		return fail("the variables WSLENV names are too many or too large to pass on");
	}
	struct session_req q = {.distro = pl.distro,
				.user = pl.user,
				.cwd = pl.cwd,
				.argv = pl.argv,
				.envp = env,
				.host_cwd = pl.host_cwd};
	/* A terminal on both ends gets a pty; otherwise pipes keep stdout and stderr apart. */
	q.pty = isatty(0) && isatty(1);
	int vfd = session_connect(pl.vsock, pl.port, err, sizeof(err));
	if (vfd < 0) {
		char msg[1200];

		interop_stop(&is);
		interop_session_env_free(env, extra);
		ipc_plan_free(&pl);
		call_answer_free(&ans);
		snprintf(msg, sizeof(msg), "cannot reach the distribution: %s", err);
		return fail(msg);
	}
	struct lxs_exit ex = {0};
	err[0] = 0;
	ret = session_run_stdio(vfd, &q, &ex, err, sizeof(err));
	close(vfd);
	close(lfd);
	interop_stop(&is);
	interop_session_env_free(env, extra);
	if (ret < 0) {
		char msg[1200];

		if (ret == -ENOENT && strstr(err, "does not exist"))
			snprintf(msg, sizeof(msg), "%s", err);
		else if (ret == -ENOENT || ret == -EACCES)
			snprintf(msg, sizeof(msg), "cannot run %s: %s", pl.argv[0],
				 err[0] ? err : strerror(-ret));
		else
			snprintf(msg, sizeof(msg), "%s",
				 err[0] ? err
					: "the session with the distribution ended unexpectedly");
		if (ret == -ECONNRESET || strstr(msg, "lost"))
			snprintf(msg, sizeof(msg),
				 "the connection to the VM was lost (did the VM stop?); the "
				 "command's fate is unknown");
		ipc_plan_free(&pl);
		call_answer_free(&ans);
		return fail(msg);
	}
	ipc_plan_free(&pl);
	call_answer_free(&ans);
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
		if (!reg_name_ok(a.name)) {
			snprintf(err, sizeof(err),
				 "there is no distribution named '%.80s'; see lxs --list", a.name);
			return fail(err);
		}
		int st = tell_terminate(&p, a.name);
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
		return tell_terminate(&p, a.name);
	}
	case ACT_SHUTDOWN:
		return tell_shutdown(&p, a.force);
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
