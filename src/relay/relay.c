/*
 * relay.c - serving one process conversation (relay.h): CREATE parsed and
 * checked, the process started in a child of its own, then its stdio
 * pumped both ways under the windows of proto.h until it has exited and
 * its output ended, and EXIT sent. The caller's relay_ops decide whose
 * process it is and where it starts; nothing here knows about distros.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/posix_const.h"
#include "relay.h"

/* NSpid's last field: the pid as the distro sees it. */
static int ns_pid(pid_t pid)
{
	char path[64], line[256];
	int last = pid;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		for (char *t = strtok(line + 6, " \t\n"); t; t = strtok(NULL, " \t\n"))
			last = atoi(t);
	}
	fclose(f);
	return last;
}

/* A stream from the process to the host: stdout (or the pty) and stderr. */
struct outstream {
	int fd;           /* -1 once at EOF */
	uint32_t unacked; /* bytes sent and not yet ACKed by the host */
	uint16_t id;
};

/* Everything a session owns; torn down by session_free. */
struct session {
	struct wire *w;
	pid_t pid;
	bool pty, exited, host_gone, in_eof;
	int status;
	int in_fd;                 /* process stdin (pipe) or the pty master; -1 closed */
	struct outstream out, err; /* out.fd is the pty master in pty mode */
	int sfd;                   /* signalfd for SIGCHLD */
	uint8_t *inbuf;            /* stdin bytes received, not yet written */
	size_t in_len, in_off;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void session_free(struct session *s)
{
	/* In pty mode in_fd and out.fd are the same master. */
	if (s->pty && s->in_fd == s->out.fd)
		s->in_fd = -1;
	close_fd(&s->in_fd);
	close_fd(&s->out.fd);
	close_fd(&s->err.fd);
	close_fd(&s->sfd);
	free(s->inbuf);
}

static void pump_out(struct session *ss, struct outstream *s)
{
	static uint8_t buf[LXS_DATA_MAX];
	size_t room = LXS_WINDOW - s->unacked;

	if (room > sizeof(buf))
		room = sizeof(buf);
	ssize_t n = read(s->fd, buf, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF, or EIO from a pty whose last slave closed */
		if (ss->pty && s == &ss->out)
			ss->in_fd = -1;
		close_fd(&s->fd);
		wire_queue(ss->w, LXS_MSG_EOF, s->id, NULL, 0, NULL, 0);
		return;
	}
	s->unacked += (uint32_t)n;
	wire_queue(ss->w, LXS_MSG_DATA, s->id, buf, (size_t)n, NULL, 0);
}

static void write_stdin(struct session *s)
{
	ssize_t k = write(s->in_fd, s->inbuf + s->in_off, s->in_len - s->in_off);
	struct lxs_ack a;

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* k < 0: the process closed its stdin; what it will never read is dropped. */
	a.bytes = k > 0 ? (uint32_t)k : (uint32_t)(s->in_len - s->in_off);
	s->in_off += a.bytes;
	wire_queue(s->w, LXS_MSG_ACK, LXS_STREAM_STDIN, &a, sizeof(a), NULL, 0);
	if (s->in_off == s->in_len) {
		s->in_off = s->in_len = 0;
		if (s->in_eof && !s->pty)
			close_fd(&s->in_fd);
	}
}

/* One message from the host; false ends the session (protocol error). */
static bool host_message(struct session *s, const struct lxs_msg_hdr *h, const uint8_t *p)
{
	switch (h->type) {
	case LXS_MSG_DATA:
		if (h->stream != LXS_STREAM_STDIN || s->in_eof)
			return false;
		/* The host's window counts unwritten bytes: make room at the tail. */
		if (s->in_len + h->len > LXS_WINDOW && s->in_off) {
			memmove(s->inbuf, s->inbuf + s->in_off, s->in_len - s->in_off);
			s->in_len -= s->in_off;
			s->in_off = 0;
		}
		/* The window bounds what the host may send; more is an error. */
		if (s->in_len + h->len > LXS_WINDOW)
			return false;
		memcpy(s->inbuf + s->in_len, p, h->len);
		s->in_len += h->len;
		return true;
	case LXS_MSG_EOF:
		s->in_eof = true;
		if (s->in_len == s->in_off && !s->pty)
			close_fd(&s->in_fd);
		return true;
	case LXS_MSG_ACK: {
		struct lxs_ack a;
		struct outstream *o = h->stream == LXS_STREAM_STDERR ? &s->err : &s->out;

		if (h->len != sizeof(a))
			return false;
		memcpy(&a, p, sizeof(a));
		o->unacked -= a.bytes > o->unacked ? o->unacked : a.bytes;
		return true;
	}
	case LXS_MSG_SIGNAL: {
		struct lxs_signal sg;

		if (h->len != sizeof(sg))
			return false;
		memcpy(&sg, p, sizeof(sg));
		if (sg.signo > 0 && sg.signo < 65 && !s->exited)
			kill(-s->pid, sg.signo);
		return true;
	}
	case LXS_MSG_RESIZE: {
		struct lxs_winsize ws;

		if (h->len != sizeof(ws))
			return false;
		memcpy(&ws, p, sizeof(ws));
		struct winsize k = {.ws_row = ws.rows, .ws_col = ws.cols};
		if (s->pty && s->out.fd >= 0)
			ioctl(s->out.fd, TIOCSWINSZ, &k);
		return true;
	}
	default:
		return false;
	}
}

/*
 * Carry stdio until the process has exited and its output ended. With a pty,
 * output ends at EIO (every slave closed), or after 50 ms of silence once the
 * process is gone: a background job may hold the terminal open forever, and
 * the tty layer hands over the last output asynchronously, so "exited" alone
 * would lose it.
 */
/* Every whole message received so far; false on a protocol error. */
static bool host_messages(struct session *s)
{
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int k;

	while ((k = wire_next(s->w, &h, &p)) == 1) {
		if (!host_message(s, &h, p))
			return false;
		wire_consume(s->w);
	}
	return k == 0;
}

static int pump(struct session *s)
{
	while (!s->host_gone && (!s->exited || s->out.fd >= 0 || s->err.fd >= 0)) {
		struct pollfd pf[5];

		/* Messages that arrived together with CREATE come first. */
		if (!host_messages(s)) {
			s->host_gone = true;
			break;
		}
		int n = 0, iw = -1, io = -1, ie = -1;
		bool room = !wire_tx_pending(s->w);

		pf[n++] = (struct pollfd){.fd = s->w->fd, .events = POLLIN | (room ? 0 : POLLOUT)};
		pf[n++] = (struct pollfd){.fd = s->sfd, .events = POLLIN};
		if (s->out.fd >= 0 && s->out.unacked < LXS_WINDOW && room)
			io = n, pf[n++] = (struct pollfd){.fd = s->out.fd, .events = POLLIN};
		if (s->err.fd >= 0 && s->err.unacked < LXS_WINDOW && room)
			ie = n, pf[n++] = (struct pollfd){.fd = s->err.fd, .events = POLLIN};
		if (s->in_len > s->in_off && s->in_fd >= 0)
			iw = n, pf[n++] = (struct pollfd){.fd = s->in_fd, .events = POLLOUT};
		int r = poll(pf, (nfds_t)n, s->exited && s->pty ? 50 : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) { /* pty silent after exit: done */
			if (s->in_fd == s->out.fd)
				s->in_fd = -1;
			close_fd(&s->out.fd);
			wire_queue(s->w, LXS_MSG_EOF, LXS_STREAM_STDOUT, NULL, 0, NULL, 0);
			continue;
		}
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(s->sfd, &si, sizeof(si)) == sizeof(si))
				;
			if (!s->exited && waitpid(s->pid, &s->status, WNOHANG) == s->pid)
				s->exited = true;
		}
		if (io >= 0 && (pf[io].revents & (POLLIN | POLLHUP | POLLERR)))
			pump_out(s, &s->out);
		if (ie >= 0 && (pf[ie].revents & (POLLIN | POLLHUP | POLLERR)))
			pump_out(s, &s->err);
		if (iw >= 0 && s->in_fd >= 0 && (pf[iw].revents & (POLLOUT | POLLERR | POLLHUP)))
			write_stdin(s);
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && wire_read(s->w) < 0)
			s->host_gone = true;
		/* Even a host that is gone may have left messages: SIGNAL, EOF. */
		if (!host_messages(s))
			s->host_gone = true;
		if (wire_flush(s->w) < 0)
			s->host_gone = true;
	}
	return 0;
}

