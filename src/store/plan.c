/*
 * plan.c - see plan.h: the user a session runs as (WSL's order of
 * precedence), its working folder, argv and environment.
 */
#include "plan.h"

#include "common/proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISTRO_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

bool plan_user_ok(const char *u)
{
	if (!u[0] || strlen(u) > 64)
		return false;
	for (const char *c = u; *c; c++)
		if (*c <= ' ' || *c == ':' || *c == '/' || *c == 0x7f)
			return false;
	return true;
}

int plan_check(const struct plan_request *rq, char *err, size_t errlen)
{
	if (rq->user && !plan_user_ok(rq->user)) {
		snprintf(err, errlen, "'%.64s' is not a valid user name", rq->user);
		return -EINVAL;
	}
	if ((rq->exec || rq->shell == PLAN_SHELL_NONE) && rq->ncmd < 1) {
		snprintf(err, errlen, "--shell-type none needs a command");
		return -EINVAL;
	}
	return 0;
}

/* -u, else [user] default, else the registry's, else [oobe] defaultUid, else root. */
static void choose_user(const struct plan_request *rq, const struct reg_distro *d,
			const struct wsl_conf *wsl, char *out, size_t len)
{
	if (rq->user)
		snprintf(out, len, "%s", rq->user);
	else if (wsl->default_user[0])
		snprintf(out, len, "%s", wsl->default_user);
	else if (d->default_user[0])
		snprintf(out, len, "%s", d->default_user);
	else if (wsl->oobe_default_uid >= 0)
		snprintf(out, len, "#%ld", wsl->oobe_default_uid);
	else
		out[0] = 0;
}

/* One argument as the shell reads it back: 'it'\''s'. Returns the bytes written. */
static size_t shell_quote(char *out, const char *s)
{
	char *o = out;

	*o++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *s;
		}
	}
	*o++ = '\'';
	return (size_t)(o - out);
}

/* The command for `sh -c`: the words joined by spaces, each quoted with quote. */
static char *join_cmd(const char *const *cmd, int n, bool quote)
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
			o += shell_quote(o, cmd[i]);
		} else {
			strcpy(o, cmd[i]);
			o += strlen(cmd[i]);
		}
	}
	*o = 0;
	return s;
}

/* The distro path that host path `host` shows under files_root (lxs-fs), or NULL. */
static const char *under_files(const char *files_root, const char *host)
{
	size_t n = files_root ? strlen(files_root) : 0;

	if (!n || !host || strncmp(host, files_root, n) || (host[n] && host[n] != '/'))
		return NULL;
	return host[n] ? host + n : "/";
}

/* Where to start, in CREATE's terms; the runner resolves it in the distro. */
static int choose_cwd(const struct plan_request *rq, struct session_plan *pl)
{
	const char *home = pl->pw.home, *cd = rq->cd, *in;
	int n = 0;

	pl->host_cwd = false;
	if ((in = under_files(rq->files_root, cd)) ||
	    (!cd && (in = under_files(rq->files_root, rq->host_cwd)))) {
		/* A folder of the distro's own, seen through lxs-fs: that folder, as WSL with
		 * \\wsl$. */
		n = snprintf(pl->cwd, sizeof(pl->cwd), "%s", in);
	} else if (!cd) {
		/* As wsl.exe: the host folder we are in, or home without the share. */
		pl->host_cwd = rq->host_cwd != NULL;
		n = snprintf(pl->cwd, sizeof(pl->cwd), "%s", rq->host_cwd ? rq->host_cwd : "");
	} else if (!strcmp(cd, "~")) {
		n = snprintf(pl->cwd, sizeof(pl->cwd), "~");
	} else if (!strncmp(cd, "~/", 2)) {
		n = snprintf(pl->cwd, sizeof(pl->cwd), "%s/%s", strcmp(home, "/") ? home : "",
			     cd + 2);
	} else if (cd[0] == '/') {
		n = snprintf(pl->cwd, sizeof(pl->cwd), "%s", cd);
	} else {
		/* A relative --cd names a host folder, relative to where lxs runs. */
		if (!rq->host_cwd)
			return -ENOENT;
		pl->host_cwd = true;
		n = snprintf(pl->cwd, sizeof(pl->cwd), "%s%s%s", rq->host_cwd,
			     strcmp(rq->host_cwd, "/") ? "/" : "", cd);
	}
	return n < 0 || (size_t)n >= sizeof(pl->cwd) ? -ENAMETOOLONG : 0;
}

/* argv and envp in one allocation: pointers, then the strings. */
static int build_vectors(struct session_plan *pl, const char *const *args, int argc,
			 const char *const *env, int envc)
{
	size_t bytes = (size_t)(argc + envc + 2) * sizeof(char *);

	for (int i = 0; i < argc; i++)
		bytes += strlen(args[i]) + 1;
	for (int i = 0; i < envc; i++)
		bytes += strlen(env[i]) + 1;
	const char **v = malloc(bytes);
	if (!v)
		return -ENOMEM;
	char *s = (char *)(v + argc + envc + 2);
	for (int i = 0; i < argc + envc; i++) {
		const char *src = i < argc ? args[i] : env[i - argc];
		size_t l = strlen(src) + 1;

		v[i + (i >= argc)] = memcpy(s, src, l);
		s += l;
	}
	v[argc] = NULL;
	v[argc + envc + 1] = NULL;
	pl->argv = v;
	pl->envp = v + argc + 1;
	pl->argc = argc;
	pl->envc = envc;
	return 0;
}

