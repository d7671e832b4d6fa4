/*
 * clients.c - lxs's connections to lxsd: each a conversation in the frames
 * of ipc.h (HELLO, one request, one answer), read and written without
 * blocking. A RUN waits (CLIENT_WAIT) until the VM is up and its distro
 * runs, then gets its plan (src/store/plan.h) and counts as a session until
 * it hangs up; a SHUTDOWN is answered once the VM is gone.
 * Must not: wait for anything, or touch the VM but through vm.c and running.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "lxsd.h"

static void answer(struct client *c, uint16_t type, const void *p, size_t len)
{
	wire_queue(&c->w, type, 0, p, len, NULL, 0);
	c->phase = CLIENT_DONE;
}

static void answer_error(struct client *c, int e, const char *sentence)
{
	wire_queue_error(&c->w, e, sentence);
	c->phase = CLIENT_DONE;
}

static void forget_request(struct client *c)
{
	ipc_run_free(&c->rq);
	free(c->run);
	c->run = NULL;
}

/* The session is planned for the running distro r: PLAN, and it counts. */
static void answer_plan(struct lxsd *s, struct client *c, struct running *r)
{
	struct session_plan pl;
	uint8_t *buf = NULL;
	char err[1024] = "";
	c->rq.rq.interop_off = !s->cfg.interop;
	char files[LXS_PATH_MAX];
	if (s->cfg.distro_files &&
	    path_fmt(files, sizeof(files), "%s/fs/%s", s->p.run, c->d.name) == 0)
		c->rq.rq.files_root = files;
	int ret = plan_session(&c->rq.rq, &c->d, &r->wsl, r->passwd, false, &pl, err, sizeof(err));

	forget_request(c);
	if (ret < 0) {
		answer_error(c, -ret, err);
		return;
	}
	long len = ipc_encode_plan(s->vsock, s->test_init ? 0 : LXS_VSOCK_PORT_INIT, &pl, &buf);
	plan_free(&pl);
	if (len < 0) {
		answer_error(c, E2BIG, "the session's command and environment are too long");
		return;
	}
	wire_queue(&c->w, LXS_MSG_LXSD_PLAN, 0, buf, (size_t)len, NULL, 0);
	free(buf);
	c->phase = CLIENT_SESSION;
	c->slot = r->slot;
	c->gen = r->gen;
	r->sessions++;
}

void clients_fail(struct lxsd *s, const char *name, const char *why)
{
	for (int i = 0; i < s->nclients; i++) {
		struct client *c = &s->c[i];

		if (c->phase == CLIENT_WAIT && (!name || !strcasecmp(c->d.name, name))) {
			forget_request(c);
			answer_error(c, EIO, why);
		}
	}
}

void clients_distro_ready(struct lxsd *s, struct running *r)
{
	for (int i = 0; i < s->nclients; i++)
		if (s->c[i].phase == CLIENT_WAIT && !strcasecmp(s->c[i].d.name, r->d.name))
			answer_plan(s, &s->c[i], r);
}

/* Move every waiting RUN on: boot the VM, start its distro, or answer it. */
static void clients_kick(struct lxsd *s)
{
	char err[LXS_PATH_MAX + 256];

	for (int i = 0; i < s->nclients; i++) {
		struct client *c = &s->c[i];
		struct running *r;

		if (c->phase != CLIENT_WAIT)
			continue;
		if (s->vm == LXS_VM_STOPPED && c->saw_vm) {
			/* It saw a VM come and go without its distro. */
			snprintf(err, sizeof(err), "the VM stopped before %s could start; see %s",
				 c->d.name, s->vm_log);
			forget_request(c);
			answer_error(c, EIO, err);
			continue;
		}
		if (s->vm == LXS_VM_STOPPED && vm_boot(s, err, sizeof(err)) < 0) {
			clients_fail(s, NULL, err);
			return;
		}
		if (s->vm == LXS_VM_BOOTING || s->vm == LXS_VM_RUNNING)
			c->saw_vm = true;
		if (s->vm != LXS_VM_RUNNING)
			continue;
		/* One stopping is started again once it is down (clients_distro_down). */
		if ((r = running_find(s, c->d.name)) && r->state == LXS_DISTRO_STOPPING)
			continue;
		if (distro_begin(s, &c->d, &r, err, sizeof(err)) < 0)
			clients_fail(s, c->d.name, err);
		else if (r->state == LXS_DISTRO_RUNNING)
			clients_distro_ready(s, r);
	}
}

