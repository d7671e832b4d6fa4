/*
 * distros.c - lxs-fs's connection to each distro, and what keeps lxsd up.
 *
 * Version 1: src/p9's server runs in this process on the distro's folder
 * (HFS_OWNERS_VOLFS); a request is a function call (p9_handle), no copy
 * through a socket. Files the host makes belong to the distro's default
 * user, as lxs plans its sessions (plan_session).
 *
 * Version 2: lxsd is asked for a session of the distro (LXSD_RUN: it boots
 * the VM and starts the distro as for `lxs -d NAME`), and the connection
 * it answers on is kept as the distro's hold while its files are in use;
 * the 9P stream goes to lxs-init on LXS_VSOCK_PORT_DISTROFS through lxs-vm's
 * vsock socket, attached as the plan's user. A reader thread hands each
 * reply to the call waiting on its tag (the mux below); anything that is
 * not a reply to an outstanding tag ends the connection. Where lxs-init
 * watches the distro (p9/watch.h), a thread per connection keeps a
 * Tlxswatch outstanding and hands each answer to ops.c.
 *
 * lxsd itself stays up while any distro's files were used within
 * DFS_HOLD_MS or have open handles: lxs-fs then holds an LXSD_HOLD
 * connection, and lets it go (and lxsd may leave, unmounting us) after.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/call.h"
#include "common/clock.h"
#include "common/proto.h"
#include "distrofs.h"
#include "p9/p9.h"
#include "session/session.h"
#include "store/config.h"
#include "store/ipc.h"
#include "store/passwd.h"
#include "store/plan.h"
#include "store/v1.h"

#define MUX_MSIZE (1u << 20)

/* --- the socket transport ------------------------------------------------- */

struct waiter {
	void *resp;
	size_t cap, rlen;
	int err;
	bool done;
};

struct mux {
	int fd;
	pthread_mutex_t wlock; /* one request's bytes at a time */
	pthread_mutex_t lock;  /* slots, dead */
	pthread_cond_t cv;
	struct waiter **slots; /* by tag */
	bool dead;
	pthread_t reader;
};

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n == 0)
			return -ENOTCONN;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

/* The reader's exit: every waiting call fails. Only the reader calls it (it may be in a buffer). */
static void mux_kill(struct mux *m)
{
	pthread_mutex_lock(&m->lock);
	m->dead = true;
	for (unsigned t = 0; t < P9_NOTAG + 1u; t++)
		if (m->slots[t] && !m->slots[t]->done) {
			m->slots[t]->err = -ENOTCONN;
			m->slots[t]->done = true;
		}
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->lock);
}

/*
 * Replies, straight into the buffer of the call that waits for them: the
 * header first, to learn whose it is. A reply larger than that buffer, or
 * for no waiting call, is a broken server.
 */
static void *mux_reader(void *arg)
{
	struct mux *m = arg;
	uint8_t hdr[P9_HDRSZ];

	for (;;) {
		struct waiter *w;
		uint32_t size;

		if (read_full(m->fd, hdr, sizeof(hdr)) < 0)
			break;
		size = p9_get32(hdr);
		pthread_mutex_lock(&m->lock);
		w = m->slots[p9_get16(hdr + 5)];
		pthread_mutex_unlock(&m->lock);
		if (!w || w->done || size < P9_HDRSZ || size > w->cap)
			break;
		memcpy(w->resp, hdr, sizeof(hdr));
		if (read_full(m->fd, (uint8_t *)w->resp + P9_HDRSZ, size - P9_HDRSZ) < 0)
			break;
		pthread_mutex_lock(&m->lock);
		w->rlen = size;
		w->done = true;
		pthread_cond_broadcast(&m->cv);
		pthread_mutex_unlock(&m->lock);
	}
	mux_kill(m);
	return NULL;
}

