/*
 * child.c - how lxsd starts the programs that serve its VM (lxs-vm, lxs-net,
 * lxs-fwd): each with /dev/null as stdin, its output in a log, lxsd's
 * signal mask undone (lxsd blocks signals for its signalfd), and
 * PR_SET_PDEATHSIG so that none outlives a killed lxsd.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/posix_const.h"
#include "lxsd.h"

pid_t child_spawn(const char *exe, const char *const argv[], int logfd, int keep_fd, int keep_as)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -errno : pid;
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(125);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, 0) < 0)
		_exit(125);
	if (logfd >= 0 && (dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
		_exit(125);
	if (keep_fd >= 0 && dup2(keep_fd, keep_as) < 0)
		_exit(125);
	execv(exe, exec_vec(argv));
	fprintf(stderr, "lxsd: cannot run %s: %s\n", exe, strerror(errno));
	_exit(127);
}
