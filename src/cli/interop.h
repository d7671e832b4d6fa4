/*
 * interop.h - the host's side of interop for one session (proto.h,
 * "Interop"): lxs runs a small server beside the session that runs host
 * programs for the distro's lxs-host, as WSL's per-session interop server
 * does, so host programs start with the environment of the terminal lxs
 * was started in. The server is a child of lxs that dies with it; the host
 * programs it started run on until their own connection ends.
 */
#ifndef LXS_CLI_INTEROP_H
#define LXS_CLI_INTEROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "store/paths.h"

struct interop_server {
	pid_t pid;               /* the server child; 0 when none */
	char sock[LXS_PATH_MAX]; /* the Unix socket it listens on (unlinked at stop) */
	char env[LXS_PATH_MAX];  /* "LXS_INTEROP=..." for the session's environment */
};

/*
 * Version 1: listen on the tools folder's sessions/<pid>.sock, which the
 * distro reaches as /usr/lib/lxs/sessions/<pid>.sock through lxs-pico
 * (host_view: by its host path, for lxs-init --serve-unix's tests).
 */
int interop_start_unix(const struct lxs_paths *p, bool host_view, struct interop_server *is,
		       char *err, size_t errlen);
/*
 * Version 2: listen on "<vsock>_PORT" for a free PORT from
 * LXS_VSOCK_PORT_INTEROP, which lxs-vm connects the guest's vsock
 * connections to that port to.
 */
int interop_start_vsock(const char *vsock, struct interop_server *is, char *err, size_t errlen);
/* Stop the server (not the programs it runs) and remove its socket. */
void interop_stop(struct interop_server *is);

/*
 * The session's environment: the plan's (plan_env), then is->env (is may be
 * NULL: interop off) and the variables of ours that WSLENV/LXSENV name,
 * translated into the distro (host_mount: where the host's / is there);
 * the plan's own names win. A malloc'd vector, freed with
 * interop_session_env_free, or NULL (out of memory, or WSLENV names more
 * than it may carry).
 */
const char **interop_session_env(const char *const *plan_env, const struct interop_server *is,
				 const char *host_mount, char ***extra);
void interop_session_env_free(const char **env, char **extra);

/*
 * The tools folder every distro sees at /usr/lib/lxs (LXS_TOOLS_DIR):
 * bin/lxs-host (copied from next to lxs), bin/lxspath, and host-path/ with
 * one link to lxs-host per executable name on the host's PATH (path_env).
 * Brought up to date (atomically per entry), so lxs calls it at each
 * session; path_env NULL leaves host-path/ as it is. 0 or -errno with why.
 */
int interop_tools_refresh(const struct lxs_paths *p, const char *path_env, char *err,
			  size_t errlen);

#endif