static int mux_call(void *arg, const void *req, size_t len, void *resp, size_t cap, size_t *rlen)
{
	struct mux *m = arg;
	struct waiter w = {.resp = resp, .cap = cap};
	uint16_t tag = p9_get16((const uint8_t *)req + 5);
	int err = 0;

	pthread_mutex_lock(&m->lock);
	if (m->dead || m->slots[tag]) {
		pthread_mutex_unlock(&m->lock);
		return m->dead ? -ENOTCONN : -EBUSY;
	}
	m->slots[tag] = &w;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_lock(&m->wlock);
	for (size_t put = 0; put < len && !err;) {
		ssize_t n = send(m->fd, (const char *)req + put, len - put, MSG_NOSIGNAL);

		if (n < 0 && errno != EINTR)
			err = -ENOTCONN;
		else if (n > 0)
			put += (size_t)n;
	}
	pthread_mutex_unlock(&m->wlock);
	if (err)
		shutdown(m->fd, SHUT_RDWR); /* the reader sees it and fails every call */
	pthread_mutex_lock(&m->lock);
	while (!w.done)
		pthread_cond_wait(&m->cv, &m->lock);
	m->slots[tag] = NULL;
	pthread_mutex_unlock(&m->lock);
	*rlen = w.rlen;
	return w.err;
}

static struct mux *mux_start(int fd)
{
	struct mux *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->slots = calloc(P9_NOTAG + 1u, sizeof(*m->slots));
	m->fd = fd;
	pthread_mutex_init(&m->wlock, NULL);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cv, NULL);
	if (!m->slots || pthread_create(&m->reader, NULL, mux_reader, m)) {
		free(m->slots);
		free(m);
		return NULL;
	}
	return m;
}

/* After every call has returned: the reader ends with the socket. */
static void mux_stop(struct mux *m)
{
	if (!m)
		return;
	shutdown(m->fd, SHUT_RDWR);
	pthread_join(m->reader, NULL);
	close(m->fd);
	free(m->slots);
	free(m);
}

static int local_call(void *arg, const void *req, size_t len, void *resp, size_t cap, size_t *rlen)
{
	int err = p9_handle(arg, req, len, resp, cap, rlen);

	return err == -EBADMSG ? -EPROTO : err;
}

/* --- the watch ------------------------------------------------------------- */

/* The watch's thread: each Rlxswatch to ops.c, until the connection ends. */
static void *watch_loop(void *arg)
{
	struct dconn *dc = arg;
	size_t cap = p9c_msize(dc->c), len;
	void *buf = malloc(cap);
	uint32_t flags;

	while (buf && p9c_watch(dc->c, buf, cap, &flags, &len) == 0)
		dc->fs->changed(dc->fs, dc, flags, buf, len);
	/*
	 * Nothing tells of changes now: replies get the short timeouts again,
	 * and what the kernel keeps of this connection goes (its distro may
	 * change unseen, or be gone: an open file then fails, not reads what was).
	 */
	atomic_store(&dc->watched, false);
	dc->fs->changed(dc->fs, dc, P9_WATCH_LOST, NULL, 0);
	free(buf);
	return NULL;
}

/*
 * Arm lxs-init's watch of the distro (its first Tlxswatch answers at once)
 * and keep one outstanding from a thread. Without it (an lxs-init that does
 * not watch), the short timeouts stay.
 */
static void watch_start(struct dconn *dc)
{
	size_t cap = p9c_msize(dc->c), len;
	void *buf = malloc(cap);
	uint32_t flags = 0;
	int err = buf ? p9c_watch(dc->c, buf, cap, &flags, &len) : -ENOMEM;

	if (!err && (flags & P9_WATCH_ARMED)) {
		atomic_store(&dc->watched, true);
		dc->watcher_started = pthread_create(&dc->watcher, NULL, watch_loop, dc) == 0;
		if (!dc->watcher_started)
			atomic_store(&dc->watched, false);
	}
	if (!atomic_load(&dc->watched))
		fprintf(stderr,
			"lxs-fs: distro %s: lxs-init does not tell of its changes (%s); its files "
			"are kept %.0f s in the host's cache\n",
			dc->name, err ? strerror(-err) : "not armed", DFS_TIMEOUT_S);
	free(buf);
}

