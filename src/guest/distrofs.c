/*
 * distrofs.c - the distros' files for the host: 9P2000.L on vsock port
 * LXS_VSOCK_PORT_DISTROFS, served by the project's 9P library (src/p9),
 * compiled into lxs-init. PID 1 forks one child per connection (init.c),
 * which runs distrofs_serve().
 *
 * p9's Tattach serves one root per server, so the child reads requests until
 * the connection's first good Tattach itself (answering Tversion and the
 * like through p9_handle() on a bootstrap server that never gets a fid).
 * That attach's aname names a running distro; the child then makes the
 * server whose root is the distro's own disk, DISTRO_DIR/NAME as mounted in
 * PID 1's namespace, not the container's view: the container's mounts
 * (/proc, /mnt/host, ...) are empty mount-point folders there, so the host
 * never sees its own files, or the VM's, through a distro. It replays the
 * last Tversion to it and serves everything else on it.
 *
 * Tattach's uname is a user of the distro: the host's files belong to that
 * user, so the name is looked up in the distro's /etc/passwd and the
 * request's n_uname (which p9 takes as the creating uid) is rewritten to its
 * uid; a name passwd lacks keeps the host's n_uname, and with none either
 * the attach is refused (EACCES). Its aname is dropped, since p9 would read
 * it as DrvFs options: the server's are fixed here (real owners). The child
 * then becomes that user for good (uid, gid, and the groups the distro's
 * /etc/group lists it in), so the guest kernel checks every access as it
 * would for the user's own programs (WSL's \\wsl$ acts as the default user
 * too); a later attach must be the same user.
 *
 * The host multiplexes tags, so requests are served concurrently: the
 * child's main thread reads, DISTROFS_WORKERS threads call p9_handle() in
 * the order requests came, and each reply is written whole under a lock.
 *
 * The child sits in the distro's distrofs cgroup (distro_fs_join), so that
 * stopping the distro kills it before the disk is unmounted.
 *
 * Tlxswatch, lxs's addition to 9P (p9/watch.h), is the reader's to hand to
 * the distro's watch (distrofs_watch.c), made at the first attach while the
 * child is still root; so are Tflushes of it.
 *
 * Test mode (lxs-init --serve-unix with LXS_INIT_DISTROFS_ROOT, init.c): the
 * root is that folder for any valid distro name, and there is no cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"
#include "p9/p9.h"
#include "p9/watch.h"
#include "p9/wire.h"

#define say(...) say_as("distrofs: ", __VA_ARGS__)

#define DISTROFS_WORKERS 4
/* Files the host may hold at once (lxs-fs's P9C_MAX_FIDS is the same). */
#define DISTROFS_MAX_FIDS (1u << 18)
/* What the reader may hold ahead of the workers: memory, bounded. */
#define DISTROFS_QUEUE_BYTES (8u << 20)
/* The longest /etc/passwd or /etc/group line taken: longer ones are not read. */
#define PASSWD_LINE_MAX 4096
/* Supplementary groups taken from the distro's /etc/group, at most. */
#define DISTROFS_MAX_GROUPS 256

/* One request read and not yet answered. */
struct item {
	struct item *next;
	uint64_t seq; /* the order it came in */
	uint16_t tag;
	uint8_t type;
	size_t len;
	uint8_t msg[];
};

struct dfs {
	const struct init_opts *o;
	int fd;
	struct p9_limits lim;
	/* Before the first good attach: answers Tversion, holds no fid. */
	struct p9_server *boot_srv;
	struct p9_conn *boot;
	struct item *version; /* the last Tversion, replayed on conn */
	/* After it: the distro's. */
	char name[65];
	int root_fd;
	uint32_t uid; /* whom the first attach made the process */
	struct p9_server *srv;
	struct p9_conn *conn;
	struct dwatch *watch; /* what others change there, or NULL: Tlxswatch is refused */

