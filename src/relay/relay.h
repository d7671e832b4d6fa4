/*
 * relay.h - the serving side of a proto.h process conversation: take a
 * CREATE, start the process (pipes, or a pseudo-terminal), carry its stdio
 * under the protocol's windows, pass on SIGNAL and RESIZE, and end with
 * EXIT. Two programs serve it: lxs-init in the VM (a distro's process for
 * the host's lxs) and lxsd on the host (a host program for a distro's
 * lxs-host, src/lxsd/interop.c). What differs between them (whose process
 * it is, where it starts, how it is executed) is theirs, through
 * relay_ops; everything on the wire is here, once.
 *
 * Built into host programs and, with musl, into lxs-init: libc only.
 * Functions return -errno; none exits (except in the forked child).
 */
#ifndef LXS_RELAY_H
#define LXS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/proto.h"
#include "common/wire.h"

/* CREATE, checked and split (proto.h): the strings point into the payload. */
struct relay_request {
	struct lxs_create c;
	const char *distro, *user, *cwd;
	const char **argv, **envp; /* NULL-terminated */
};

struct relay_user {
	uid_t uid;
	gid_t gid;
	char name[64], home[256], shell[256];
};

/* What to run, as the prepare hook decides it. */
struct relay_plan {
	struct relay_user user;
	bool set_identity;       /* running as root: become user (groups, gid, uid) */
	const char *cwd;         /* "" or "~": the user's home */
	bool or_home;            /* a folder that cannot be entered: home instead */
	const char *const *envp; /* exactly the process's environment */
};

struct relay_ops {
	/*
	 * In the server, after CREATE was parsed: fill *pl. On a refusal, send
	 * ERROR on w (wire_send_error) and return its -errno.
	 */
	int (*prepare)(void *ctx, struct wire *w, const struct relay_request *rq,
		       struct relay_plan *pl);
	/*
	 * In the child, after identity, folder, signals and environ are set:
	 * execute. NULL: execvp(argv[0]). Returns only on failure, errno set.
	 */
	void (*exec)(void *ctx, const struct relay_request *rq, const struct relay_plan *pl);
};

/*
 * CREATE (payload, len) was received on w: run the process and relay it to
 * its end, then send EXIT. Returns 0, or -errno (-EPIPE: the peer went away
 * and the process was hung up, as a terminal would).
 */
int relay_serve(struct wire *w, const uint8_t *payload, size_t len, const struct relay_ops *ops,
		void *ctx);

#endif
