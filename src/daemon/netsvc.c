/*
 * netsvc.c - lxsd's side of version 2's network: it runs lxs-net (the
 * user-mode NAT, src/net/main.c) for the VM when networkingMode is nat.
 *
 * lxsd itself creates the NAT's Unix socket (run/net.sock, mode 0600) and
 * hands the listening descriptor to each lxs-net it starts, so the socket
 * exists before lxs-vm first connects, and outlives a NAT that dies: lxs-vm
 * notices the lost connection, brings the guest's link down and reconnects
 * every 200 ms; its connection waits in the socket's backlog until the NAT
 * that reap_children() started again accepts it. Sessions and the guest's
 * own TCP connections to each other never notice; connections through the
 * NAT that were open are lost, as with a NAT router that reboots.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lxsd.h"

/* The descriptor number lxs-net finds its listening socket at. */
#define NET_FD 3

static int spawn(struct lxsd *s)
{
	char exe[LXS_PATH_MAX], logp[LXS_PATH_MAX];
	pid_t parent = getpid();

	if (path_fmt(exe, sizeof(exe), "%s/lxs-net", s->p.bindir) < 0 ||
	    path_fmt(logp, sizeof(logp), "%s/net.log", s->p.run) < 0)
		return -ENAMETOOLONG;
	int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		/* The NAT must not outlive lxsd: a killed lxsd takes it along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (dup2(s->net_fd, NET_FD) < 0)
			_exit(125);
		execl(exe, "lxs-net", "--fd", "3", (char *)NULL);
		fprintf(stderr, "lxsd: cannot run %s: %s\n", exe, strerror(errno));
		_exit(125);
	}
	close(logfd);
	if (pid < 0)
		return -errno;
	s->net_pid = pid;
	return 0;
}

int netsvc_start(struct lxsd *s, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int ret;

	if (!s->cfg.networking || s->net_fd >= 0)
		return 0;
	if (path_fmt(s->net_sock, sizeof(s->net_sock), "%s/net.sock", s->p.run) < 0 ||
	    strlen(s->net_sock) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "the run folder's name %s is too long for a socket; set "
			 "XDG_RUNTIME_DIR to a shorter path", s->p.run);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, s->net_sock);
	/* The run folder is this user's (0700); what is there is a leftover of ours. */
	unlink(s->net_sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(fd, 4) < 0)
		goto fail;
	s->net_fd = fd;
	if ((ret = spawn(s)) < 0) {
		netsvc_stop(s);
		snprintf(err, errlen, "cannot start lxs-net, the VM's network: %s", strerror(-ret));
		return ret;
	}
	return 0;
fail:
	ret = -errno;
	if (fd >= 0)
		close(fd);
	snprintf(err, errlen, "cannot create the network's socket %s: %s", s->net_sock,
		 strerror(-ret));
	return ret;
}

bool netsvc_reap(struct lxsd *s)
{
	int st;

	if (s->net_pid <= 0 || waitpid(s->net_pid, &st, WNOHANG) != s->net_pid)
		return false;
	s->net_pid = 0;
	if (s->net_fd < 0)
		return true;
	fprintf(stderr, "lxsd: lxs-net, the VM's network, %s %d; starting it again\n",
		WIFSIGNALED(st) ? "was killed by signal" : "exited with status",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	int ret = spawn(s);
	if (ret < 0)
		fprintf(stderr, "lxsd: cannot start lxs-net again: %s; the VM has no network until "
			"it restarts (lxs --shutdown)\n", strerror(-ret));
	return true;
}

void netsvc_stop(struct lxsd *s)
{
	if (s->net_pid > 0) {
		kill(s->net_pid, SIGTERM);
		waitpid(s->net_pid, NULL, 0);
		s->net_pid = 0;
	}
	if (s->net_fd >= 0) {
		close(s->net_fd);
		s->net_fd = -1;
		unlink(s->net_sock);
	}
}