/* --- connecting ------------------------------------------------------------ */

static void no_warning(const char *sentence, void *arg)
{
	(void)sentence;
	(void)arg;
}

/* Version 1: the server on the folder, attached as the default user. */
static int connect_v1(struct dfs *fs, const struct reg_distro *d, struct dconn *dc)
{
	struct hfs_opts o;
	struct plan_request rq = {.version1 = true};
	struct session_plan pl;
	struct wsl_conf wsl;
	char *passwd = NULL, err[256];
	struct p9_qid q;
	int ret;

	(void)fs;
	hfs_opts_default(&o);
	o.owners = HFS_OWNERS_VOLFS;
	v1_wsl_conf(d, &wsl, no_warning, NULL);
	if (v1_read_file(d->image, "/etc/passwd", 16 << 20, &passwd) < 0)
		passwd = NULL;
	ret = plan_session(&rq, d, &wsl, passwd, false, &pl, err, sizeof(err));
	free(passwd);
	if (ret < 0)
		return ret;
	dc->gid = pl.pw.gid;
	ret = p9_server_open(d->image, &o, (struct p9_server **)&dc->srv);
	if (!ret)
		ret = p9_conn_new(dc->srv, &(struct p9_limits){.max_fids = P9C_MAX_FIDS},
				  (struct p9_conn **)&dc->conn);
	if (!ret)
		ret = p9c_new(&(struct p9c_transport){.call = local_call, .arg = dc->conn},
			      P9_DEFAULT_MSIZE, &dc->c);
	if (!ret)
		ret = p9c_fid_new(dc->c, &dc->root_fid);
	if (!ret)
		ret = p9c_attach(dc->c, dc->root_fid, pl.pw.name, "", pl.pw.uid, &q);
	plan_free(&pl);
	return ret;
}

/* A session of d from lxsd (starting it): the held connection and the plan. */
static int ask_session(struct dfs *fs, const char *name, int *lfd, struct call_answer *ans,
		       struct ipc_plan *pl)
{
	struct plan_request rq = {0};
	uint8_t *req = NULL;
	char err[1024];
	long len = ipc_encode_run(name, &rq, &req);
	int ret;

	if (len < 0)
		return (int)len;
	*lfd = lxsd_connect(&fs->p, false, err, sizeof(err));
	if (*lfd < 0) {
		free(req);
		return *lfd;
	}
	ret = call_fd(*lfd, LXS_MSG_LXSD_RUN, req, (size_t)len, NULL, 0, ans, -1);
	free(req);
	if (!ret && ans->type == LXS_MSG_ERROR)
		ret = ans->err ? ans->err : -EIO;
	else if (!ret && (ans->type != LXS_MSG_LXSD_PLAN || ipc_decode_plan(ans->p, ans->len, pl)))
		ret = -EPROTO;
	if (ret) {
		if (ans->type == LXS_MSG_ERROR)
			fprintf(stderr, "lxs-fs: %s: %s\n", name, ans->msg);
		close(*lfd);
		*lfd = -1;
	}
	return ret;
}

/* The 9P stream to lxs-init: through lxs-vm's vsock socket, or beside a test's lxs-init. */
static int open_stream(const struct ipc_plan *pl)
{
	char err[256], path[LXS_PATH_MAX];

	if (pl->port)
		return session_vsock_connect(pl->vsock, LXS_VSOCK_PORT_DISTROFS, err, sizeof(err));
	if (path_fmt(path, sizeof(path), "%s_%u", pl->vsock, LXS_VSOCK_PORT_DISTROFS) < 0)
		return -ENAMETOOLONG;
	return call_connect(path, 30000);
}

