/*
 * interop.c - the host's side of interop (interop.h): the per-session
 * server that runs host programs for lxs-host, and the tools folder that
 * every distro sees at /usr/lib/lxs. The conversation is proto.h's session
 * one with the roles turned; src/relay runs the program and carries its
 * stdio, this file only decides whose program it is (ours: no other user is
 * ever run), where it starts and with which environment.
 *
 * Who may ask: the socket is born 0600 in the user's 0700 run folder, and
 * each peer's SO_PEERCRED uid must be ours (in version 2 the peer is our
 * own lxs-vm, which carries the guest's connections). At most
 * LXS_INTEROP_MAX_RUNNING programs run at once; further requests wait in
 * the listen backlog until one ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/call.h"
#include "common/dirs.h"
#include "common/proto.h"
#include "common/wire.h"
#include "interop.h"
#include "interop/xlate.h"
#include "relay/relay.h"

#define HELLO_TIMEOUT_MS 30000

/* The host program's environment: ours, with the distro's WSLENV variables over it. */
static const char **merge_env(const char *const *extra)
{
	extern char **environ;
	size_t n = 0, k = 0;

	for (char **e = environ; *e; e++)
		n++;
	for (const char *const *e = extra; *e; e++)
		n++;
	const char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (char **e = environ; *e; e++) {
		size_t len = strcspn(*e, "=");
		bool over = false;

		for (const char *const *x = extra; *x && !over; x++)
			over = strncmp(*x, *e, len + 1) == 0;
		if (!over)
			v[k++] = *e;
	}
	for (const char *const *e = extra; *e; e++)
		if (strchr(*e, '='))
			v[k++] = *e;
	return v;
}

struct host_relay {
	const char **env;
};

static int host_prepare(void *ctx, struct wire *w, const struct relay_request *rq,
			struct relay_plan *pl)
{
	struct host_relay *h = ctx;
	struct passwd *pw = getpwuid(getuid());
	const char *home = getenv("HOME");

	if (rq->user[0])
		return wire_send_error(
		    w, EPERM, "a host program runs as the session's own user, not as %.64s",
		    rq->user);
	if (!(rq->c.flags & LXS_CREATE_HOST_ENV) || !(rq->c.flags & LXS_CREATE_HOST_CWD))
		return wire_send_error(w, EPROTO, "this is lxs's interop server; update lxs-host");
	if (rq->cwd[0] && rq->cwd[0] != '/')
		return wire_send_error(w, EINVAL, "the host folder %.200s is not absolute",
				       rq->cwd);
	pl->user.uid = getuid();
	pl->user.gid = getgid();
	snprintf(pl->user.name, sizeof(pl->user.name), "%s", pw ? pw->pw_name : "");
	snprintf(pl->user.home, sizeof(pl->user.home), "%s",
		 home && home[0] == '/' ? home
		 : pw                   ? pw->pw_dir
					: "/");
	pl->set_identity = false;
	pl->cwd = rq->cwd;
	pl->or_home = true;
	if (!(h->env = merge_env(rq->envp)))
		return wire_send_error(w, ENOMEM, "out of memory");
	pl->envp = h->env;
	return 0;
}

static const struct relay_ops host_relay_ops = {.prepare = host_prepare};

/* One connection, in a child of its own: HELLO both ways, CREATE, the program. */
static int serve_conn(int fd)
{
	struct wire w;
	struct lxs_msg_hdr h;
	const uint8_t *p;
	struct host_relay hr = {0};
	int ret;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	if ((ret = wire_init(&w, fd)) < 0)
		return ret;
	ret = wire_recv(&w, &h, &p, HELLO_TIMEOUT_MS);
	if (ret >= 0 && wire_hello_ok(&h, p) < 0)
		ret = wire_send_error(&w, EPROTO,
				      "lxs-host speaks another protocol version than this lxs "
				      "(%u); use the lxs-host lxs provides",
				      LXS_PROTO_VERSION);
	if (ret >= 0) {
		wire_consume(&w);
		ret = wire_queue_hello(&w);
		if (ret >= 0)
			ret = wire_flush(&w);
		if (ret >= 0)
			ret = wire_recv(&w, &h, &p, HELLO_TIMEOUT_MS);
	}
	if (ret >= 0 && h.type != LXS_MSG_CREATE)
		ret = wire_send_error(&w, EPROTO, "expected CREATE after HELLO");
	if (ret >= 0) {
		uint8_t *req = malloc(h.len ? h.len : 1);
		size_t len = h.len;

		if (!req) {
			ret = wire_send_error(&w, ENOMEM, "out of memory");
		} else {
			memcpy(req, p, len);
			wire_consume(&w);
			ret = relay_serve(&w, req, len, &host_relay_ops, &hr);
			free(req);
		}
	}
	free((void *)hr.env);
	wire_fini(&w);
	close(fd);
	return ret;
}

