/*
 * lxsd - the per-user lxs manager. Started on demand by lxs, one per user
 * (a lock in the run folder), it owns the VM and the running distros, hands
 * out sessions (store/ipc.h describes the conversation), stops a distro
 * after instanceIdleTimeout without sessions and the VM after vmIdleTimeout
 * without distros, and exits a few seconds after that (with --stay, as a
 * service manager or a user who wants the distros' files at hand starts it:
 * only after lxs --shutdown). main() is its
 * lifecycle; lxsd.h says which file holds what.
 *
 * Environment: LXSD_INIT_UNIX=SOCKET uses an `lxs-init --serve-unix SOCKET`
 * instead of booting a VM (host-only tests); LXS_KERNEL, LXS_INITRD and
 * LXS_VM override where the guest kernel, initramfs and lxs-vm are found.
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
#include <sys/wait.h>
#include <unistd.h>

#include "common/call.h"
#include "common/clock.h"
#include "common/proto.h"
#include "lxsd.h"

#define LINGER_MS 5000 /* how long lxsd stays with nothing to do */

static void stop_distro(struct lxsd *s, struct running *r)
{
	char name[REG_NAME_MAX + 1];

	snprintf(name, sizeof(name), "%s", r->d.name);
	if (distro_stop(s, r) == DISTRO_DOWN)
		clients_distro_down(s, name);
	s->vm_idle_since_ms = now_ms();
}

/* What distro_on_answer reported, passed on to the clients. */
static void distro_changed(struct lxsd *s, struct running *r, int64_t now)
{
	char name[REG_NAME_MAX + 1], err[1024];
	int ret;

	snprintf(name, sizeof(name), "%s", r->d.name);
	ret = distro_on_answer(s, r, now, err, sizeof(err));
	if (ret < 0)
		clients_fail(s, name, err);
	else if (ret == DISTRO_UP)
		clients_distro_ready(s, r);
	else if (ret == DISTRO_DOWN)
		clients_distro_down(s, name);
}

static int64_t sooner(int64_t next, int64_t due, int64_t now)
{
	return next < 0 || due - now < next ? due - now : next;
}

/* Idle distros and VM stopped, starts and boots given up: how long poll may sleep. */
static int timers(struct lxsd *s)
{
	int64_t now = now_ms(), next = -1;
	int nrunning = 0;
	char err[1024];

	enum lxs_vm_state before = s->vm;
	if (vm_check_deadline(s, now, err, sizeof(err)) < 0)
		clients_fail(s, NULL, err);
	if (before != LXS_VM_STOPPED && s->vm == LXS_VM_STOPPED)
		clients_vm_gone(s);
	if (s->vm == LXS_VM_BOOTING || s->vm == LXS_VM_STOPPING)
		next = sooner(next, s->vm_deadline_ms, now);
	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		struct running *r = &s->r[i];

		if (r->used && r->state != LXS_DISTRO_RUNNING) {
			distro_changed(s, r, now);
			if (r->used && r->state != LXS_DISTRO_RUNNING)
				next = sooner(next, r->deadline_ms, now);
		}
		if (!r->used || r->state != LXS_DISTRO_RUNNING)
			continue;
		if (r->sessions == 0 && s->cfg.instance_idle_timeout_ms >= 0) {
			int64_t due = r->idle_since_ms + s->cfg.instance_idle_timeout_ms;

			if (now >= due) {
				stop_distro(s, r);
				continue;
			}
			next = sooner(next, due, now);
		}
		nrunning++;
	}
	for (int i = 0; i < LXSD_MAX_RUNNING; i++)
		nrunning += s->r[i].used && s->r[i].state != LXS_DISTRO_RUNNING;
	if (s->vm == LXS_VM_RUNNING && nrunning == 0 && s->cfg.vm_idle_timeout_ms >= 0) {
		int64_t due = s->vm_idle_since_ms + s->cfg.vm_idle_timeout_ms;

		if (now >= due)
			vm_stop(s, false);
		else
			next = sooner(next, due, now);
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
	int fd = call_listen(p->sock, 64, false);

	if (fd == -ENAMETOOLONG)
		snprintf(
		    err, errlen,
		    "the socket path %.900s is too long; set XDG_RUNTIME_DIR to a shorter folder",
		    p->sock);
	else if (fd < 0)
		snprintf(err, errlen, "cannot listen on %.200s: %s", p->sock, strerror(-fd));
	return fd;
}

/*
 * One turn of the loop: wait (at most timeout ms, -1: no limit) for any of
 * lxsd's descriptors and act on what happened. false: time to quit.
 */
