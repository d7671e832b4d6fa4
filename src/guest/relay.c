/*
 * relay.c - one session of a distro: whose process it is (the distro's
 * passwd), where it starts (the host share's view of the host folder) and
 * how (runuser under systemd), for src/relay, which runs it and carries its
 * stdio. Runs in a child of PID 1 of its own, so it may change namespaces
 * and block freely.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/posix_const.h"
#include "guest.h"
#include "relay/relay.h"

/* Look a user up in the distro's own /etc/passwd ("" = root, "#N" = uid N). */
static int find_user(const char *spec, struct relay_user *u)
{
	char line[1024];
	FILE *f;
	bool by_uid = spec[0] == '#';
	char *end;
	unsigned long want_uid = by_uid ? strtoul(spec + 1, &end, 10) : 0;

	if (by_uid && (*end || spec[1] == 0))
		return -EINVAL;
	if (!spec[0]) {
		spec = "root";
		by_uid = true;
	}
	*u = (struct relay_user){.uid = (uid_t)want_uid, .gid = (gid_t)want_uid};
	snprintf(u->name, sizeof(u->name), "%s", by_uid ? "" : spec);
	snprintf(u->home, sizeof(u->home), "/");
	snprintf(u->shell, sizeof(u->shell), "/bin/sh");
	f = fopen("/etc/passwd", "re");
	if (!f)
		return by_uid ? 0 : -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *fld[7];
		char *s = line;
		int n = 0;

		line[strcspn(line, "\n")] = 0;
		for (char *t; n < 7 && (t = strsep(&s, ":"));)
			fld[n++] = t;
		if (n < 7)
			continue;
		unsigned long uid = strtoul(fld[2], NULL, 10);
		if (by_uid ? uid != want_uid : strcmp(fld[0], spec) != 0)
			continue;
		u->uid = (uid_t)uid;
		u->gid = (gid_t)strtoul(fld[3], NULL, 10);
		snprintf(u->name, sizeof(u->name), "%s", fld[0]);
		snprintf(u->home, sizeof(u->home), "%s", fld[5][0] ? fld[5] : "/");
		snprintf(u->shell, sizeof(u->shell), "%s", fld[6][0] ? fld[6] : "/bin/sh");
		fclose(f);
		return 0;
	}
	fclose(f);
	return by_uid ? 0 : -ENOENT;
}

/* s in single quotes for sh, appended at *at; false when it does not fit. */
static bool append_quoted(char *buf, size_t len, size_t *at, const char *s)
{
	size_t n = *at;

	if (n + 1 >= len)
		return false;
	buf[n++] = '\'';
	for (; *s; s++) {
		const char *piece = *s == '\'' ? "'\\''" : NULL;
		size_t k = piece ? 4 : 1;

		if (n + k + 2 >= len)
			return false;
		if (piece)
			memcpy(buf + n, piece, k);
		else
			buf[n] = *s;
		n += k;
	}
	buf[n++] = '\'';
	buf[n++] = ' ';
	buf[n] = 0;
	*at = n;
	return true;
}

/*
 * A login session under systemd, as WSL starts them: `runuser -l USER -c
 * 'cd DIR; exec ARGV'`, whose PAM stack registers the session with logind
 * (XDG_RUNTIME_DIR, the user's systemd instance). runuser -l sets HOME,
 * SHELL, USER, LOGNAME and PATH and keeps what -w names; the login shell goes
 * to the home folder, so the command changes to the session's folder first.
 */
