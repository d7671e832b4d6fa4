/*
 * plan.h - what a session runs, decided in one place for both versions.
 *
 * From the registry entry, the distro's wsl.conf and /etc/passwd, what lxs
 * was asked (user, --cd, shell, command) and the host's folder and terminal,
 * plan_session() works out who runs (the user as CREATE names it, and the
 * passwd entry when known), where (a working folder in CREATE's terms:
 * "" or "~" for home, a distro path, or a host path to be seen through the
 * host share), the argv and the environment. lxs calls it for version 1,
 * lxsd for version 2 (with the request lxs sent it); lxs-init and lxs-pico's
 * runner then only carry it out.
 *
 * Pure: no I/O, no globals. It must not read files or the process's
 * environment: its callers pass what they read.
 */
#ifndef LXS_STORE_PLAN_H
#define LXS_STORE_PLAN_H

#include <stdbool.h>

#include "store/config.h"
#include "store/passwd.h"
#include "store/registry.h"

enum plan_shell { PLAN_SHELL_DEFAULT, PLAN_SHELL_STANDARD, PLAN_SHELL_LOGIN, PLAN_SHELL_NONE };

/* What lxs was asked, and the bits of the host a session takes along. */
struct plan_request {
	const char *user;        /* -u, or NULL for the distro's default */
	const char *cd;          /* --cd, or NULL */
	const char *host_cwd;    /* the folder lxs runs in (absolute), or NULL */
	const char *term, *lang; /* the host's TERM and LANG, or NULL */
	enum plan_shell shell;
	bool exec;  /* -e: cmd is the argv, no shell */
	bool quote; /* join cmd for the shell with each argument quoted */
	int ncmd;
	const char *const *cmd; /* ncmd strings; none: the user's shell */
	bool version1;          /* lxs-pico runs it: the host share is always at /mnt/host */
	bool interop_off;       /* lxs.conf's [interop] enabled=false */
	/*
	 * Where lxs-fs shows this distro's files on the host (run/fs/NAME), or
	 * NULL when it does not: a --cd or current folder under it is the
	 * distro path it shows, and LXS_DISTRO_FILES tells lxspath.
	 */
	const char *files_root;
};

struct session_plan {
	char distro[REG_NAME_MAX + 1];
	char user[REG_NAME_MAX + 2]; /* as CREATE names it: "" root, a name, "#uid" */
	bool known;                  /* pw is the user's entry from the distro's passwd */
	struct pw_entry pw;          /* else: name as asked, home "", shell "/bin/sh" */
	char cwd[LXS_PATH_MAX];      /* "" or "~": home; else absolute */
	bool host_cwd;               /* cwd is a host path (LXS_CREATE_HOST_CWD) */
	int argc, envc;
	const char **argv, **envp; /* NULL-terminated; freed by plan_free */
	/*
	 * Interop is on for the session (lxs.conf and wsl.conf's [interop]
	 * enabled): lxs serves its host programs and adds LXS_INTEROP.
	 */
	bool interop;
	char host_mount[LXS_PATH_MAX]; /* where the host's / is in the distro; "" none */
};

/*
 * Fill pl for distro d. passwd is the distro's /etc/passwd text or NULL.
 * With strict (version 1, whose files are read as the session starts) a
 * user missing from passwd is an error; otherwise (version 2, a passwd read
 * when the distro started) lxs-init has the last word. 0, or -errno with one
 * sentence in err.
 */
int plan_session(const struct plan_request *rq, const struct reg_distro *d,
		 const struct wsl_conf *wsl, const char *passwd, bool strict,
		 struct session_plan *pl, char *err, size_t errlen);
void plan_free(struct session_plan *pl);
/* What can be refused before anything starts: a bad -u, no command without a shell. */
int plan_check(const struct plan_request *rq, char *err, size_t errlen);

/* A user name lxs accepts from the command line (no spaces, ':', '/', controls). */
bool plan_user_ok(const char *u);

#endif