static int connect_v2(struct dfs *fs, const struct reg_distro *d, struct dconn *dc)
{
	struct call_answer ans = {0};
	struct ipc_plan pl;
	struct p9_qid q;
	int ret, fd;

	ret = ask_session(fs, d->name, &dc->lxsd_fd, &ans, &pl);
	if (ret)
		goto out;
	fd = open_stream(&pl);
	if (fd < 0) {
		ret = fd;
		goto plan;
	}
	/* call_connect's socket is non-blocking; the mux's reader blocks. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	dc->sock_fd = fd;
	dc->mux = mux_start(fd);
	if (!dc->mux) {
		ret = -ENOMEM;
		goto plan;
	}
	/* The server resolves the user in the distro and makes what we create its; ~0: its group.
	 */
	dc->gid = P9_NONUNAME;
	ret = p9c_new(&(struct p9c_transport){.call = mux_call, .arg = dc->mux}, MUX_MSIZE, &dc->c);
	if (!ret)
		ret = p9c_fid_new(dc->c, &dc->root_fid);
	/* The plan's user as CREATE names it: "" is root and "#N" uid N, a number and no name. */
	uint32_t n_uname = P9_NONUNAME;
	const char *uname = pl.user;
	if (!uname[0] || uname[0] == '#') {
		n_uname = uname[0] ? (uint32_t)strtoul(uname + 1, NULL, 10) : 0;
		uname = "";
	}
	if (!ret)
		ret = p9c_attach(dc->c, dc->root_fid, uname, pl.distro, n_uname, &q);
	if (!ret)
		watch_start(dc);
plan:
	ipc_plan_free(&pl);
out:
	call_answer_free(&ans);
	return ret;
}

/* End dc's watch: its Tlxswatch fails with the stream, and its thread ends. */
static void watch_stop(struct dconn *dc)
{
	if (!dc->watcher_started)
		return;
	shutdown(dc->sock_fd, SHUT_RDWR);
	pthread_join(dc->watcher, NULL);
	dc->watcher_started = false;
}

static void dconn_free(struct dconn *dc)
{
	if (dc->c && !dc->dead)
		p9c_clunk(dc->c, dc->root_fid);
	watch_stop(dc);
	mux_stop(dc->mux); /* before the client: the reader may still hold a reply */
	dc->sock_fd = -1;
	pthread_rwlock_destroy(&dc->gen_lock);
	p9c_free(dc->c);
	p9_conn_free(dc->conn);
	p9_server_free(dc->srv);
	if (dc->lxsd_fd >= 0)
		close(dc->lxsd_fd);
	free(dc);
}

static int find_distro(struct dfs *fs, const char *name, struct reg_distro *out)
{
	struct registry reg;
	struct reg_distro *d;
	char err[256];
	int ret = registry_load(fs->p.registry, &reg, err, sizeof(err));

	if (ret < 0)
		return ret;
	d = registry_find(&reg, name);
	/* The registry finds names case-insensitively (as WSL); a folder's name is exact. */
	if (d && !strcmp(d->name, name))
		*out = *d;
	else
		ret = -ENOENT;
	registry_free(&reg);
	return ret;
}

