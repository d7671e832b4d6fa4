/*
 * lxsd - the per-user lxs manager. Started on demand by lxs, one per user
 * (a lock in the run folder), it owns the VM and the running distros, hands
 * out sessions (ipc.h describes the conversation), stops a distro after
 * instanceIdleTimeout without sessions and the VM after vmIdleTimeout
 * without distros, and exits a few seconds after that.
 *
 * Environment: LXSD_INIT_UNIX=SOCKET uses an `lxs-init --serve-unix SOCKET`
 * instead of booting a VM (host-only tests); LXS_KERNEL, LXS_INITRD
 * override where the guest kernel and initramfs are found.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proto.h"
#include "store/extfile.h"
#include "store/ipc.h"
#include "lxsd.h"

#define MAX_CLIENTS 512
#define LINGER_MS   5000 /* how long lxsd stays with nothing to do */

struct client {
	int fd;
	char buf[1024];
	size_t len;
	int slot; /* the running distro this session counts for, or -1 */
	unsigned gen;
};

static struct client clients[MAX_CLIENTS];
static int nclients;
static unsigned gens[LXSD_MAX_RUNNING]; /* bumped whenever a slot gets a new distro */

static void reply(int fd, const char *text)
{
	write_all(fd, text, strlen(text));
}

static void reply_error(int fd, const char *sentence)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "error %s\n\n", sentence);
	reply(fd, buf);
}

static void warn_cb(const char *sentence, void *arg)
{
	(void)arg;
	fprintf(stderr, "lxsd: %s\n", sentence);
}

static void load_config(struct lxsd *s)
{
	config_defaults(&s->cfg);
	if (config_load(s->p.config, &s->cfg, warn_cb, NULL) < 0)
		fprintf(stderr, "lxsd: cannot read %s; using the defaults\n", s->p.config);
}

/* The user a session runs as when lxs names none, in WSL's order of precedence. */
static void default_user(const struct running *r, const struct reg_distro *d, char *out, size_t len)
{
	if (r->wsl.default_user[0])
		snprintf(out, len, "%s", r->wsl.default_user);
	else if (d->default_user[0])
		snprintf(out, len, "%s", d->default_user);
	else if (r->wsl.oobe_default_uid >= 0)
		snprintf(out, len, "#%ld", r->wsl.oobe_default_uid);
	else
		out[0] = 0;
}

static void do_run(struct lxsd *s, struct client *c, const char *name, const char *user)
{
	struct registry reg;
	struct running *r;
	char err[1024] = "", who[80], buf[3 * LXS_PATH_MAX];
	int ret = registry_load(s->p.registry, &reg, err, sizeof(err));

	if (ret < 0) {
		reply_error(c->fd, err);
		return;
	}
	struct reg_distro *d = registry_find(&reg, name);
	if (!d) {
		snprintf(err, sizeof(err), "there is no distribution named %s; see lxs --list",
			 name);
		goto fail;
	}
	if (s->vm_pidfd < 0)
		load_config(s); /* a new VM takes the configuration as it is now */
	if ((ret = vm_ensure(s, err, sizeof(err))) < 0 ||
	    (ret = distro_up(s, d, &r, err, sizeof(err))) < 0)
		goto fail;
	if (user && user[0])
		snprintf(who, sizeof(who), "%s", user);
	else
		default_user(r, d, who, sizeof(who));
	struct pw_entry pw = {.home = "", .shell = ""};
	snprintf(pw.name, sizeof(pw.name), "%s", who);
	if (r->passwd && passwd_lookup(r->passwd, who, &pw) < 0) {
		/* Maybe made since the distro started; lxs-init has the last word. */
		snprintf(pw.name, sizeof(pw.name), "%s", who);
		pw.home[0] = pw.shell[0] = 0;
	}
	snprintf(buf, sizeof(buf),
		 "ok\nvsock %s\nport %u\ndistro %s\nuser %s\nuid %u\nhome %s\nshell %s\n\n",
		 s->vsock, s->test_init ? 0u : LXS_VSOCK_PORT_INIT, r->name,
		 who[0] == 0 || who[0] == '#' ? who : pw.name, pw.uid, pw.home, pw.shell);
	reply(c->fd, buf);
	c->slot = r->slot;
	c->gen = gens[r->slot];
	r->sessions++;
	registry_free(&reg);
	return;
fail:
	reply_error(c->fd, err);
	registry_free(&reg);
}