	pthread_mutex_t wlock; /* writes to fd: each reply whole */
	pthread_mutex_t lock;  /* everything below */
	pthread_cond_t cond;
	struct item *head, *tail;
	size_t queued; /* bytes in the queue */
	uint64_t seq;
	bool closing;
	/* What each worker is serving: a Tflush waits for what came before it. */
	struct {
		bool busy;
		uint16_t tag;
		uint64_t seq;
	} taken[DISTROFS_WORKERS];
};

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One reply, whole: the host reads replies of many tags from one stream. */
static int send_reply(struct dfs *d, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int ret = 0;

	pthread_mutex_lock(&d->wlock);
	while (len) {
		ssize_t n = send(d->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EPIPE;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&d->wlock);
	return ret;
}

static int send_error(struct dfs *d, uint16_t tag, int err)
{
	uint8_t buf[P9_LERRORSZ];

	return send_reply(d, buf, p9_lerror(buf, sizeof(buf), tag, (uint32_t)err));
}

/*
 * The next request, framed by its size[4]: -EBADMSG for a size below a
 * header or above c's msize (the connection is then dropped: what follows
 * cannot be framed), -EPIPE at the end, -ENOMEM.
 */
static int read_msg(struct dfs *d, struct p9_conn *c, struct item **out)
{
	uint8_t hdr[4];
	int ret = read_full(d->fd, hdr, 4);

	if (ret < 0)
		return ret;
	/* The msize now, not before the wait: a Tversion may have been served meanwhile. */
	uint32_t size = p9_get32(hdr);
	if (size < P9_HDRSZ || size > p9_conn_msize(c))
		return -EBADMSG;
	struct item *it = malloc(sizeof(*it) + size);
	if (!it)
		return -ENOMEM;
	memcpy(it->msg, hdr, 4);
	if ((ret = read_full(d->fd, it->msg + 4, size - 4)) < 0) {
		free(it);
		return ret;
	}
	it->next = NULL;
	it->len = size;
	it->type = it->msg[4];
	it->tag = p9_get16(it->msg + 5);
	*out = it;
	return 0;
}

/* --- who the host is in the distro ------------------------------------- */

/*
 * The distro's /etc/FILE (passwd, group) for reading, or NULL with errno:
 * one name at a time and no symlinks (the distro's files are not trusted),
 * and a regular file, not a FIFO or device that would block or never end.
 */
static FILE *etc_open(int root_fd, const char *file)
{
	int etc = openat(root_fd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd = etc < 0
		     ? -1
		     : openat(etc, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (etc >= 0)
		close(etc);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "r"))) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	return f;
}

/*
 * The next whole line of f into line[0..PASSWD_LINE_MAX), newline
 * included; false at the end. A line too long for the buffer is skipped
 * whole: its rest must not pass for a line of its own (a GECOS field its
 * user may set).
 */
static bool etc_line(FILE *f, char *line)
{
	while (fgets(line, PASSWD_LINE_MAX, f)) {
		if (strchr(line, '\n') || feof(f))
			return true;
		int c;
		while ((c = getc(f)) != EOF && c != '\n') {
		}
	}
	return false;
}

/* A decimal id that ends at `end` (':' or the end): 0, or -1 (none, or P9_NONUNAME or more). */
static int etc_id(const char *p, char end, char **after, uint32_t *id)
{
	char *e;

	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(p, &e, 10);
	if (errno || *e != end || v >= P9_NONUNAME)
		return -1;
	*id = (uint32_t)v;
	*after = e;
	return 0;
}