int plan_session(const struct plan_request *rq, const struct reg_distro *d,
		 const struct wsl_conf *wsl, const char *passwd, bool strict,
		 struct session_plan *pl, char *err, size_t errlen)
{
	char who[REG_NAME_MAX + 2], *cmdline = NULL;
	int ret;

	memset(pl, 0, sizeof(*pl));
	if ((ret = plan_check(rq, err, errlen)) < 0)
		return ret;
	snprintf(pl->distro, sizeof(pl->distro), "%s", d->name);
	choose_user(rq, d, wsl, who, sizeof(who));
	pl->known = passwd && passwd_lookup(passwd, who, &pl->pw) == 0;
	if (!pl->known) {
		bool root = !who[0] || !strcmp(who, "#0");

		if (strict && !root) {
			snprintf(err, errlen,
				 "user %s does not exist in %s; create it inside the distribution "
				 "first",
				 who[0] == '#' ? who + 1 : who, d->name);
			return -ENOENT;
		}
		/* Root is root without a passwd; anyone else is lxs-init's to find. */
		memset(&pl->pw, 0, sizeof(pl->pw));
		snprintf(pl->pw.name, sizeof(pl->pw.name), "%s", root ? "root" : who);
		snprintf(pl->pw.home, sizeof(pl->pw.home), "%s", root && strict ? "/root" : "");
		snprintf(pl->pw.shell, sizeof(pl->pw.shell), "/bin/sh");
	}
	/* CREATE's user: a name as passwd spells it, or as asked ("" and #uid stay). */
	snprintf(pl->user, sizeof(pl->user), "%s",
		 !who[0] || who[0] == '#' || !pl->known ? who : pl->pw.name);
	if ((ret = choose_cwd(rq, pl)) < 0) {
		snprintf(err, errlen,
			 ret == -ENOENT ? "a relative --cd needs a current folder"
					: "the --cd folder's name is too long");
		return ret;
	}

	/* What to run: the command as given, or the user's shell (-l, -c). */
	const char *args[4];
	const char *const *argv = args;
	int argc = 0;
	if (rq->exec || rq->shell == PLAN_SHELL_NONE) {
		argv = rq->cmd;
		argc = rq->ncmd;
	} else {
		args[argc++] = pl->pw.shell;
		if (rq->shell == PLAN_SHELL_LOGIN || (rq->shell == PLAN_SHELL_DEFAULT && !rq->ncmd))
			args[argc++] = "-l";
		if (rq->ncmd) {
			if (!(cmdline = join_cmd(rq->cmd, rq->ncmd, rq->quote)))
				goto oom;
			args[argc++] = "-c";
			args[argc++] = cmdline;
		}
	}

	/*
	 * Interop, and where the host's / appears: the [automount] root's "host"
	 * folder in version 2, /mnt/host in version 1 (lxs-pico's one place).
	 */
	pl->interop = !rq->interop_off && wsl->interop_enabled;
	pl->host_mount[0] = 0;
	if (wsl->automount_enabled && rq->version1)
		snprintf(pl->host_mount, sizeof(pl->host_mount), "/mnt/host");
	else if (wsl->automount_enabled) {
		size_t n = strlen(wsl->automount_root);

		while (n > 1 && wsl->automount_root[n - 1] == '/')
			n--;
		snprintf(pl->host_mount, sizeof(pl->host_mount), "%.*s/host",
			 wsl->automount_root[0] == '/' && n > 1 ? (int)n : 0, wsl->automount_root);
	}

	/*
	 * The environment: the distro's PATH (then lxs's tools, then the host's
	 * commands by name, last so that the distro's own programs win), the
	 * terminal's, who we are, which distro, where the host is.
	 */
	char vars[12][LXS_PATH_MAX + 64];
	const char *env[12];
	int envc = 0;
#define SETENV(...)                                                                                \
	(snprintf(vars[envc], sizeof(vars[envc]), __VA_ARGS__), env[envc] = vars[envc], envc++)
	SETENV("%s:" LXS_TOOLS_DIR "/bin%s", DISTRO_PATH,
	       pl->interop && wsl->interop_append_path ? ":" LXS_TOOLS_DIR "/host-path" : "");
	if (rq->term)
		SETENV("TERM=%s", rq->term);
	if (rq->lang)
		SETENV("LANG=%s", rq->lang);
	if (pl->pw.home[0])
		SETENV("HOME=%s", pl->pw.home);
	if (pl->known || who[0] != '#') {
		SETENV("USER=%s", pl->pw.name);
		SETENV("LOGNAME=%s", pl->pw.name);
	}
	SETENV("SHELL=%s", pl->pw.shell);
	SETENV("LXS_DISTRO_NAME=%s", d->name);
	SETENV("WSL_DISTRO_NAME=%s", d->name);
	SETENV("LXS_HOST_MOUNT=%s", pl->host_mount);
	if (rq->files_root)
		SETENV("LXS_DISTRO_FILES=%s", rq->files_root);
#undef SETENV
	ret = build_vectors(pl, argv, argc, env, envc);
	free(cmdline);
	if (ret < 0)
		goto oom;
	return 0;
oom:
	free(cmdline);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

void plan_free(struct session_plan *pl)
{
	free(pl->argv);
	pl->argv = pl->envp = NULL;
}