int dconn_get(struct dfs *fs, const char *name, struct dconn **out)
{
	struct reg_distro d;
	struct dconn *dc;
	int ret;

	if (!reg_name_ok(name))
		return -ENOENT;
	ret = find_distro(fs, name, &d);
	if (ret)
		return ret;
	pthread_mutex_lock(&fs->conn_lock);
	pthread_mutex_lock(&fs->lock);
	for (int i = 0; i < fs->nconns; i++) {
		dc = fs->conns[i];
		if (strcmp(dc->name, name))
			continue;
		if (!dc->dead && !(dc->c && p9c_dead(dc->c)) && dc->version == d.version) {
			dc->refs++;
			pthread_mutex_unlock(&fs->lock);
			pthread_mutex_unlock(&fs->conn_lock);
			dconn_touch(fs, dc);
			*out = dc;
			return 0;
		}
		/*
		 * Gone (or converted): the table lets go of it; its nodes keep
		 * theirs, and every call on it fails (its stream is shut: also
		 * its watch, which would otherwise outlive it).
		 */
		dc->dead = true;
		if (dc->sock_fd >= 0)
			shutdown(dc->sock_fd, SHUT_RDWR);
		fs->conns[i] = fs->conns[--fs->nconns];
		pthread_mutex_unlock(&fs->lock);
		dconn_put(fs, dc);
		pthread_mutex_lock(&fs->lock);
		break;
	}
	pthread_mutex_unlock(&fs->lock);
	dc = calloc(1, sizeof(*dc));
	if (!dc) {
		pthread_mutex_unlock(&fs->conn_lock);
		return -ENOMEM;
	}
	snprintf(dc->name, sizeof(dc->name), "%s", name);
	dc->version = d.version;
	dc->fs = fs;
	dc->lxsd_fd = dc->sock_fd = -1;
	pthread_rwlock_init(&dc->gen_lock, NULL);
	dc->refs = 2; /* the table's and the caller's */
	dc->used_ms = now_ms();
	ret = d.version == 1 ? connect_v1(fs, &d, dc) : connect_v2(fs, &d, dc);
	if (ret) {
		pthread_mutex_unlock(&fs->conn_lock);
		dconn_free(dc);
		return ret == -EPROTO ? -EIO : ret;
	}
	pthread_mutex_lock(&fs->lock);
	struct dconn **grown = realloc(fs->conns, sizeof(*grown) * (size_t)(fs->nconns + 1));
	if (grown) {
		fs->conns = grown;
		fs->conns[fs->nconns++] = dc;
	} else {
		dc->refs--;
	}
	pthread_mutex_unlock(&fs->lock);
	pthread_mutex_unlock(&fs->conn_lock);
	dfs_hold(fs);
	*out = dc;
	return 0;
}

void dconn_put(struct dfs *fs, struct dconn *dc)
{
	bool last;

	pthread_mutex_lock(&fs->lock);
	last = --dc->refs == 0;
	pthread_mutex_unlock(&fs->lock);
	if (last)
		dconn_free(dc);
}

void dconn_ref(struct dfs *fs, struct dconn *dc)
{
	pthread_mutex_lock(&fs->lock);
	dc->refs++;
	pthread_mutex_unlock(&fs->lock);
}

/* A version-2 distro used again after its hold went: hold it again (lxsd answers at once). */
static void rehold(struct dfs *fs, struct dconn *dc)
{
	struct call_answer ans = {0};
	struct ipc_plan pl;
	int fd;

	if (ask_session(fs, dc->name, &fd, &ans, &pl) == 0) {
		ipc_plan_free(&pl);
		pthread_mutex_lock(&fs->lock);
		if (dc->lxsd_fd < 0) {
			dc->lxsd_fd = fd;
			fd = -1;
		}
		pthread_mutex_unlock(&fs->lock);
		if (fd >= 0)
			close(fd);
	}
	call_answer_free(&ans);
}

void dconn_touch(struct dfs *fs, struct dconn *dc)
{
	int64_t now = now_ms();
	bool unheld;

	pthread_mutex_lock(&fs->lock);
	dc->used_ms = now;
	fs->used_ms = now;
	unheld = dc->version == 2 && dc->lxsd_fd < 0 && !dc->dead && !p9c_dead(dc->c);
	pthread_mutex_unlock(&fs->lock);
	if (unheld)
		rehold(fs, dc);
	dfs_hold(fs);
}

