/*
 * netsvc.c - the helpers lxsd keeps running. lxs-fs (the distros' files on
 * the host, run/fs) lives as long as lxsd: started with it, started again
 * when it dies (it clears the dead mount first), stopped with SIGTERM at
 * lxsd's exit so that it unmounts. And the network services beside the
 * VM: lxs-net, the user-mode
 * NAT (networkingMode=nat), and lxs-fwd, localhost forwarding
 * (localhostForwarding). Each is started with the VM, started again if it
 * dies while the VM runs (unless it keeps dying at once: then it stays off
 * until the VM restarts, and the log says so), and stopped with the VM.
 *
 * lxsd itself creates the NAT's Unix socket (run/net.sock, mode 0600) and
 * hands the listening descriptor to each lxs-net it starts, so the socket
 * exists before lxs-vm first connects, and outlives a NAT that dies: lxs-vm
 * notices the lost connection, brings the guest's link down and reconnects
 * every 200 ms; its connection waits in the socket's backlog until the next
 * lxs-net accepts it. Sessions and the guest's own connections to each
 * other never notice; connections through the NAT that were open are lost,
 * as with a NAT router that reboots. lxs-fwd needs only lxs-vm's vsock
 * socket, which exists once the VM is up.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/call.h"
#include "common/clock.h"
#include "lxsd.h"

/* The descriptor number lxs-net finds its listening socket at. */
#define NET_FD 3
/* A run shorter than this counts as a failed start; after SVC_MAX_QUICK in a row, give up. */
#define SVC_QUICK_MS  2000
#define SVC_MAX_QUICK 5

static int svc_start(struct lxsd *s, struct netsvc *svc)
{
	char exe[LXS_PATH_MAX], logp[LXS_PATH_MAX];
	const char *name = svc == &s->nat ? "lxs-net" : svc == &s->fwd ? "lxs-fwd" : "lxs-fs";
	const char *log = svc == &s->nat ? "net.log" : svc == &s->fwd ? "fwd.log" : "fs.log";

	if (path_fmt(exe, sizeof(exe), "%s/%s", s->p.bindir, name) < 0 ||
	    path_fmt(logp, sizeof(logp), "%s/%s", s->p.run, log) < 0)
		return -ENAMETOOLONG;
	int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return -errno;
	const char *const net_argv[] = {"lxs-net", "--fd", "3", NULL};
	const char *const fwd_argv[] = {"lxs-fwd", "--vsock", s->vsock, NULL};
	const char *const fs_argv[] = {"lxs-fs", s->fs_mnt, NULL};
	pid_t pid = child_spawn(exe,
				svc == &s->nat   ? net_argv
				: svc == &s->fwd ? fwd_argv
						 : fs_argv,
				logfd, svc == &s->nat ? s->net_fd : -1, NET_FD);
	close(logfd);
	if (pid < 0)
		return (int)pid;
	svc->pid = pid;
	svc->started_ms = now_ms();
	return 0;
}

int netsvc_start(struct lxsd *s, char *err, size_t errlen)
{
	int ret, fd;

	if (!s->cfg.networking || s->net_fd >= 0)
		return 0;
	/* The run folder is this user's (0700); what is there is a leftover of ours. */
	if (path_fmt(s->net_sock, sizeof(s->net_sock), "%s/net.sock", s->p.run) < 0 ||
	    (fd = call_listen(s->net_sock, 4, false)) == -ENAMETOOLONG) {
		snprintf(err, errlen,
			 "the run folder's name %s is too long for a socket; set "
			 "XDG_RUNTIME_DIR to a shorter path",
			 s->p.run);
		return -ENAMETOOLONG;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot create the network's socket %s: %s", s->net_sock,
			 strerror(-fd));
		return fd;
	}
	s->net_fd = fd;
	s->nat.quick = 0;
	if ((ret = svc_start(s, &s->nat)) < 0) {
		netsvc_stop(s);
		snprintf(err, errlen, "cannot start lxs-net, the VM's network: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

void netsvc_vm_up(struct lxsd *s)
{
	int ret;

	if (!s->cfg.localhost_forwarding || s->test_init || s->fwd.pid > 0)
		return;
	s->fwd.quick = 0;
	if ((ret = svc_start(s, &s->fwd)) < 0)
		fprintf(stderr,
			"lxsd: cannot start lxs-fwd (%s); localhost forwarding is off until "
			"the VM restarts\n",
			strerror(-ret));
}

bool netsvc_reaped(struct lxsd *s, pid_t pid, int status)
{
	struct netsvc *svc = pid == s->nat.pid     ? &s->nat
			     : pid == s->fwd.pid   ? &s->fwd
			     : pid == s->files.pid ? &s->files
						   : NULL;
	const char *name = svc == &s->nat   ? "lxs-net, the VM's network,"
			   : svc == &s->fwd ? "lxs-fwd"
					    : "lxs-fs, the distros' files,";
	const char *until = svc == &s->files ? "lxsd restarts" : "the VM restarts";

	if (!svc || pid <= 0)
		return false;
	svc->pid = 0;
	/* Its VM is gone (or, for the NAT, its socket): nothing to serve. */
	if (svc != &s->files && (s->vm_pidfd < 0 || (svc == &s->nat && s->net_fd < 0)))
		return true;
	svc->quick = now_ms() - svc->started_ms < SVC_QUICK_MS ? svc->quick + 1 : 0;
	if (svc->quick >= SVC_MAX_QUICK) {
		fprintf(
		    stderr,
		    "lxsd: %s keeps ending at once (see its log in %s); it stays off until %s\n",
		    name, s->p.run, until);
		return true;
	}
	fprintf(stderr, "lxsd: %s %s %d; starting it again\n", name,
		WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	int ret = svc_start(s, svc);
	if (ret < 0)
		fprintf(stderr, "lxsd: cannot start %s again: %s; it stays off until %s\n", name,
			strerror(-ret), until);
	return true;
}

static void svc_stop(struct netsvc *svc)
{
	pid_t pid = svc->pid;

	if (pid <= 0)
		return;
	svc->pid = 0;
	/* SIGTERM: lxs-fwd removes its socket. Both end at once; insist after 2 s. */
	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return;
		nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void netsvc_stop(struct lxsd *s)
{
	svc_stop(&s->fwd);
	svc_stop(&s->nat);
	if (s->net_fd >= 0) {
		close(s->net_fd);
		s->net_fd = -1;
		unlink(s->net_sock);
	}
}

void files_start(struct lxsd *s)
{
	int ret;

	if (!s->cfg.distro_files)
		return;
	if (path_fmt(s->fs_mnt, sizeof(s->fs_mnt), "%s/fs", s->p.run) < 0)
		return;
	/* Said once here rather than by an lxs-fs that fails at once, five times over. */
	if (access("/dev/fuse", R_OK | W_OK) < 0) {
		fprintf(stderr,
			"lxsd: /dev/fuse is not open to this user (%s), so the distros' files are "
			"not shown at %s\n",
			strerror(errno), s->fs_mnt);
		return;
	}
	s->files.quick = 0;
	if ((ret = svc_start(s, &s->files)) < 0)
		fprintf(stderr,
			"lxsd: cannot start lxs-fs (%s); the distros' files are not at %s\n",
			strerror(-ret), s->fs_mnt);
}

void files_stop(struct lxsd *s)
{
	svc_stop(&s->files);
}