/* CREATE's payload, checked and split into what exec needs (strs: the table). */
static int parse_create(struct wire *w, const uint8_t *payload, size_t len,
			struct relay_request *rq, const char ***strs)
{
	if (len < sizeof(rq->c))
		return wire_send_error(w, EPROTO, "malformed CREATE");
	memcpy(&rq->c, payload, sizeof(rq->c));
	if (rq->c.flags & ~LXS_CREATE_FLAGS)
		return wire_send_error(w, EPROTO, "CREATE with unknown flags %#x", rq->c.flags);
	if (rq->c.argc < 1 || rq->c.argc > 65536 || rq->c.envc > 65536)
		return wire_send_error(w, EPROTO, "CREATE has %u arguments and %u variables",
				       rq->c.argc, rq->c.envc);
	size_t nstr = 3 + (size_t)rq->c.argc + rq->c.envc;
	*strs = calloc(nstr, sizeof(**strs));
	rq->argv = calloc(rq->c.argc + 1, sizeof(char *));
	rq->envp = calloc(rq->c.envc + 1, sizeof(char *));
	if (!*strs || !rq->argv || !rq->envp)
		return wire_send_error(w, ENOMEM, "out of memory");
	if (wire_split(payload + sizeof(rq->c), len - sizeof(rq->c), *strs, nstr) < 0)
		return wire_send_error(w, EPROTO, "malformed CREATE string table");
	rq->distro = (*strs)[0];
	rq->user = (*strs)[1];
	rq->cwd = (*strs)[2];
	for (uint32_t i = 0; i < rq->c.argc; i++)
		rq->argv[i] = (*strs)[3 + i];
	for (uint32_t i = 0; i < rq->c.envc; i++)
		rq->envp[i] = (*strs)[3 + rq->c.argc + i];
	return 0;
}