static void session_closed(struct lxsd *s, struct client *c)
{
	if (c->slot < 0 || gens[c->slot] != c->gen || !s->r[c->slot].used)
		return;
	struct running *r = &s->r[c->slot];
	if (r->sessions > 0 && --r->sessions == 0)
		r->idle_since_ms = now_ms();
	c->slot = -1;
}

static void stop_distro(struct lxsd *s, struct running *r)
{
	char err[1024] = "";

	gens[r->slot]++;
	if (distro_down(s, r, err, sizeof(err)) < 0)
		fprintf(stderr, "lxsd: %s\n", err);
	s->vm_idle_since_ms = now_ms();
}

static void handle(struct lxsd *s, struct client *c, char *line)
{
	struct ipc_request rq;
	const char *why;

	if (ipc_parse_request(line, &rq, &why) < 0) {
		reply_error(c->fd, why);
	} else if (rq.op == IPC_PING) {
		reply(c->fd, "ok\n\n");
	} else if (rq.op == IPC_RUN && c->slot < 0) {
		do_run(s, c, rq.name, rq.user);
	} else if (rq.op == IPC_TERMINATE) {
		struct running *r = running_find(s, rq.name);

		if (r)
			stop_distro(s, r);
		reply(c->fd, "ok\n\n");
	} else if (rq.op == IPC_SHUTDOWN) {
		for (int i = 0; i < LXSD_MAX_RUNNING; i++)
			if (s->r[i].used)
				gens[i]++;
		vm_stop(s, rq.force);
		reply(c->fd, "ok\n\n");
	} else if (rq.op == IPC_STATUS) {
		char buf[IPC_MAX];
		size_t n =
		    (size_t)snprintf(buf, sizeof(buf), "ok\nvm %s\nvmpid %d\n",
				     s->vm_pidfd >= 0 ? "running" : "stopped", (int)s->vm_pid);

		for (int i = 0; i < LXSD_MAX_RUNNING; i++)
			if (s->r[i].used && n < sizeof(buf) - 128)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "running %s %d\n",
						      s->r[i].name, s->r[i].sessions);
		snprintf(buf + n, sizeof(buf) - n, "\n");
		reply(c->fd, buf);
	} else {
		reply_error(c->fd, "unknown request"); /* a second run on one connection */
	}
}

static void drop_client(struct lxsd *s, int i)
{
	session_closed(s, &clients[i]);
	close(clients[i].fd);
	clients[i] = clients[--nclients];
}

/* Stop idle distros, then an idle VM; return how long poll may sleep. */
static int timers(struct lxsd *s)
{
	int64_t now = now_ms(), next = -1;
	int nrunning = 0;

	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		struct running *r = &s->r[i];

		if (!r->used)
			continue;
		if (r->sessions == 0 && s->cfg.instance_idle_timeout_ms >= 0) {
			int64_t due = r->idle_since_ms + s->cfg.instance_idle_timeout_ms;

			if (now >= due) {
				stop_distro(s, r);
				continue;
			}
			next = next < 0 || due - now < next ? due - now : next;
		}
		nrunning++;
	}
	if (s->vm_pidfd >= 0 && nrunning == 0 && s->cfg.vm_idle_timeout_ms >= 0) {
		int64_t due = s->vm_idle_since_ms + s->cfg.vm_idle_timeout_ms;

		if (now >= due)
			vm_stop(s, false);
		else
			next = next < 0 || due - now < next ? due - now : next;
	}
	return next < 0 ? -1 : (int)(next > 60000 ? 60000 : next) + 1;
}

/*
 * Remove what killed imports and conversions left (registry.h, leftovers)
 * in a grandchild: lxs waits for our socket, not for this, and init reaps
 * it. lock is lxsd.lock, which it must not keep held after we are gone.
 */