/* uid and gid of user name in the passwd file of root: 0, -ENOENT or -errno. */
static int passwd_ids(int root_fd, const char *name, uint32_t *uid, uint32_t *gid)
{
	FILE *f = etc_open(root_fd, "passwd");
	char line[PASSWD_LINE_MAX], *pw, *end;
	size_t nlen = strlen(name);
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (etc_line(f, line)) {
		/* name:password:uid:gid:... */
		if (strncmp(line, name, nlen) || line[nlen] != ':' ||
		    !(pw = strchr(line + nlen + 1, ':')) || etc_id(pw + 1, ':', &end, uid) < 0 ||
		    etc_id(end + 1, ':', &end, gid) < 0)
			continue;
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/*
 * The groups of root's /etc/group that list user name as a member, into
 * gids[0..max): how many (none when the file is missing or unreadable).
 */
static int group_ids(int root_fd, const char *name, gid_t *gids, int max)
{
	FILE *f = etc_open(root_fd, "group");
	char line[PASSWD_LINE_MAX], *p, *end;
	size_t nlen = strlen(name);
	uint32_t gid;
	int n = 0;

	if (!f)
		return 0;
	while (n < max && etc_line(f, line)) {
		/* group:password:gid:member,member,... */
		if (!(p = strchr(line, ':')) || !(p = strchr(p + 1, ':')) ||
		    etc_id(p + 1, ':', &end, &gid) < 0)
			continue;
		for (p = end + 1; *p && *p != '\n';) {
			size_t len = strcspn(p, ",\n");

			if (len == nlen && !strncmp(p, name, nlen)) {
				gids[n++] = (gid_t)gid;
				break;
			}
			p += len + (p[len] == ',');
		}
	}
	fclose(f);
	return n;
}

/*
 * The uid, gid and (when groups is not NULL) supplementary groups a
 * Tattach acts as (see the top): 0 or -EACCES.
 */
static int attach_uid(int root_fd, const struct p9_msg *m, uint32_t *uid, uint32_t *gid,
		      gid_t *groups, int *ngroups)
{
	const struct p9_str *u = &m->u.attach.uname;
	char name[256];

	if (ngroups)
		*ngroups = 0;
	if (u->len && u->len < sizeof(name) && !memchr(u->s, 0, u->len) &&
	    !memchr(u->s, ':', u->len) && !memchr(u->s, '\n', u->len)) {
		memcpy(name, u->s, u->len);
		name[u->len] = 0;
		if (passwd_ids(root_fd, name, uid, gid) == 0) {
			if (groups)
				*ngroups = group_ids(root_fd, name, groups, DISTROFS_MAX_GROUPS);
			return 0;
		}
	}
	if (m->u.attach.n_uname == P9_NONUNAME)
		return -EACCES;
	*uid = *gid = m->u.attach.n_uname; /* a uid passwd does not name: its own group */
	return 0;
}

/* The same Tattach, acting as uid, without its aname (p9 would take it for options). */
static struct item *attach_rewrite(const struct item *it, const struct p9_msg *m, uint32_t uid)
{
	size_t size = P9_HDRSZ + 4 + 4 + 2 + m->u.attach.uname.len + 2 + 4;
	struct item *n = malloc(sizeof(*n) + size);
	struct p9_wbuf w;

	if (!n)
		return NULL;
	*n = *it;
	p9w_init(&w, n->msg, size, P9_TATTACH, m->tag);
	p9w_u32(&w, m->u.attach.fid);
	p9w_u32(&w, m->u.attach.afid);
	p9w_str(&w, m->u.attach.uname.s, m->u.attach.uname.len);
	p9w_str(&w, "", 0);
	p9w_u32(&w, uid);
	n->len = p9w_finish(&w);
	if (!n->len) {
		free(n);
		return NULL;
	}
	return n;
}

/*
 * The root of distro name, opened O_PATH: its disk, mounted, while it runs.
 * In the VM the child first joins the distro's distrofs cgroup, then checks
 * that it runs: a distro_stop either finds it there and kills it, or ran
 * first and the check fails.
 */
static int distro_root(struct dfs *d, const char *name)
{
	char path[128];
	struct stat top, st;
	int fd, ret;

	if (d->o->test_mode) {
		if (!d->o->distrofs_root)
			return -ENOENT;
		fd = open(d->o->distrofs_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if ((ret = distro_fs_join(name)) < 0 || (ret = distro_pid(name)) < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), DISTRO_DIR "/%s", name);
	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	/* Its disk, not the empty folder under it. */
	if (stat(DISTRO_DIR, &top) < 0 || fstat(fd, &st) < 0 || st.st_dev == top.st_dev) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/*
 * The first good Tattach: pick the distro, make its server and connection,
 * replay the Tversion there and serve the attach on it. 1 when the
 * connection is the distro's now, 0 when it was answered with an error (or
 * was left to the bootstrap connection), -errno to drop the connection.
 */
static int first_attach(struct dfs *d, struct item *it, void *resp, size_t cap)
{
	struct hfs_opts opts;
	struct p9_msg m;
	struct item *rw;
	size_t rlen;
	uint32_t uid, gid;
	gid_t groups[DISTROFS_MAX_GROUPS];
	int fd, ret, ngroups = 0;

	/* Malformed, or before Tversion: the library's answer is the right one. */
	if (p9_decode(it->msg, it->len, p9_conn_msize(d->boot), &m) < 0 || !d->version) {
		if ((ret = p9_handle(d->boot, it->msg, it->len, resp, cap, &rlen)) < 0)
			return ret;
		return send_reply(d, resp, rlen);
	}
	const struct p9_str *a = &m.u.attach.aname;
	if (!a->len || a->len >= sizeof(d->name) || memchr(a->s, 0, a->len))
		return send_error(d, it->tag, EINVAL);
	memcpy(d->name, a->s, a->len);
	d->name[a->len] = 0;
	if (!distro_name_ok(d->name))
		return send_error(d, it->tag, EINVAL);
	if ((fd = distro_root(d, d->name)) < 0)
		return send_error(d, it->tag, -fd);
	if ((ret = attach_uid(fd, &m, &uid, &gid, groups, &ngroups)) < 0) {
		close(fd);
		return send_error(d, it->tag, -ret);
	}
	/* From here on the connection is the distro's, or it is dropped. */
	d->root_fd = fd;
	/* fanotify wants root: now, before the child becomes the user. */
	if ((ret = dwatch_open(fd, &d->watch)) < 0 && ret != -EOPNOTSUPP)
		say("distro %s: its changes cannot be watched (%s); the host sees them within a "
		    "second",
		    d->name, strerror(-ret));
	hfs_opts_default(&opts);
	opts.owners = HFS_OWNERS_REAL;
	if ((ret = p9_server_new(fd, &opts, &d->srv)) < 0 ||
	    (ret = p9_conn_new(d->srv, &d->lim, &d->conn)) < 0)
		return ret;
	/*
	 * The host acts as that user from here on, as WSL's \\wsl$ does: the
	 * kernel checks each access, and what is made is the user's. Still one
	 * thread, so every later one inherits it. Its groups: the primary one
	 * and those the distro's /etc/group lists it in, as login gives them.
	 */
	if (!d->o->test_mode && uid != 0 &&
	    (setgroups((size_t)ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
	     setresuid(uid, uid, uid) < 0))
		return -errno;
	d->uid = uid;
	/* Its answer is the one the host already has from the bootstrap connection. */
	if ((ret = p9_handle(d->conn, d->version->msg, d->version->len, resp, cap, &rlen)) < 0)
		return ret;
	if (!(rw = attach_rewrite(it, &m, uid)))
		return -ENOMEM;
	ret = p9_handle(d->conn, rw->msg, rw->len, resp, cap, &rlen);
	free(rw);
	if (ret < 0)
		return ret;
	return (ret = send_reply(d, resp, rlen)) < 0 ? ret : 1;
}

/* An Rversion of 9P2000.L: the connection is versioned. */
static bool version_agreed(const uint8_t *resp, size_t len)
{
	size_t n = strlen(P9_VERSION_L);

	return len == P9_HDRSZ + 4 + 2 + n && resp[4] == P9_RVERSION &&
	       !memcmp(resp + P9_HDRSZ + 6, P9_VERSION_L, n);
}

/* Read and answer requests one at a time until the distro is chosen: 0, or -errno. */
static int bootstrap(struct dfs *d, void *resp, size_t cap)
{
	int ret;

	if ((ret = p9_server_open("/", NULL, &d->boot_srv)) < 0 ||
	    (ret = p9_conn_new(d->boot_srv, &d->lim, &d->boot)) < 0)
		return ret;
	for (;;) {
		struct item *it;
		size_t rlen;

		if ((ret = read_msg(d, d->boot, &it)) < 0)
			return ret;
		if (it->type == P9_TATTACH) {
			ret = first_attach(d, it, resp, cap);
			free(it);
			if (ret != 0)
				return ret < 0 ? ret : 0;
			continue;
		}
		ret = p9_handle(d->boot, it->msg, it->len, resp, cap, &rlen);
		if (ret == 0)
			ret = send_reply(d, resp, rlen);
		/* Only a Tversion that was agreed to is replayed; any other undoes it. */
		if (ret == 0 && it->type == P9_TVERSION) {
			free(d->version);
			d->version = NULL;
			if (version_agreed(resp, rlen)) {
				d->version = it;
				it = NULL;
			}
		}
		free(it);
		if (ret < 0)
			return ret;
	}
}

/*
 * A later Tattach: the same distro (its name as aname), acting as its
 * uname's user. 0 with *itp rewritten, or -errno to answer it with.
 */
static int later_attach(struct dfs *d, struct item **itp)
{
	struct p9_msg m;
	struct item *rw;
	uint32_t uid, gid;
	int ret;

	if (p9_decode((*itp)->msg, (*itp)->len, p9_conn_msize(d->conn), &m) < 0)
		return 0; /* the library answers what is malformed */
	const struct p9_str *a = &m.u.attach.aname;
	if (a->len != strlen(d->name) || memcmp(a->s, d->name, a->len))
		return -EINVAL;
	if ((ret = attach_uid(d->root_fd, &m, &uid, &gid, NULL, NULL)) < 0)
		return ret;
	/* The process is the first attach's user now: no other one on this connection. */
	if (!d->o->test_mode && uid != d->uid)
		return -EACCES;
	if (!(rw = attach_rewrite(*itp, &m, uid)))
		return -ENOMEM;
	free(*itp);
	*itp = rw;
	return 0;
}

static int send_whole(void *arg, const void *buf, size_t len)
{
	return send_reply(arg, buf, len);
}

/*
 * The reader's part of Tlxswatch and of Tflush: 1 when it answered or held
 * the request it (a Tlxswatch) itself, 0 to queue it for the workers, or
 * -errno when the connection must end.
 */
static int watch_request(struct dfs *d, const struct item *it)
{
	if (it->type == P9_TFLUSH && it->len >= P9_HDRSZ + 2 && d->watch)
		dwatch_flush(d->watch, p9_get16(it->msg + P9_HDRSZ));
	if (it->type != P9_TLXSWATCH)
		return 0;
	int ret = d->watch ? dwatch_request(d->watch, it->tag) : -EOPNOTSUPP;
	if (ret < 0)
		ret = send_error(d, it->tag, -ret);
	return ret < 0 ? ret : 1;
}

struct worker_arg {
	struct dfs *d;
	int id;
	pthread_t thread;
};

/* Is a request taken before seq, with tag, still being served by another worker? */
static bool flushed_busy(struct dfs *d, int self, uint16_t tag, uint64_t seq)
{
	for (int i = 0; i < DISTROFS_WORKERS; i++)
		if (i != self && d->taken[i].busy && d->taken[i].tag == tag &&
		    d->taken[i].seq < seq)
			return true;
	return false;
}

static void *worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct dfs *d = wa->d;
	size_t cap = d->lim.max_msize;
	uint8_t *resp = malloc(cap);

	if (!resp)
		shutdown(d->fd, SHUT_RDWR); /* requests it took would go unanswered */
	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->head && !d->closing)
			pthread_cond_wait(&d->cond, &d->lock);
		struct item *it = d->head;
		if (!it)
			break;
		d->head = it->next;
		if (!d->head)
			d->tail = NULL;
		d->queued -= it->len;
		pthread_cond_broadcast(&d->cond); /* room for the reader */
		if (d->closing || !resp) {
			free(it); /* nobody left to answer, or nothing to answer in */
			continue;
		}
		d->taken[wa->id].busy = true;
		d->taken[wa->id].tag = it->tag;
		d->taken[wa->id].seq = it->seq;
		/*
		 * A request taken just before may not be in the library yet, which
		 * would answer this Tflush at once, before that request's reply:
		 * wait for that reply here, then the library answers the flush.
		 */
		if (it->type == P9_TFLUSH && it->len >= P9_HDRSZ + 2) {
			uint16_t old = p9_get16(it->msg + P9_HDRSZ);

			while (old != it->tag && flushed_busy(d, wa->id, old, it->seq))
				pthread_cond_wait(&d->cond, &d->lock);
		}
		pthread_mutex_unlock(&d->lock);

		size_t rlen;
		int ret = p9_handle(d->conn, it->msg, it->len, resp, cap, &rlen);
		if (ret == 0)
			ret = send_reply(d, resp, rlen);
		if (ret < 0)
			shutdown(d->fd, SHUT_RDWR); /* the reader sees the end */
		free(it);

		pthread_mutex_lock(&d->lock);
		d->taken[wa->id].busy = false;
		pthread_cond_broadcast(&d->cond);
	}
	pthread_mutex_unlock(&d->lock);
	free(resp);
	return NULL;
}

/* After the attach: read, queue for the workers, until the connection ends. */
static int serve_distro(struct dfs *d)
{
	struct worker_arg wa[DISTROFS_WORKERS];
	int n = 0, ret;

	for (; n < DISTROFS_WORKERS; n++) {
		wa[n] = (struct worker_arg){.d = d, .id = n};
		if (pthread_create(&wa[n].thread, NULL, worker, &wa[n]) != 0)
			break;
	}
	if (!n)
		return -EAGAIN;
	if (d->watch && dwatch_start(d->watch, p9_conn_msize(d->conn), send_whole, d) < 0) {
		dwatch_free(d->watch); /* Tlxswatch refused: the host refreshes by timeouts */
		d->watch = NULL;
	}
	for (;;) {
		struct item *it;

		pthread_mutex_lock(&d->lock);
		while (d->queued > DISTROFS_QUEUE_BYTES)
			pthread_cond_wait(&d->cond, &d->lock);
		pthread_mutex_unlock(&d->lock);
		if ((ret = read_msg(d, d->conn, &it)) < 0)
			break;
		if ((ret = watch_request(d, it)) != 0) {
			free(it);
			if (ret < 0)
				break;
			continue;
		}
		if (it->type == P9_TATTACH && (ret = later_attach(d, &it)) < 0) {
			ret = send_error(d, it->tag, -ret);
			free(it);
			if (ret < 0)
				break;
			continue;
		}
		pthread_mutex_lock(&d->lock);
		it->seq = d->seq++;
		if (d->tail)
			d->tail->next = it;
		else
			d->head = it;
		d->tail = it;
		d->queued += it->len;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_lock(&d->lock);
	d->closing = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	while (n--)
		pthread_join(wa[n].thread, NULL);
	return ret == -EPIPE ? 0 : ret;
}

int distrofs_serve(const struct init_opts *o, int fd)
{
	struct dfs d = {.o = o, .fd = fd, .root_fd = -1};
	int ret;

	/* No server outlives lxs-init (in test mode, a process like any other). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pthread_mutex_init(&d.wlock, NULL);
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.cond, NULL);
	d.lim.max_msize = P9_DEFAULT_MSIZE;
	/*
	 * The host holds a fid (an O_PATH descriptor here) for every file its
	 * kernel keeps an inode of: a `find` over a distro is tens of thousands.
	 * Root may raise its own limit (before the child becomes the user).
	 */
	d.lim.max_fids = DISTROFS_MAX_FIDS;
	if (!o->test_mode)
		setrlimit(RLIMIT_NOFILE, &(struct rlimit){2 * DISTROFS_MAX_FIDS + 1024,
							  2 * DISTROFS_MAX_FIDS + 1024});
	void *resp = malloc(d.lim.max_msize);
	if (!resp) {
		close(fd);
		return -ENOMEM;
	}
	ret = bootstrap(&d, resp, d.lim.max_msize);
	free(resp);
	free(d.version);
	p9_conn_free(d.boot);
	p9_server_free(d.boot_srv);
	if (ret == 0)
		ret = serve_distro(&d);
	dwatch_free(d.watch); /* before the socket closes: its thread may be replying */
	if (ret == -EBADMSG)
		say("distro %s: a request of impossible size; connection dropped",
		    d.name[0] ? d.name : "(none yet)");
	p9_conn_free(d.conn);
	p9_server_free(d.srv);
	if (d.root_fd >= 0)
		close(d.root_fd);
	close(fd);
	return ret == -EPIPE ? 0 : ret;
}