static bool serve_once(struct lxsd *s, int lfd, int sfd, int timeout)
{
	char err[1024];
	bool quit = false;

	/* Fixed slots first: listener, signals, VM, READY, the distros' conversations. */
	enum { P_LISTEN, P_SIG, P_VM, P_READY, P_CONV, P_CLIENTS = P_CONV + LXSD_MAX_RUNNING };
	struct pollfd pf[P_CLIENTS + LXSD_MAX_CLIENTS];
	pf[P_LISTEN] = (struct pollfd){.fd = lfd, .events = POLLIN};
	pf[P_SIG] = (struct pollfd){.fd = sfd, .events = POLLIN};
	pf[P_VM] = (struct pollfd){.fd = s->test_init ? -1 : s->vm_pidfd, .events = POLLIN};
	pf[P_READY] = (struct pollfd){.fd = s->ready_conn >= 0 ? s->ready_conn : s->ready_listen,
				      .events = POLLIN};
	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		struct running *r = &s->r[i];
		bool talking = r->used && r->state != LXS_DISTRO_RUNNING;

		pf[P_CONV + i] = (struct pollfd){
		    .fd = talking ? r->conv.fd : -1,
		    .events = POLLIN | (talking && wire_tx_pending(&r->conv) ? POLLOUT : 0)};
	}
	for (int i = 0; i < s->nclients; i++)
		pf[P_CLIENTS + i] =
		    (struct pollfd){.fd = s->c[i].w.fd,
				    .events = (s->c[i].phase != CLIENT_DONE ? POLLIN : 0) |
					      (wire_tx_pending(&s->c[i].w) ? POLLOUT : 0)};
	int nfds = P_CLIENTS + s->nclients;
	if (poll(pf, (nfds_t)nfds, timeout) < 0 && errno != EINTR)
		return false;
	if (pf[P_SIG].revents & POLLIN) {
		struct signalfd_siginfo si;

		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				reap_children(s);
			else
				quit = true; /* SIGTERM, SIGINT, SIGHUP */
		}
	}
	if (pf[P_VM].fd >= 0 && (pf[P_VM].revents & POLLIN)) {
		if (vm_on_exit(s, err, sizeof(err)) < 0)
			clients_fail(s, NULL, err);
		clients_vm_gone(s);
	}
	if (pf[P_READY].fd >= 0 && pf[P_READY].revents && vm_on_ready(s) == 1)
		clients_vm_up(s);
	for (int i = 0; i < LXSD_MAX_RUNNING; i++)
		if (pf[P_CONV + i].fd >= 0 && pf[P_CONV + i].revents && s->r[i].used)
			distro_changed(s, &s->r[i], now_ms());
	/*
	 * Every client, also those with nothing to read (answers queued by the
	 * events above go out now), from the end: dropping one moves the last,
	 * already served, into its place.
	 */
	for (int i = s->nclients - 1; i >= 0; i--)
		client_io(s, i, pf[P_CLIENTS + i].revents);
	if (pf[P_LISTEN].revents & POLLIN)
		client_accept(s, lfd);
	return !quit;
}

int main(int argc, char **argv)
{
	static struct lxsd s;
	char err[1024] = "", lockp[LXS_PATH_MAX];

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--stay"))) {
		fprintf(stderr,
			"usage: lxsd [--stay] (lxs starts it when needed; --stay: until lxs "
			"--shutdown, not only while in use)\n");
		return 2;
	}
	s.stay = argc == 2;
	s.vm_pidfd = s.ready_listen = s.ready_conn = s.stop_fd = s.net_fd = -1;
	s.test_init = getenv("LXSD_INIT_UNIX");
	if (s.test_init && !s.test_init[0])
		s.test_init = NULL;
	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		s.r[i].lock_fd = s.r[i].conv.fd = -1;
		s.r[i].slot = i;
	}
	if (paths_init(&s.p, err, sizeof(err)) < 0 ||
	    paths_make_run_dir(&s.p, err, sizeof(err)) < 0) {
		fprintf(stderr, "lxsd: %s\n", err);
		return 1;
	}
	lxsd_load_config(&s);
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
	files_start(&s);
	int64_t idle_since = now_ms();

	for (;;) {
		int timeout = timers(&s);

		if (s.vm == LXS_VM_STOPPED && s.nclients == 0 && !s.stay) {
			int64_t left = idle_since + LINGER_MS - now_ms();

			if (left <= 0)
				break;
			timeout = timeout < 0 || left < timeout ? (int)left : timeout;
		}
		if (!serve_once(&s, lfd, sfd, timeout))
			break;
		if (s.vm != LXS_VM_STOPPED || s.nclients)
			idle_since = now_ms();
	}
	vm_stop_wait(&s);
	files_stop(&s);
	unlink(s.p.sock);
	return 0;
}
