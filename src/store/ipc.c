#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};

			poll(&pf, 1, 1000);
			continue;
		}
		if (k < 0)
			return -errno;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int ipc_parse_request(char *line, struct ipc_request *rq, const char **why)
{
	char *argv[4] = {0}, *save = NULL;
	int argc = 0;

	memset(rq, 0, sizeof(*rq));
	for (char *t = strtok_r(line, " ", &save); t && argc < 4; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	*why = "unknown request";
	if (argc == 0) {
		*why = "empty request";
		return -EINVAL;
	}
	if (!strcmp(argv[0], "ping")) {
		rq->op = IPC_PING;
	} else if (!strcmp(argv[0], "run") && (argc == 2 || argc == 3)) {
		rq->op = IPC_RUN;
		rq->name = argv[1];
		rq->user = argc == 3 ? argv[2] : "";
	} else if (!strcmp(argv[0], "terminate") && argc == 2) {
		rq->op = IPC_TERMINATE;
		rq->name = argv[1];
	} else if (!strcmp(argv[0], "shutdown") && argc <= 2) {
		rq->op = IPC_SHUTDOWN;
		rq->force = argc == 2 && !strcmp(argv[1], "force");
	} else if (!strcmp(argv[0], "status") && argc == 1) {
		rq->op = IPC_STATUS;
	} else {
		return -EINVAL;
	}
	return 0;
}

int ipc_request(int fd, const char *req, struct ipc_reply *r, int timeout_ms)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s\n", req);

	memset(r, 0, sizeof(*r));
	if (n < 0 || (size_t)n >= sizeof(line))
		return -E2BIG;
	/* MSG_NOSIGNAL: an lxsd gone away is an error to report, not a SIGPIPE. */
	for (int off = 0; off < n;) {
		ssize_t k = send(fd, line + off, (size_t)(n - off), MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		off += (int)k;
	}
	/* The reply ends with an empty line; nothing follows it until we ask again. */
	while (!(r->len >= 2 && r->buf[r->len - 1] == '\n' && r->buf[r->len - 2] == '\n')) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		if (r->len + 1 >= sizeof(r->buf))
			return -EPROTO;
		int pr = poll(&pf, 1, timeout_ms);
		if (pr == 0)
			return -ETIMEDOUT;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		ssize_t k = read(fd, r->buf + r->len, 1);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return k == 0 ? -ECONNRESET : -errno;
		r->len += (size_t)k;
	}
	r->buf[r->len] = 0;
	/* Split into lines in place: every '\n' becomes a NUL. */
	for (size_t i = 0; i < r->len; i++)
		if (r->buf[i] == '\n')
			r->buf[i] = 0;
	if (!strcmp(r->buf, "ok")) {
		r->ok = true;
		r->msg = "";
	} else if (!strncmp(r->buf, "error ", 6)) {
		r->msg = r->buf + 6;
	} else {
		return -EPROTO;
	}
	return 0;
}

const char *ipc_get(const struct ipc_reply *r, const char *key, int nth)
{
	size_t kl = strlen(key);
	const char *s = r->buf + strlen(r->buf) + 1, *end = r->buf + r->len;

	for (; s < end && *s; s += strlen(s) + 1) {
		if (!strncmp(s, key, kl) && s[kl] == ' ' && nth-- == 0)
			return s + kl + 1;
	}
	return NULL;
}

static int try_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* lxsd detaches into its own session and is nobody's child but init's. */
static int spawn_lxsd(const struct lxs_paths *p, char *err, size_t errlen)
{
	char exe[LXS_PATH_MAX], logp[LXS_PATH_MAX];
	const char *env = getenv("LXSD");

	if (env && env[0])
		snprintf(exe, sizeof(exe), "%s", env);
	else if (path_fmt(exe, sizeof(exe), "%s/lxsd", p->bindir) < 0)
		return -ENAMETOOLONG;
	if (access(exe, X_OK) < 0) {
		snprintf(err, errlen, "cannot find lxsd at %s; install lxs and lxsd together", exe);
		return -ENOENT;
	}
	if (path_fmt(logp, sizeof(logp), "%s/lxsd.log", p->run) < 0)
		return -ENAMETOOLONG;
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start lxsd: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int nul = open("/dev/null", O_RDWR);
		int log = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
		dup2(nul, 0);
		dup2(log >= 0 ? log : nul, 1);
		dup2(log >= 0 ? log : nul, 2);
		/* Not our signal mask or dispositions: lxs blocks some for its signalfd. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		execl(exe, "lxsd", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

/* The folder was checked, but root or a race can still put another user's socket in it. */
static int check_peer(const struct lxs_paths *p, int fd, char *err, size_t errlen)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		int ret = -errno;

		close(fd);
		snprintf(err, errlen, "cannot tell who serves %s: %s", p->sock, strerror(-ret));
		return ret;
	}
	if (uc.uid != getuid()) {
		close(fd);
		snprintf(err, errlen,
			 "%s is served by uid %u, not by your lxsd; remove it, or set "
			 "XDG_RUNTIME_DIR to a folder of your own",
			 p->sock, (unsigned)uc.uid);
		return -EPERM;
	}
	return fd;
}

int lxsd_connect(const struct lxs_paths *p, bool spawn, char *err, size_t errlen)
{
	int fd, ret = paths_check_run_dir(p, err, errlen);

	if (ret == -ENOENT && spawn)
		ret = paths_make_run_dir(p, err, errlen);
	if (ret == -ENOENT)
		snprintf(err, errlen, "lxsd is not running");
	if (ret < 0)
		return ret;
	if ((fd = try_connect(p->sock)) >= 0)
		return check_peer(p, fd, err, errlen);
	if (!spawn) {
		snprintf(err, errlen, "lxsd is not running");
		return fd;
	}
	if ((ret = spawn_lxsd(p, err, errlen)) < 0)
		return ret;
	/* Bounded: lxsd binds its socket within milliseconds of starting. */
	for (int i = 0; i < 1000; i++) {
		if ((fd = try_connect(p->sock)) >= 0)
			return check_peer(p, fd, err, errlen);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	snprintf(err, errlen, "lxsd did not start; see %s/lxsd.log", p->run);
	return -ETIMEDOUT;
}