/*
 * execvp says EACCES when a folder of PATH could not be searched and the
 * name was found nowhere else: for the caller that is a command not found
 * (as a shell says), unless some folder does hold a file of that name.
 */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char full[PATH_MAX];

	while (path && *path) {
		size_t k = strcspn(path, ":");
		struct stat st;

		if (snprintf(full, sizeof(full), "%.*s/%s", (int)k, path, name) <
			(int)sizeof(full) &&
		    stat(full, &st) == 0)
			return true;
		path += k + (path[k] == ':');
	}
	return false;
}

/*
 * In the child: session, controlling terminal or pipes, identity, folder,
 * then exec. Failures go back through errpipe as an errno value.
 */
static void start_child(const struct relay_ops *ops, void *ctx, const struct relay_request *rq,
			const struct relay_plan *pl, const char *slave, int pipes[3][2],
			int errpipe)
{
	const struct relay_user *u = &pl->user;
	int e;

	if (slave) {
		setsid();
		int fd = open(slave, O_RDWR);
		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
			goto fail;
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	} else {
		setpgid(0, 0);
		dup2(pipes[0][0], 0);
		dup2(pipes[1][1], 1);
		dup2(pipes[2][1], 2);
		for (int i = 0; i < 3; i++) {
			close(pipes[i][0]);
			close(pipes[i][1]);
		}
	}
	if (pl->set_identity && getuid() == 0) {
		if ((u->name[0] ? initgroups(u->name, u->gid) : setgroups(0, NULL)) < 0 ||
		    setgid(u->gid) < 0 || setuid(u->uid) < 0)
			goto fail;
	}
	const char *dir = (!pl->cwd[0] || !strcmp(pl->cwd, "~")) ? u->home : pl->cwd;
	/* After setuid, so a folder the user may not enter counts as missing. */
	if (chdir(dir) < 0 && (!pl->or_home || chdir(u->home) < 0) && chdir("/") < 0)
		goto fail;
	/*
	 * A clean signal state: dispositions ignored by whoever started us
	 * (SIGINT in a background job) would otherwise be inherited, and a shell
	 * cannot even trap a signal that was ignored when it started.
	 */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* Set, not passed: execvp searches the process's PATH, not ours. */
	environ = environ_vec(pl->envp);
	if (ops->exec)
		ops->exec(ctx, rq, pl);
	else
		execvp(rq->argv[0], exec_vec(rq->argv));
fail:
	e = errno;
	if (e == EACCES && !strchr(rq->argv[0], '/') && !on_path(rq->argv[0]))
		e = ENOENT;
	if (write(errpipe, &e, sizeof(e)) < 0) {
	}
	_exit(127);
}

