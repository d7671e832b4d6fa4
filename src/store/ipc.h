/*
 * ipc.h - the conversation between lxs and lxsd over lxsd's Unix socket
 * (paths.h: run/lxsd.sock, 0600 in a 0700 folder; lxsd also checks
 * SO_PEERCRED). Text, so it can be tried by hand with socat:
 *
 *   request:  one line, words separated by single spaces (names and users
 *             are checked before they are sent, so they hold no spaces)
 *   reply:    "ok" or "error <sentence>", then "key value" lines, then an
 *             empty line.
 *
 * Requests:
 *   run NAME [USER]     make sure the VM and distro NAME run; reply with
 *                       where to connect (vsock PATH, port N), the guest's
 *                       name for the distro, and the user's uid, home and
 *                       shell. The connection then stays open for as long
 *                       as the session runs: lxsd counts it, and the
 *                       distro's idle timer starts when the last one closes.
 *   terminate NAME      stop the distro now (ok if it was not running)
 *   shutdown [force]    stop every distro and the VM
 *   status              "vm running|stopped", "running NAME" per distro,
 *                       "state NAME STATE" for distros busy otherwise
 *   ping                "ok" (used to tell a live lxsd from a stale socket)
 */
#ifndef LXS_DAEMON_IPC_H
#define LXS_DAEMON_IPC_H

#include <stdbool.h>
#include <stddef.h>

#include "paths.h"

#define IPC_MAX 16384

struct ipc_reply {
	char buf[IPC_MAX];
	size_t len;
	bool ok;
	const char *msg; /* the sentence after "error" */
};

/* A request as lxsd understands it. */
enum ipc_op { IPC_PING, IPC_RUN, IPC_TERMINATE, IPC_SHUTDOWN, IPC_STATUS };

struct ipc_request {
	enum ipc_op op;
	const char *name; /* run, terminate: the distro; else NULL */
	const char *user; /* run: the user, "" when not given; else NULL */
	bool force;       /* shutdown force */
};

/*
 * Parse one request line (newline already removed; it is split in place,
 * and rq's strings point into it): 0, or -EINVAL with *why set to the
 * sentence for the error reply ("empty request", "unknown request").
 * Words are separated by one or more spaces; a line of more than three
 * words is unknown. Pure: no I/O, no state.
 */
int ipc_parse_request(char *line, struct ipc_request *rq, const char **why);

/* Send req and read the whole reply (timeout_ms < 0: wait forever): 0 or -errno. */
int ipc_request(int fd, const char *req, struct ipc_reply *r, int timeout_ms);
/* The value of the first line "key ..." of the reply, or NULL. nth: 0 for the first. */
const char *ipc_get(const struct ipc_reply *r, const char *key, int nth);

/*
 * Connect to lxsd. With spawn, start it when it is not running (it
 * detaches and outlives us) and wait for its socket. The run folder is
 * checked before (paths_check_run_dir) and the server's uid after: both
 * refusals are -EPERM, which callers report even where a missing lxsd is
 * fine. Returns the fd or -errno with one sentence in err.
 */
int lxsd_connect(const struct lxs_paths *p, bool spawn, char *err, size_t errlen);

/* Write all of buf, retrying on EINTR/EAGAIN: 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

#endif