void clients_distro_down(struct lxsd *s, const char *name)
{
	for (int i = 0; i < s->nclients; i++)
		if (s->c[i].phase == CLIENT_TERMINATE && !strcasecmp(s->c[i].d.name, name))
			answer(&s->c[i], LXS_MSG_OK, NULL, 0);
	/* Runs that came while it stopped start it again. */
	clients_kick(s);
}

void clients_vm_up(struct lxsd *s)
{
	clients_kick(s);
}

void clients_vm_gone(struct lxsd *s)
{
	for (int i = 0; i < s->nclients; i++)
		if (s->c[i].phase == CLIENT_SHUTDOWN || s->c[i].phase == CLIENT_TERMINATE)
			answer(&s->c[i], LXS_MSG_OK, NULL, 0);
	/* Runs that came while it stopped want a new one. */
	clients_kick(s);
}

static void session_closed(struct lxsd *s, struct client *c)
{
	if (c->phase != CLIENT_SESSION || c->slot < 0)
		return;
	struct running *r = &s->r[c->slot];
	if (!r->used || r->gen != c->gen)
		return;
	if (r->sessions > 0 && --r->sessions == 0)
		r->idle_since_ms = now_ms();
	c->slot = -1;
}

static void drop(struct lxsd *s, int i)
{
	struct client *c = &s->c[i];

	session_closed(s, c);
	forget_request(c);
	close(c->w.fd);
	wire_fini(&c->w);
	s->c[i] = s->c[--s->nclients];
}

static void do_status(struct lxsd *s, struct client *c)
{
	static struct ipc_state st;
	static uint8_t buf[LXS_MSG_MAX];

	memset(&st, 0, sizeof(st));
	st.vm = s->vm;
	st.vm_pid = s->vm_pid;
	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		if (!s->r[i].used)
			continue;
		st.d[st.n].state = s->r[i].state;
		st.d[st.n].sessions = (uint32_t)s->r[i].sessions;
		snprintf(st.d[st.n].name, sizeof(st.d[st.n].name), "%s", s->r[i].d.name);
		st.n++;
	}
	long len = ipc_encode_state(&st, buf, sizeof(buf));
	if (len < 0)
		answer_error(c, E2BIG, "lxsd's state does not fit in one message");
	else
		answer(c, LXS_MSG_LXSD_STATE, buf, (size_t)len);
}

static void do_run(struct lxsd *s, struct client *c, const uint8_t *p, size_t len)
{
	struct registry reg;
	char err[1024] = "";

	if (!s->files.pid)
		files_start(s); /* stopped by a --shutdown this lxsd outlived */
	if (!(c->run = malloc(len ? len : 1))) {
		answer_error(c, ENOMEM, "lxsd is out of memory");
		return;
	}
	memcpy(c->run, p, len);
	c->run_len = len;
	if (ipc_decode_run(c->run, len, &c->rq) < 0) {
		forget_request(c);
		answer_error(c, EPROTO, "a RUN request that does not follow src/common/proto.h");
		return;
	}
	int ret = plan_check(&c->rq.rq, err, sizeof(err));
	if (ret == 0)
		ret = registry_load(s->p.registry, &reg, err, sizeof(err));
	if (ret < 0) {
		forget_request(c);
		answer_error(c, -ret, err);
		return;
	}
	struct reg_distro *d = registry_find(&reg, c->rq.name);
	if (!d) {
		snprintf(err, sizeof(err), "there is no distribution named %.80s; see lxs --list",
			 c->rq.name);
		registry_free(&reg);
		forget_request(c);
		answer_error(c, ENOENT, err);
		return;
	}
	c->d = *d;
	registry_free(&reg);
	c->phase = CLIENT_WAIT;
	c->saw_vm = false;
	clients_kick(s);
}

static void do_terminate(struct lxsd *s, struct client *c, const uint8_t *p, size_t len)
{
	const char *name;

	if (wire_split(p, len, &name, 1) < 0) {
		answer_error(c, EPROTO, "a TERMINATE request names one distribution");
		return;
	}
	struct running *r = running_find(s, name);
	if (!r) {
		answer(c, LXS_MSG_OK, NULL, 0);
		return;
	}
	/* Answered once it has stopped: --unregister goes on only then. */
	snprintf(c->d.name, sizeof(c->d.name), "%s", r->d.name);
	c->phase = CLIENT_TERMINATE;
	if (r->state == LXS_DISTRO_STARTING)
		clients_fail(s, r->d.name, "the distribution was terminated while it started");
	s->vm_idle_since_ms = now_ms();
	if (distro_stop(s, r) == DISTRO_DOWN)
		clients_distro_down(s, c->d.name);
}

