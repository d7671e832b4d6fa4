/*
 * ipc.c - see ipc.h: the payloads of lxsd's messages, both ways, and the
 * client's side of a conversation (connect, start lxsd when needed, one
 * request and its answer).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/wire.h"
#include "ipc.h"

/* A fixed struct, then a string table, into one new buffer. */
static long pack(const void *fixed, size_t flen, const char *const *strs, size_t n, uint8_t **out)
{
	size_t cap = flen;

	for (size_t i = 0; i < n; i++)
		cap += strlen(strs[i]) + 1;
	if (cap > LXS_MSG_MAX)
		return -E2BIG;
	uint8_t *buf = malloc(cap ? cap : 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, fixed, flen);
	long tl = wire_strtab((char *)buf + flen, cap - flen, strs, n);
	if (tl < 0) {
		free(buf);
		return tl;
	}
	*out = buf;
	return (long)(flen + (size_t)tl);
}

long ipc_encode_run(const char *name, const struct plan_request *rq, uint8_t **out)
{
	struct lxs_run m = {.flags = (rq->user ? LXS_RUN_USER : 0) | (rq->cd ? LXS_RUN_CD : 0) |
				     (rq->host_cwd ? LXS_RUN_CWD : 0) |
				     (rq->term ? LXS_RUN_TERM : 0) | (rq->lang ? LXS_RUN_LANG : 0) |
				     (rq->exec ? LXS_RUN_EXEC : 0) |
				     (rq->quote ? LXS_RUN_QUOTE : 0),
			    .shell = (uint32_t)rq->shell,
			    .ncmd = (uint32_t)rq->ncmd};

	if (rq->ncmd < 0 || rq->ncmd > (int)LXS_RUN_MAX_CMD)
		return -E2BIG;
	const char **strs = calloc(6 + (size_t)rq->ncmd, sizeof(*strs));
	if (!strs)
		return -ENOMEM;
	const char *fixed[6] = {name, rq->user, rq->cd, rq->host_cwd, rq->term, rq->lang};
	for (int i = 0; i < 6; i++)
		strs[i] = fixed[i] ? fixed[i] : "";
	for (int i = 0; i < rq->ncmd; i++)
		strs[6 + i] = rq->cmd[i];
	long len = pack(&m, sizeof(m), strs, 6 + (size_t)rq->ncmd, out);
	free(strs);
	return len;
}

int ipc_decode_run(const uint8_t *p, size_t len, struct ipc_run *r)
{
	struct lxs_run m;

	memset(r, 0, sizeof(*r));
	if (len < sizeof(m))
		return -EPROTO;
	memcpy(&m, p, sizeof(m));
	if ((m.flags & ~LXS_RUN_FLAGS) || m.shell > PLAN_SHELL_NONE || m.ncmd > LXS_RUN_MAX_CMD)
		return -EPROTO;
	if (!(r->strs = calloc(6 + m.ncmd, sizeof(*r->strs))))
		return -ENOMEM;
	if (wire_split(p + sizeof(m), len - sizeof(m), r->strs, 6 + m.ncmd) < 0) {
		ipc_run_free(r);
		return -EPROTO;
	}
	r->name = r->strs[0];
	r->rq = (struct plan_request){.user = m.flags & LXS_RUN_USER ? r->strs[1] : NULL,
				      .cd = m.flags & LXS_RUN_CD ? r->strs[2] : NULL,
				      .host_cwd = m.flags & LXS_RUN_CWD ? r->strs[3] : NULL,
				      .term = m.flags & LXS_RUN_TERM ? r->strs[4] : NULL,
				      .lang = m.flags & LXS_RUN_LANG ? r->strs[5] : NULL,
				      .shell = (enum plan_shell)m.shell,
				      .exec = m.flags & LXS_RUN_EXEC,
				      .quote = m.flags & LXS_RUN_QUOTE,
				      .ncmd = (int)m.ncmd,
				      .cmd = r->strs + 6};
	/* The host folder is where lxs runs: absolute, or not given at all. */
	if (r->rq.host_cwd && r->rq.host_cwd[0] != '/') {
		ipc_run_free(r);
		return -EPROTO;
	}
	return 0;
}

void ipc_run_free(struct ipc_run *r)
{
	free(r->strs);
	r->strs = NULL;
}

long ipc_encode_plan(const char *vsock, uint32_t port, const struct session_plan *pl, uint8_t **out)
{
	struct lxs_plan m = {.flags = (pl->host_cwd ? LXS_PLAN_HOST_CWD : 0) |
				      (pl->interop ? LXS_PLAN_INTEROP : 0),
			     .port = port,
			     .argc = (uint32_t)pl->argc,
			     .envc = (uint32_t)pl->envc};
	size_t n = 4 + (size_t)pl->argc + (size_t)pl->envc;
	const char **strs = calloc(n, sizeof(*strs));

	if (!strs)
		return -ENOMEM;
	strs[0] = vsock;
	strs[1] = pl->distro;
	strs[2] = pl->user;
	strs[3] = pl->cwd;
	for (int i = 0; i < pl->argc; i++)
		strs[4 + i] = pl->argv[i];
	for (int i = 0; i < pl->envc; i++)
		strs[4 + pl->argc + i] = pl->envp[i];
	long len = pack(&m, sizeof(m), strs, n, out);
	free(strs);
	return len;
}