int relay_serve(struct wire *w, const uint8_t *payload, size_t len, const struct relay_ops *ops,
		void *ctx)
{
	struct relay_request rq = {0};
	struct relay_plan pl = {0};
	const char **strs = NULL;
	struct session s = {.w = w,
			    .in_fd = -1,
			    .out = {-1, 0, LXS_STREAM_STDOUT},
			    .err = {-1, 0, LXS_STREAM_STDERR},
			    .sfd = -1};
	int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	int errpipe[2] = {-1, -1};
	char slave[128] = "";
	int ret;

	if ((ret = parse_create(w, payload, len, &rq, &strs)) < 0)
		goto out;
	if ((ret = ops->prepare(ctx, w, &rq, &pl)) < 0)
		goto out;
	s.pty = rq.c.flags & LXS_CREATE_PTY;
	s.inbuf = malloc(LXS_WINDOW);
	if (!s.inbuf) {
		ret = wire_send_error(w, ENOMEM, "out of memory");
		goto out;
	}
	if (s.pty) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
		    ptsname_r(m, slave, sizeof(slave))) {
			ret = wire_send_error(w, errno, "cannot open a pseudo-terminal: %s",
					      strerror(errno));
			if (m >= 0)
				close(m);
			goto out;
		}
		struct winsize ws = {.ws_row = rq.c.rows, .ws_col = rq.c.cols};
		if (rq.c.rows && rq.c.cols)
			ioctl(m, TIOCSWINSZ, &ws);
		s.in_fd = s.out.fd = m;
	} else {
		for (int i = 0; i < 3; i++) {
			if (pipe2(pipes[i], O_CLOEXEC) < 0) {
				ret = wire_send_error(w, errno, "cannot make pipes: %s",
						      strerror(errno));
				goto out;
			}
		}
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		ret = wire_send_error(w, errno, "cannot make a pipe: %s", strerror(errno));
		goto out;
	}
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	s.sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

	s.pid = fork();
	if (s.pid < 0) {
		ret = wire_send_error(w, errno, "cannot fork: %s", strerror(errno));
		goto out;
	}
	if (s.pid == 0)
		start_child(ops, ctx, &rq, &pl, s.pty ? slave : NULL, pipes, errpipe[1]);
	close_fd(&errpipe[1]);
	int child_err = 0;
	if (read(errpipe[0], &child_err, sizeof(child_err)) == sizeof(child_err)) {
		waitpid(s.pid, NULL, 0);
		ret = wire_send_error(w, child_err, "%s: %s", rq.argv[0], strerror(child_err));
		goto out;
	}
	if (!s.pty) {
		s.in_fd = pipes[0][1];
		s.out.fd = pipes[1][0];
		s.err.fd = pipes[2][0];
		pipes[0][1] = pipes[1][0] = pipes[2][0] = -1;
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 2; j++)
				close_fd(&pipes[i][j]);
		fcntl(s.in_fd, F_SETFL, O_NONBLOCK);
		fcntl(s.err.fd, F_SETFL, O_NONBLOCK);
	}
	fcntl(s.out.fd, F_SETFL, O_NONBLOCK);
	struct lxs_created cr = {.pid = ns_pid(s.pid)};
	wire_queue(w, LXS_MSG_CREATED, 0, &cr, sizeof(cr), NULL, 0);

	ret = pump(&s);
	if (s.host_gone) {
		/* Nobody listens any more: hang the session up, as a terminal would. */
		if (!s.exited) {
			kill(-s.pid, SIGHUP);
			kill(-s.pid, SIGCONT);
		}
		ret = -EPIPE;
	} else if (ret == 0) {
		if (!s.exited)
			waitpid(s.pid, &s.status, 0);
		struct lxs_exit ex = {.code = WIFEXITED(s.status) ? WEXITSTATUS(s.status) : -1,
				      .signo = WIFSIGNALED(s.status) ? WTERMSIG(s.status) : 0,
				      .core = WIFSIGNALED(s.status) && WCOREDUMP(s.status)};
		ret = wire_send(w, LXS_MSG_EXIT, 0, &ex, sizeof(ex), NULL, 0);
	}
out:
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++)
			close_fd(&pipes[i][j]);
	close_fd(&errpipe[0]);
	close_fd(&errpipe[1]);
	session_free(&s);
	free((void *)strs);
	free((void *)rq.argv);
	free((void *)rq.envp);
	return ret;
}