static void do_shutdown(struct lxsd *s, struct client *c, const uint8_t *p, size_t len)
{
	struct lxs_shutdown m;

	if (len != sizeof(m)) {
		answer_error(c, EPROTO, "a SHUTDOWN request carries struct lxs_shutdown");
		return;
	}
	memcpy(&m, p, sizeof(m));
	/* The distros' files go first, so none is asked of a VM on its way out. */
	files_stop(s);
	s->stay = false;
	clients_fail(s, NULL, "lxs --shutdown stopped the VM");
	vm_stop(s, m.force != 0);
	if (s->vm == LXS_VM_STOPPED)
		answer(c, LXS_MSG_OK, NULL, 0);
	else
		c->phase = CLIENT_SHUTDOWN;
}

static void take_message(struct lxsd *s, struct client *c, const struct lxs_msg_hdr *h,
			 const uint8_t *p)
{
	if (c->phase == CLIENT_HELLO) {
		if (wire_hello_ok(h, p) < 0) {
			answer_error(
			    c, EPROTO,
			    "lxsd speaks lxs's frames (src/common/proto.h) of this version "
			    "of lxs, opened by HELLO");
			return;
		}
		wire_queue_hello(&c->w);
		c->phase = CLIENT_REQUEST;
		return;
	}
	if (c->phase != CLIENT_REQUEST) {
		/* One request per connection: a session's connection says nothing more. */
		session_closed(s, c);
		answer_error(c, EPROTO, "one request per connection");
		return;
	}
	switch (h->type) {
	case LXS_MSG_LXSD_PING:
		answer(c, LXS_MSG_OK, NULL, 0);
		break;
	case LXS_MSG_LXSD_HOLD:
		/* lxs-fs: its files are in use; the open connection keeps lxsd (not a distro) up.
		 */
		wire_queue(&c->w, LXS_MSG_OK, 0, NULL, 0, NULL, 0);
		c->phase = CLIENT_SESSION;
		c->slot = -1;
		break;
	case LXS_MSG_LXSD_STATUS:
		do_status(s, c);
		break;
	case LXS_MSG_LXSD_RUN:
		do_run(s, c, p, h->len);
		break;
	case LXS_MSG_LXSD_TERMINATE:
		do_terminate(s, c, p, h->len);
		break;
	case LXS_MSG_LXSD_SHUTDOWN:
		do_shutdown(s, c, p, h->len);
		break;
	default:
		answer_error(c, EPROTO, "unknown request");
		break;
	}
}

void client_io(struct lxsd *s, int i, short revents)
{
	struct client *c = &s->c[i];
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int ret = 0;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ret = wire_read(&c->w);
		while (ret >= 0 && c->phase != CLIENT_DONE &&
		       (ret = wire_next(&c->w, &h, &p)) == 1) {
			take_message(s, c, &h, p);
			wire_consume(&c->w);
		}
		if (ret == -EPROTO && c->phase != CLIENT_DONE) {
			answer_error(c, EPROTO, "not a message lxsd knows (src/common/proto.h)");
			ret = 0;
		}
		/* A client that hangs up ends its session; its answer has nowhere to go. */
		if (ret < 0) {
			drop(s, i);
			return;
		}
	}
	if (wire_flush(&c->w) < 0 || (c->phase == CLIENT_DONE && !wire_tx_pending(&c->w)))
		drop(s, i);
}

void client_accept(struct lxsd *s, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ucred cr;
	socklen_t cl = sizeof(cr);

	if (fd < 0)
		return;
	/* The socket is 0600 already; the peer check also covers a leaked fd. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.uid != getuid() ||
	    s->nclients >= LXSD_MAX_CLIENTS) {
		close(fd);
		return;
	}
	struct client *c = &s->c[s->nclients];
	memset(c, 0, sizeof(*c));
	if (wire_init(&c->w, fd) < 0) {
		close(fd);
		return;
	}
	c->slot = -1;
	s->nclients++;
}