int dfs_distro_names(struct dfs *fs, char ***names)
{
	struct registry reg;
	char err[256];
	int ret = registry_load(fs->p.registry, &reg, err, sizeof(err)), n = 0;

	if (ret < 0)
		return ret;
	*names = calloc((size_t)reg.n + 1, sizeof(**names));
	for (int i = 0; *names && i < reg.n; i++)
		if (((*names)[n] = strdup(reg.d[i].name)))
			n++;
	registry_free(&reg);
	return *names ? n : -ENOMEM;
}

/* --- holding lxsd ------------------------------------------------------------ */

void dfs_hold(struct dfs *fs)
{
	char err[256];
	int fd;

	pthread_mutex_lock(&fs->hold_lock);
	if (fs->hold_fd < 0) {
		fd = lxsd_connect(&fs->p, false, err, sizeof(err));
		if (fd >= 0) {
			struct call_answer a;

			if (call_fd(fd, LXS_MSG_LXSD_HOLD, NULL, 0, NULL, 0, &a, 10000) == 0 &&
			    a.type == LXS_MSG_OK)
				fs->hold_fd = fd;
			else
				close(fd);
			call_answer_free(&a);
		}
	}
	pthread_mutex_unlock(&fs->hold_lock);
}

/*
 * Every few seconds: a version-2 distro unused for DFS_HOLD_MS with no open
 * handle lets go of its session (lxsd may then stop it when idle; its 9P
 * stream ends and the next lookup starts it again), and lxsd's own hold
 * goes when nothing was used for as long. A hold lxsd hung up is dropped.
 */
void *dfs_holder(void *arg)
{
	struct dfs *fs = arg;

	while (!fs->stop) {
		int64_t now = now_ms();
		bool busy = false;

		pthread_mutex_lock(&fs->lock);
		for (int i = 0; i < fs->nconns; i++) {
			struct dconn *dc = fs->conns[i];
			struct pollfd pf = {.fd = dc->lxsd_fd, .events = POLLIN};

			if (dc->open_handles || now - dc->used_ms < DFS_HOLD_MS)
				busy = true;
			if (dc->lxsd_fd < 0)
				continue;
			if ((poll(&pf, 1, 0) > 0) ||
			    (!dc->open_handles && now - dc->used_ms >= DFS_HOLD_MS)) {
				close(dc->lxsd_fd);
				dc->lxsd_fd = -1;
			}
		}
		if (now - fs->used_ms < DFS_HOLD_MS)
			busy = true;
		pthread_mutex_unlock(&fs->lock);
		pthread_mutex_lock(&fs->hold_lock);
		if (fs->hold_fd >= 0) {
			struct pollfd pf = {.fd = fs->hold_fd, .events = POLLIN};

			if (!busy || poll(&pf, 1, 0) > 0) {
				close(fs->hold_fd);
				fs->hold_fd = -1;
			}
		}
		pthread_mutex_unlock(&fs->hold_lock);
		for (int i = 0; i < 20 && !fs->stop; i++)
			usleep(100 * 1000); /* a stop is seen within 0.1 s */
	}
	return NULL;
}

void dfs_stop_watches(struct dfs *fs)
{
	for (int i = 0;; i++) {
		struct dconn *dc = NULL;

		/* One at a time, unlocked: a watch's last act (ops.c) takes fs->lock. */
		pthread_mutex_lock(&fs->lock);
		if (i < fs->nconns) {
			dc = fs->conns[i];
			dc->refs++;
		}
		pthread_mutex_unlock(&fs->lock);
		if (!dc)
			break;
		watch_stop(dc);
		dconn_put(fs, dc);
	}
}

void dfs_close_all(struct dfs *fs)
{
	pthread_mutex_lock(&fs->lock);
	while (fs->nconns) {
		struct dconn *dc = fs->conns[--fs->nconns];

		pthread_mutex_unlock(&fs->lock);
		dconn_put(fs, dc);
		pthread_mutex_lock(&fs->lock);
	}
	pthread_mutex_unlock(&fs->lock);
	if (fs->hold_fd >= 0)
		close(fs->hold_fd);
	fs->hold_fd = -1;
}