static void sweep_leftovers(const struct lxs_paths *p, int lock)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct leftovers l = {0};

		if (fork() != 0)
			_exit(0);
		close(lock);
		leftovers_all(p, true, &l);
		if (l.count)
			fprintf(stderr,
				"lxsd: removed %d leftovers of interrupted imports (%.1f MiB)\n",
				l.count, (double)l.bytes / (1 << 20));
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int listen_on(const struct lxs_paths *p, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(p->sock) >= sizeof(a.sun_path)) {
		snprintf(err, errlen,
			 "the socket path %s is too long; set XDG_RUNTIME_DIR to a shorter folder",
			 p->sock);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, p->sock);
	unlink(p->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177); /* the socket is born 0600 */
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 64) == 0;
	umask(old);
	if (!ok) {
		snprintf(err, errlen, "cannot listen on %s: %s", p->sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct lxsd s;
	char err[1024] = "", lockp[LXS_PATH_MAX];

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "lxsd: takes no arguments; lxs starts it when needed\n");
		return 2;
	}
	s.vm_pidfd = -1;
	s.net_fd = -1;
	s.test_init = getenv("LXSD_INIT_UNIX");
	if (s.test_init && !s.test_init[0])
		s.test_init = NULL;
	for (int i = 0; i < LXSD_MAX_RUNNING; i++)
		s.r[i].lock_fd = -1;
	if (paths_init(&s.p, err, sizeof(err)) < 0 ||
	    paths_make_run_dir(&s.p, err, sizeof(err)) < 0) {
		fprintf(stderr, "lxsd: %s\n", err);
		return 1;
	}
	load_config(&s);
	/* One lxsd per user: whoever holds the lock serves; a second one leaves quietly. */
	path_fmt(lockp, sizeof(lockp), "%s/lxsd.lock", s.p.run);
	int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
		return 0;
	/* Who holds the lock, for people and scripts that want to signal lxsd. */
	if (ftruncate(lock, 0) == 0)
		dprintf(lock, "%d\n", (int)getpid());
	sweep_leftovers(&s.p, lock);
	int lfd = listen_on(&s.p, err, sizeof(err));
	if (lfd < 0) {
		fprintf(stderr, "lxsd: %s\n", err);
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int64_t idle_since = now_ms();
	bool quit = false;

	while (!quit) {
		struct pollfd pf[MAX_CLIENTS + 3];
		int n = 0, timeout = timers(&s);

		pf[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		pf[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		pf[n++] = (struct pollfd){.fd = s.test_init ? -1 : s.vm_pidfd, .events = POLLIN};
		for (int i = 0; i < nclients; i++)
			pf[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
		if (s.vm_pidfd < 0 && nclients == 0) {
			int64_t left = idle_since + LINGER_MS - now_ms();

			if (left <= 0)
				break;
			timeout = timeout < 0 || left < timeout ? (int)left : timeout;
		}
		if (poll(pf, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					reap_children(&s);
				else
					quit = true;
			}
		}
		if (s.vm_pidfd >= 0 && !s.test_init && (pf[2].revents & POLLIN)) {
			fprintf(stderr, "lxsd: the VM stopped; see %s\n", s.vm_log);
			for (int i = 0; i < LXSD_MAX_RUNNING; i++)
				gens[i]++;
			vm_gone(&s);
		}
		/* Clients before accepting more, from the end, since dropping reorders the array.
		 */
		for (int i = nclients - 1; i >= 0; i--) {
			struct client *c = &clients[i];

			if (!(pf[3 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
			if (k <= 0) {
				drop_client(&s, i);
				continue;
			}
			c->len += (size_t)k;
			char *nl;
			while ((nl = memchr(c->buf, '\n', c->len))) {
				*nl = 0;
				handle(&s, c, c->buf);
				c->len -= (size_t)(nl + 1 - c->buf);
				memmove(c->buf, nl + 1, c->len);
			}
			if (c->len >= sizeof(c->buf) - 1)
				drop_client(&s, i);
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			struct ucred cr;
			socklen_t cl = sizeof(cr);

			/* The socket is 0600 already; the peer check also covers a leaked fd. */
			if (fd >= 0 && (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
					cr.uid != getuid() || nclients >= MAX_CLIENTS)) {
				close(fd);
				fd = -1;
			}
			if (fd >= 0)
				clients[nclients++] = (struct client){.fd = fd, .slot = -1};
		}
		if (s.vm_pidfd >= 0 || nclients)
			idle_since = now_ms();
	}
	vm_stop(&s, false);
	unlink(s.p.sock);
	return 0;
}