static bool peer_is_us(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == getuid();
}

/* The server child's loop: accept, check, fork, count; never returns. */
static void serve(int lfd)
{
	sigset_t set;
	int running = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		_exit(1);
	for (;;) {
		struct pollfd pf[2] = {
		    {.fd = running < LXS_INTEROP_MAX_RUNNING ? lfd : -1, .events = POLLIN},
		    {.fd = sfd, .events = POLLIN}};

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			while (waitpid(-1, NULL, WNOHANG) > 0)
				running--;
		}
		if (!(pf[0].revents & POLLIN))
			continue;
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		if (!peer_is_us(cfd)) {
			close(cfd);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			close(lfd);
			close(sfd);
			_exit(serve_conn(cfd) < 0 ? 1 : 0);
		}
		if (pid > 0)
			running++;
		close(cfd);
	}
}

/* The server child on lfd (which it takes); on failure, why in err and the socket removed. */
static int start(struct interop_server *is, int lfd, char *err, size_t errlen)
{
	pid_t parent = getpid();

	fflush(NULL);
	is->pid = fork();
	if (is->pid < 0) {
		int ret = -errno;

		is->pid = 0;
		close(lfd);
		snprintf(err, errlen, "cannot start the interop server: %s", strerror(-ret));
		interop_stop(is);
		return ret;
	}
	if (is->pid == 0) {
		/* Dies with its session's lxs; what it started does not. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGTSTP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		/*
		 * Nothing of lxs's stays open here: a host program left running
		 * must not hold lxs's stdout (a pipe's reader would never see its
		 * end) nor its lxsd connection (the session would never end).
		 */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
			_exit(1);
		if (lfd != 3 && dup2(lfd, 3) < 0)
			_exit(1);
		close_range(4, ~0U, 0);
		serve(3);
	}
	close(lfd);
	return 0;
}

int interop_start_unix(const struct lxs_paths *p, bool host_view, struct interop_server *is,
		       char *err, size_t errlen)
{
	char dir[LXS_PATH_MAX];
	int ret, lfd;

	memset(is, 0, sizeof(*is));
	if ((ret = path_fmt(dir, sizeof(dir), "%s/sessions", p->tools)) < 0 ||
	    (ret = path_fmt(is->sock, sizeof(is->sock), "%s/%d.sock", dir, (int)getpid())) < 0 ||
	    (ret = host_view ? path_fmt(is->env, sizeof(is->env), "LXS_INTEROP=%s", is->sock)
			     : path_fmt(is->env, sizeof(is->env),
					"LXS_INTEROP=" LXS_TOOLS_DIR "/sessions/%d.sock",
					(int)getpid())) < 0) {
		snprintf(err, errlen, "the run folder's path is too long for interop");
		return ret;
	}
	if ((ret = mkdir_p(dir, 0755)) < 0 || (lfd = call_listen(is->sock, 16, false)) < 0) {
		ret = ret < 0 ? ret : lfd;
		snprintf(err, errlen, "cannot listen on %.200s for interop: %s", is->sock,
			 strerror(-ret));
		is->sock[0] = 0;
		return ret;
	}
	return start(is, lfd, err, errlen);
}

int interop_start_vsock(const char *vsock, struct interop_server *is, char *err, size_t errlen)
{
	int ret = -EADDRINUSE, lfd = -1;
	struct stat st;

	memset(is, 0, sizeof(*is));
	/* A port no other session holds: its socket file is ours while we live. */
	for (unsigned i = 0; i < LXS_INTEROP_MAX_RUNNING && lfd < 0; i++) {
		unsigned port = LXS_VSOCK_PORT_INTEROP +
				((unsigned)getpid() + i * 7919u) % LXS_VSOCK_PORT_INTEROP_SPAN;

		if ((ret = path_fmt(is->sock, sizeof(is->sock), "%s_%u", vsock, port)) < 0)
			break;
		if (lstat(is->sock, &st) == 0) {
			/* A live server answers; a dead session's leftover does not. */
			int c = call_connect(is->sock, 100);
			if (c >= 0) {
				close(c);
				continue;
			}
		}
		lfd = call_listen(is->sock, 16, false);
		ret = lfd;
		snprintf(is->env, sizeof(is->env), "LXS_INTEROP=vsock:%u", port);
	}
	if (lfd < 0) {
		snprintf(err, errlen, "cannot listen for interop beside %.200s: %s", vsock,
			 strerror(-ret));
		is->sock[0] = 0;
		return ret;
	}
	return start(is, lfd, err, errlen);
}

