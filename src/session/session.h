/*
 * session.h - the host side of proto.h's sessions: connect to a VM's lxs-init
 * through lxs-vm's vsock Unix socket (or to `lxs-init --serve-unix`), ask it
 * to start or stop a distro, or run a process and relay its stdio.
 *
 * Promises: functions return -errno (and, where a message helps, write one
 * sentence into err); none exits or installs signal handlers: the caller
 * passes a signalfd in session_run for the signals to forward. The one
 * exception, session_run_stdio, is for a command-line program's main path
 * and says what it changes.
 */
#ifndef LXS_SESSION_H
#define LXS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"
#include "common/wire.h"

/*
 * Connect to guest port `port` through lxs-vm's vsock socket at path
 * (the "CONNECT <port>" handshake), or, with port 0, to a plain Unix socket
 * served by lxs-init --serve-unix. Then exchange HELLO. Returns the fd.
 */
int session_connect(const char *path, uint32_t port, char *err, size_t errlen);
/* Only the CONNECT handshake to guest port `port` (for a protocol other than sessions'): the fd. */
int session_vsock_connect(const char *path, uint32_t port, char *err, size_t errlen);
/* The HELLO exchange on a connected fd (set non-blocking): 0, or -errno and why. */
int session_hello(int fd, char *err, size_t errlen);

/* What DISTRO_START asks for (proto.h); NULL strings are sent as "". */
struct session_distro {
	const char *name, *serial, *hostname, *resolv_conf;
	const char *host_tag, *host_opts; /* the distro's own host share, its options */
	const char *automount_root;       /* where the share appears ("" = /mnt/) */
	uint32_t flags;                   /* LXS_DISTRO_* */
	uint32_t timeout_ms;              /* for the disk to appear (and systemd to come up) */
};

/*
 * DISTRO_START without waiting, for a caller with a poll loop: queue it on
 * w (a fresh connection), then take the one answer with
 * session_distro_answer (which reads the answer to any control request:
 * OK, or ERROR): 0, or -errno with init's sentence in err.
 */
int session_distro_queue(struct wire *w, const struct session_distro *d);
int session_distro_answer(const struct lxs_msg_hdr *h, const uint8_t *p, char *err, size_t errlen);
/* A control request on a fresh connection: DISTRO_START/STOP or SHUTDOWN. */
int session_distro_start(int fd, const struct session_distro *d, char *err, size_t errlen);
int session_distro_stop(int fd, const char *name, char *err, size_t errlen);
int session_shutdown(int fd, char *err, size_t errlen);
/* Only send SHUTDOWN (init acts on it; its answer may be left unread): 0 or -errno. */
int session_shutdown_send(int fd);

struct session_req {
	const char *distro, *user, *cwd;
	const char *const *argv; /* NULL-terminated, at least one */
	const char *const *envp; /* NULL-terminated; exactly the process's environment */
	bool pty;
	bool host_cwd; /* cwd is a host path: LXS_CREATE_HOST_CWD */
	bool host_env; /* interop: envp adds to the host's environment (LXS_CREATE_HOST_ENV) */
	uint16_t rows, cols;
};

/*
 * Run a process and relay in_fd -> its stdin, its stdout -> out_fd, its
 * stderr -> err_fd until it exits. sig_fd (or -1) is a signalfd: SIGWINCH
 * sends the terminal size of in_fd, other signals are forwarded to the
 * process. *ex gets the exit; *pid the process id in the distro.
 */
int session_run(int fd, const struct session_req *req, int in_fd, int out_fd, int err_fd,
		int sig_fd, struct lxs_exit *ex, char *err, size_t errlen);

/*
 * session_run on this process's stdin, stdout and stderr, as a command line
 * does: with req->pty, the terminal on stdin goes raw for the session (and
 * its size goes into req) and is restored after; SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, SIGWINCH, SIGUSR1 and SIGUSR2 are blocked and forwarded (with a
 * raw pty, ^C arrives as a byte instead) and SIGPIPE is ignored, for good.
 */
int session_run_stdio(int fd, struct session_req *req, struct lxs_exit *ex, char *err,
		      size_t errlen);

#endif