int ipc_decode_plan(const uint8_t *p, size_t len, struct ipc_plan *pl)
{
	struct lxs_plan m;

	memset(pl, 0, sizeof(*pl));
	if (len < sizeof(m))
		return -EPROTO;
	memcpy(&m, p, sizeof(m));
	/* Each string takes a byte at least: counts beyond the payload are lies. */
	if ((m.flags & ~LXS_PLAN_FLAGS) || m.argc < 1 || m.argc > len || m.envc > len)
		return -EPROTO;
	size_t n = 4 + (size_t)m.argc + m.envc;
	const char **strs = calloc(n + 2, sizeof(*strs));
	if (!strs)
		return -ENOMEM;
	if (wire_split(p + sizeof(m), len - sizeof(m), strs, n) < 0) {
		free(strs);
		return -EPROTO;
	}
	pl->vsock = strs[0];
	pl->distro = strs[1];
	pl->user = strs[2];
	pl->cwd = strs[3];
	pl->port = m.port;
	pl->host_cwd = m.flags & LXS_PLAN_HOST_CWD;
	pl->interop = m.flags & LXS_PLAN_INTEROP;
	/* argv, NULL, env, NULL: shift env up by one to make room. */
	memmove(strs + 4 + m.argc + 1, strs + 4 + m.argc, m.envc * sizeof(*strs));
	strs[4 + m.argc] = NULL;
	strs[n + 1] = NULL;
	pl->argv = strs + 4;
	pl->envp = strs + 4 + m.argc + 1;
	if (!pl->vsock[0] || !pl->distro[0]) {
		ipc_plan_free(pl);
		return -EPROTO;
	}
	return 0;
}

void ipc_plan_free(struct ipc_plan *pl)
{
	if (pl->argv)
		free(pl->argv - 4);
	pl->argv = pl->envp = NULL;
}

long ipc_encode_state(const struct ipc_state *st, uint8_t *out, size_t cap)
{
	struct lxs_state m = {.vm = st->vm, .vm_pid = st->vm_pid, .n = st->n};
	size_t off = sizeof(m);

	if (st->n > LXS_STATE_MAX || cap < off + st->n * sizeof(struct lxs_state_distro))
		return -E2BIG;
	memcpy(out, &m, sizeof(m));
	for (uint32_t i = 0; i < st->n; i++) {
		struct lxs_state_distro d = {st->d[i].state, st->d[i].sessions};

		memcpy(out + off, &d, sizeof(d));
		off += sizeof(d);
	}
	for (uint32_t i = 0; i < st->n; i++) {
		size_t l = strlen(st->d[i].name) + 1;

		if (l > cap - off)
			return -E2BIG;
		memcpy(out + off, st->d[i].name, l);
		off += l;
	}
	return (long)off;
}

int ipc_decode_state(const uint8_t *p, size_t len, struct ipc_state *st)
{
	struct lxs_state m;
	const char *names[LXS_STATE_MAX];

	memset(st, 0, sizeof(*st));
	if (len < sizeof(m))
		return -EPROTO;
	memcpy(&m, p, sizeof(m));
	size_t fixed = sizeof(m) + (size_t)m.n * sizeof(struct lxs_state_distro);
	if (m.vm > LXS_VM_STOPPING || m.n > LXS_STATE_MAX || m.pad || len < fixed ||
	    wire_split(p + fixed, len - fixed, names, m.n) < 0)
		return -EPROTO;
	st->vm = m.vm;
	st->vm_pid = m.vm_pid;
	st->n = m.n;
	for (uint32_t i = 0; i < m.n; i++) {
		struct lxs_state_distro d;

		memcpy(&d, p + sizeof(m) + i * sizeof(d), sizeof(d));
		if (d.state < LXS_DISTRO_STARTING || d.state > LXS_DISTRO_STOPPING ||
		    strlen(names[i]) > REG_NAME_MAX)
			return -EPROTO;
		st->d[i].state = d.state;
		st->d[i].sessions = d.sessions;
		memcpy(st->d[i].name, names[i], strlen(names[i]) + 1);
	}
	return 0;
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
	if ((fd = call_connect(p->sock, -1)) >= 0)
		return check_peer(p, fd, err, errlen);
	if (!spawn) {
		snprintf(err, errlen, "lxsd is not running");
		return fd;
	}
	if ((ret = spawn_lxsd(p, err, errlen)) < 0)
		return ret;
	/* Bounded: lxsd binds its socket within milliseconds of starting. */
	for (int i = 0; i < 1000; i++) {
		if ((fd = call_connect(p->sock, -1)) >= 0)
			return check_peer(p, fd, err, errlen);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	snprintf(err, errlen, "lxsd did not start; see %s/lxsd.log", p->run);
	return -ETIMEDOUT;
}