void interop_stop(struct interop_server *is)
{
	if (is->pid > 0) {
		kill(is->pid, SIGKILL);
		waitpid(is->pid, NULL, 0);
	}
	is->pid = 0;
	if (is->sock[0])
		unlink(is->sock);
	is->sock[0] = 0;
}

const char **interop_session_env(const char *const *plan_env, const struct interop_server *is,
				 const char *host_mount, char ***extra)
{
	extern char **environ;
	size_t nextra = 0, n = 0, k = 0;

	*extra = NULL;
	if (xlate_env((const char *const *)environ, XLATE_INTO_DISTRO, host_mount, extra, &nextra) <
	    0)
		return NULL;
	while (plan_env[n])
		n++;
	const char **v = calloc(n + nextra + 2, sizeof(*v));
	if (!v) {
		xlate_env_free(*extra);
		*extra = NULL;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[k++] = plan_env[i];
	if (is && is->env[0])
		v[k++] = is->env;
	for (size_t i = 0; i < nextra; i++) {
		const char *e = (*extra)[i];
		size_t len = strcspn(e, "=");
		bool taken = false;

		for (size_t j = 0; j < k && !taken; j++)
			taken = !strncmp(v[j], e, len) && v[j][len] == '=';
		if (!taken)
			v[k++] = e;
	}
	return v;
}

void interop_session_env_free(const char **env, char **extra)
{
	free((void *)env);
	xlate_env_free(extra);
}

/* ---- the tools folder -------------------------------------------------------------- */

/* A file being written in the tools folder: NAME.new-PID until it is renamed to NAME. */
#define NEW_SUFFIX ".new-"

/* What an lxs killed while writing one left in dir: files NAME.new-PID of a dead PID. */
static void sweep_new(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		const char *m = strstr(e->d_name, NEW_SUFFIX);
		char *end;
		long pid = m ? strtol(m + strlen(NEW_SUFFIX), &end, 10) : 0;

		if (pid > 0 && !*end && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
}

/* Copy src to dst unless dst has its size and is not older: by a temporary and rename. */
static int copy_if_changed(const char *src, const char *dst)
{
	struct stat a, b;
	char tmp[LXS_PATH_MAX], buf[65536];
	int in, out, ret = 0;

	if (stat(src, &a) < 0)
		return -errno;
	if (stat(dst, &b) == 0 && b.st_size == a.st_size && b.st_mtime >= a.st_mtime)
		return 0;
	if ((ret = path_fmt(tmp, sizeof(tmp), "%s" NEW_SUFFIX "%d", dst, (int)getpid())) < 0)
		return ret;
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	for (ssize_t n; (n = read(in, buf, sizeof(buf))) != 0;) {
		if (n < 0 || write(out, buf, (size_t)n) != n) {
			ret = -EIO;
			break;
		}
	}
	close(in);
	if (close(out) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, dst) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

/* A name a host program may have on the distro's PATH: a plain file name. */
static bool command_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > 255 || n[0] == '.' || n[0] == '-')
		return false;
	for (const char *c = n; *c; c++)
		if (*c == '/' || (unsigned char)*c < 0x21 || *c == 0x7f)
			return false;
	return true;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * What host-path/ was made from: PATH and each of its folders' identity
 * and last change. The same stamp as last time: nothing to look at again
 * (a session would otherwise stat every program on the host's PATH).
 */
static void host_path_stamp(const char *path_env, char *buf, size_t len)
{
	size_t at = (size_t)snprintf(buf, len, "%s\n", path_env);
	const char *d = path_env;

	while (at < len && *d) {
		char dir[PATH_MAX];
		size_t k = strcspn(d, ":");
		struct stat st;

		if (k < sizeof(dir)) {
			memcpy(dir, d, k);
			dir[k] = 0;
			if (dir[0] == '/' && stat(dir, &st) == 0)
				at += (size_t)snprintf(
				    buf + at, len - at, "%lu:%lu:%lld.%ld\n",
				    (unsigned long)st.st_dev, (unsigned long)st.st_ino,
				    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		}
		d += k + (d[k] == ':');
	}
}

/* host-path/NAME -> ../bin/lxs-host for each executable on path_env; stale names go. */
static int refresh_host_path(const char *dir, const char *path_env)
{
	char *copy = strdup(path_env ? path_env : "");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (!copy || dfd < 0) {
		ret = copy ? -errno : -ENOMEM;
		goto out;
	}
	/* First mark every entry of every PATH folder (the first one of a name wins). */
	size_t cap = 1024, n = 0;
	char **names = malloc(cap * sizeof(*names));
	if (!names) {
		ret = -ENOMEM;
		goto out;
	}
	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		DIR *dp = opendir(d);
		struct dirent *e;

		while (dp && (e = readdir(dp))) {
			char full[PATH_MAX];
			struct stat st;

			if (!command_name_ok(e->d_name) ||
			    snprintf(full, sizeof(full), "%s/%s", d, e->d_name) >=
				(int)sizeof(full) ||
			    stat(full, &st) < 0 || !S_ISREG(st.st_mode) || access(full, X_OK) < 0)
				continue;
			if (n == cap) {
				char **more = realloc(names, (cap *= 2) * sizeof(*names));
				if (!more)
					break;
				names = more;
			}
			if (!(names[n] = strdup(e->d_name)))
				break;
			n++;
		}
		if (dp)
			closedir(dp);
	}
	for (size_t i = 0; i < n; i++) {
		char target[64];
		ssize_t k = readlinkat(dfd, names[i], target, sizeof(target) - 1);

		if (k >= 0) {
			target[k] = 0;
			if (!strcmp(target, "../bin/lxs-host"))
				continue;
		}
		if (symlinkat("../bin/lxs-host", dfd, names[i]) < 0 && errno != EEXIST)
			ret = -errno;
	}
	/* Names the host no longer has. */
	qsort(names, n, sizeof(*names), cmp_name);
	DIR *hp = fdopendir(dup(dfd));
	struct dirent *e;
	while (hp && (e = readdir(hp))) {
		const char *key = e->d_name;

		if (key[0] != '.' && !bsearch(&key, names, n, sizeof(*names), cmp_name))
			unlinkat(dfd, e->d_name, 0);
	}
	if (hp)
		closedir(hp);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
out:
	if (dfd >= 0)
		close(dfd);
	free(copy);
	return ret;
}

int interop_tools_refresh(const struct lxs_paths *p, const char *path_env, char *err, size_t errlen)
{
	char bin[LXS_PATH_MAX], src[LXS_PATH_MAX], dst[LXS_PATH_MAX], hp[LXS_PATH_MAX];
	int ret;

	if ((ret = path_fmt(bin, sizeof(bin), "%s/bin", p->tools)) < 0 ||
	    (ret = path_fmt(src, sizeof(src), "%s/lxs-host", p->bindir)) < 0 ||
	    (ret = path_fmt(dst, sizeof(dst), "%s/lxs-host", bin)) < 0 ||
	    (ret = path_fmt(hp, sizeof(hp), "%s/host-path", p->tools)) < 0) {
		snprintf(err, errlen, "the run folder's path is too long for lxs's tools");
		return ret;
	}
	/* The run folder first, private (the tools inside it are for the distros to read). */
	if ((ret = paths_make_run_dir(p, err, errlen)) < 0)
		return ret;
	if ((ret = mkdir_p(bin, 0755)) < 0 || (ret = mkdir_p(hp, 0755)) < 0) {
		snprintf(err, errlen, "cannot create %.200s: %s", p->tools, strerror(-ret));
		return ret;
	}
	sweep_new(bin);
	sweep_new(p->tools);
	if ((ret = copy_if_changed(src, dst)) < 0) {
		snprintf(err, errlen,
			 "cannot put lxs-host in %.200s (%s); is it built next to lxs (make)?", bin,
			 strerror(-ret));
		return ret;
	}
	if (path_fmt(dst, sizeof(dst), "%s/lxspath", bin) == 0 && symlink("lxs-host", dst) < 0 &&
	    errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %.200s: %s", dst, strerror(errno));
		return ret;
	}
	if (!path_env)
		return 0;
	char stamp[8192], old[8192], sp[LXS_PATH_MAX], tmp[LXS_PATH_MAX];
	host_path_stamp(path_env, stamp, sizeof(stamp));
	if (path_fmt(sp, sizeof(sp), "%s/host-path.stamp", p->tools) < 0 ||
	    path_fmt(tmp, sizeof(tmp), "%s" NEW_SUFFIX "%d", sp, (int)getpid()) < 0)
		return 0;
	int fd = open(sp, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, old, sizeof(old) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n >= 0 && (size_t)n == strlen(stamp) && !memcmp(old, stamp, (size_t)n))
		return 0;
	if ((ret = refresh_host_path(hp, path_env)) < 0) {
		snprintf(err, errlen, "cannot fill %.200s: %s", hp, strerror(-ret));
		return ret;
	}
	/* Written whole or not at all: a torn stamp only costs one more refresh. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		bool ok = write(fd, stamp, strlen(stamp)) == (ssize_t)strlen(stamp);

		close(fd);
		if (!ok || rename(tmp, sp) < 0)
			unlink(tmp);
	}
	return 0;
}
