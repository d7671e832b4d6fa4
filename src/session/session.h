/*
 * session.h - the host side of proto.h's sessions: connect to a VM's lxs-init
 * through lxs-vm's vsock Unix socket (or to `lxs-init --serve-unix`), ask it
 * to start or stop a distro, or run a process and relay its stdio.
 *
 * Promises: functions return -errno (and, where a message helps, write one
 * sentence into err); none exits or installs signal handlers: the caller
 * passes a signalfd in session_run for the signals to forward.
 */
#ifndef LXS_SESSION_H
#define LXS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"

/*
 * Connect to guest port `port` through lxs-vm's vsock socket at path
 * (the "CONNECT <port>" handshake), or, with port 0, to a plain Unix socket
 * served by lxs-init --serve-unix. Then exchange HELLO. Returns the fd.
 */
int session_connect(const char *path, uint32_t port, char *err, size_t errlen);

/* A control request on a fresh connection: DISTRO_START/STOP or SHUTDOWN. */
int session_distro_start(int fd, const char *name, const char *serial, const char *hostname,
			 uint32_t timeout_ms, char *err, size_t errlen);
int session_distro_stop(int fd, const char *name, char *err, size_t errlen);
int session_shutdown(int fd, char *err, size_t errlen);

struct session_req {
	const char *distro, *user, *cwd;
	char *const *argv;      /* NULL-terminated, at least one */
	char *const *envp;      /* NULL-terminated; exactly the process's environment */
	bool pty;
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

#endif