static const char **login_argv(const struct relay_user *u, const char *const *argv,
			       const char *const *envp)
{
	static char cmd[LXS_MSG_MAX], keep[2048], dir[PATH_MAX];
	static const char *lv[8];
	size_t at = 0, kn = 0;
	int n = 0;

	if (!getcwd(dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), "%s", u->home);
	memcpy(cmd, "cd -- ", 6);
	at = 6;
	if (!append_quoted(cmd, sizeof(cmd), &at, dir))
		return NULL;
	snprintf(cmd + at, sizeof(cmd) - at, "2>/dev/null; exec ");
	at += strlen(cmd + at);
	for (int i = 0; argv[i]; i++)
		if (!append_quoted(cmd, sizeof(cmd), &at, argv[i]))
			return NULL;
	for (int i = 0; envp[i]; i++) {
		size_t k = strcspn(envp[i], "=");
		static const char *const set[] = {"HOME", "SHELL", "USER", "LOGNAME", "PATH"};
		bool skip = false;

		for (size_t j = 0; j < sizeof(set) / sizeof(set[0]); j++)
			skip |= strlen(set[j]) == k && !strncmp(envp[i], set[j], k);
		if (skip || kn + k + 2 >= sizeof(keep))
			continue;
		if (kn)
			keep[kn++] = ',';
		memcpy(keep + kn, envp[i], k);
		kn += k;
		keep[kn] = 0;
	}
	lv[n++] = "runuser";
	lv[n++] = "-l";
	lv[n++] = u->name;
	if (kn) {
		lv[n++] = "-w";
		lv[n++] = keep;
	}
	lv[n++] = "-c";
	lv[n++] = cmd;
	lv[n] = NULL;
	return lv;
}

/* runuser of the distro when it runs systemd, else NULL (sessions start directly). */
static const char *login_runner(const struct init_opts *o, const struct relay_user *u)
{
	static const char *const paths[] = {"/usr/sbin/runuser", "/sbin/runuser"};

	if (o->test_mode || !u->name[0] || !distro_has_systemd())
		return NULL;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* The VM's side of a session: enter the distro, find the user, place the folder. */
struct guest_relay {
	const struct init_opts *o;
	char hostdir[PATH_MAX + 300];
	const char *runuser;
};

static int guest_prepare(void *ctx, struct wire *w, const struct relay_request *rq,
			 struct relay_plan *pl)
{
	struct guest_relay *g = ctx;
	int ret;

	if (rq->c.flags & LXS_CREATE_HOST_ENV)
		return wire_send_error(w, EPROTO, "a distro's process gets its whole environment");
	/* Read while the VM's registry is in sight: distro_enter leaves it behind. */
	char hostmnt[HOSTROOT_PATH_MAX] = "";
	if (!g->o->test_mode && distro_host_dir(rq->distro, hostmnt, sizeof(hostmnt)) < 0)
		hostmnt[0] = 0;
	if (!g->o->test_mode && (ret = distro_enter(rq->distro)) < 0)
		return wire_send_error(w, -ret, "distro %s is not running", rq->distro);
	if ((ret = find_user(rq->user, &pl->user)) < 0)
		return wire_send_error(w, -ret, "user %s does not exist in distro %s", rq->user,
				       rq->distro);
	pl->cwd = rq->cwd;
	pl->envp = rq->envp;
	if (rq->c.flags & LXS_CREATE_HOST_CWD) {
		const char *cwd = rq->cwd;
		size_t n;

		/* lxs-init --serve-unix runs on the host itself: the path is as it is. */
		if (g->o->test_mode)
			snprintf(g->hostdir, sizeof(g->hostdir), "%s", cwd);
		else if (cwd[0] != '/' || strlen(cwd) >= PATH_MAX || !hostmnt[0])
			g->hostdir[0] = 0; /* the share is off in this distro: home */
		else {
			n = (size_t)snprintf(g->hostdir, sizeof(g->hostdir), "%s", hostmnt);
			if (strcmp(cwd, "/"))
				snprintf(g->hostdir + n, sizeof(g->hostdir) - n, "%s", cwd);
		}
		pl->cwd = g->hostdir;
		pl->or_home = true;
	}
	g->runuser = login_runner(g->o, &pl->user);
	/* runuser takes the identity on itself. */
	pl->set_identity = !g->runuser;
	return 0;
}

static void guest_exec(void *ctx, const struct relay_request *rq, const struct relay_plan *pl)
{
	struct guest_relay *g = ctx;

	if (g->runuser) {
		const char **lv = login_argv(&pl->user, rq->argv, pl->envp);

		errno = E2BIG;
		if (lv)
			execv(g->runuser, exec_vec(lv));
		return;
	}
	execvp(rq->argv[0], exec_vec(rq->argv));
}

static const struct relay_ops guest_relay_ops = {.prepare = guest_prepare, .exec = guest_exec};

int relay_session(const struct init_opts *o, struct wire *w, const uint8_t *payload, size_t len)
{
	struct guest_relay g = {.o = o};

	return relay_serve(w, payload, len, &guest_relay_ops, &g);
}
