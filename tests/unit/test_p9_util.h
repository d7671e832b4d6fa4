/*
 * test_p9_util.h - a pretend 9P client for the p9 tests (and the fuzz
 * target's seeds): builds T-messages by format, drives p9_handle(), reads
 * replies, and keeps a scratch share with canaries beside it.
 *
 * Scratch layout: BASE=/tmp/lxs-p9-XXXXXX holding share/ (what the server
 * exports), outside/canary and canary ("CANARY"). tp_fini() fails if
 * anything outside share/ changed, then removes BASE.
 *
 * Message formats: b u8, w u16, d u32, q u64, s C string, S (int len, const
 * char *) string with explicit length, R (size_t len, const void *) raw bytes.
 */
#ifndef LXS_TEST_P9_UTIL_H
#define LXS_TEST_P9_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9/p9.h"
#include "p9/proto.h"
#include "p9/wire.h"

#define TP_BUF              (1u << 20)
#define TP_MSIZE            (512u << 10)
#define TP_EPROTO_TRANSPORT 100000 /* p9_handle refused the message itself */

static inline size_t p9t_vbuild(uint8_t *buf, size_t cap, uint8_t type, uint16_t tag,
				const char *fmt, va_list ap)
{
	struct p9_wbuf w;

	p9w_init(&w, buf, cap, type, tag);
	for (const char *f = fmt; *f; f++) {
		switch (*f) {
		case 'b':
			p9w_u8(&w, (uint8_t)va_arg(ap, int));
			break;
		case 'w':
			p9w_u16(&w, (uint16_t)va_arg(ap, int));
			break;
		case 'd':
			p9w_u32(&w, va_arg(ap, uint32_t));
			break;
		case 'q':
			p9w_u64(&w, va_arg(ap, uint64_t));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			p9w_str(&w, s, strlen(s));
			break;
		}
		case 'S': {
			int n = va_arg(ap, int);
			const char *s = va_arg(ap, const char *);

			p9w_str(&w, s, (size_t)n);
			break;
		}
		case 'R': {
			size_t n = va_arg(ap, size_t);
			const void *p = va_arg(ap, const void *);
			void *d = p9w_reserve(&w, n);

			if (d && n)
				memcpy(d, p, n);
			break;
		}
		default:
			abort();
		}
	}
	return p9w_finish(&w);
}

static inline size_t p9t_build(uint8_t *buf, size_t cap, uint8_t type, uint16_t tag,
			       const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = p9t_vbuild(buf, cap, type, tag, fmt, ap);
	va_end(ap);
	return n;
}

struct tp;

/* One client thread's buffers and its last reply. */
struct tpc {
	struct tp *t;
	uint8_t *req, *resp;
	size_t rlen, rpos;
	uint16_t tag, tag_lo; /* tags cycle in [tag_lo, tag_lo + 9999] */
};

struct tp {
	char base[64], share[96], outside[96];
	struct p9_server *srv;
	struct p9_conn *c;
	struct tpc cl;
	char path[512];
};

/* slot 0-5: each client thread of a connection needs its own tags. */
static inline int tpc_init(struct tpc *cl, struct tp *t, unsigned slot)
{
	cl->t = t;
	cl->req = malloc(TP_BUF);
	cl->resp = malloc(TP_BUF);
	cl->tag = cl->tag_lo = (uint16_t)(slot * 10000u + 1u);
	return cl->req && cl->resp ? 0 : -ENOMEM;
}

static inline void tpc_fini(struct tpc *cl)
{
	free(cl->req);
	free(cl->resp);
}

/* Send a raw message; returns the reply type, -ecode for Rlerror. */
static inline int tpc_raw(struct tpc *cl, const void *msg, size_t len)
{
	int err = p9_handle(cl->t->c, msg, len, cl->resp, TP_BUF, &cl->rlen);

	cl->rpos = P9_HDRSZ;
	if (err)
		return -TP_EPROTO_TRANSPORT;
	if (cl->rlen < P9_HDRSZ || p9_get32(cl->resp) != cl->rlen)
		abort(); /* the server must never produce a malformed reply */
	if (cl->resp[4] == P9_RLERROR)
		return -(int)p9_get32(cl->resp + P9_HDRSZ);
	return cl->resp[4];
}

static inline uint16_t tpc_tag(struct tpc *cl)
{
	uint16_t tag = cl->tag;

	cl->tag = (uint16_t)(cl->tag_lo + (cl->tag + 1u - cl->tag_lo) % 10000u);
	return tag;
}

static inline int tpc_rpc(struct tpc *cl, uint8_t type, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = p9t_vbuild(cl->req, TP_BUF, type, tpc_tag(cl), fmt, ap);
	va_end(ap);
	if (!n)
		abort();
	return tpc_raw(cl, cl->req, n);
}

/* Readers over the last reply's body; past the end they return 0. */
static inline const uint8_t *tpc_take(struct tpc *cl, size_t n)
{
	const uint8_t *p;

	if (cl->rpos + n > cl->rlen)
		return NULL;
	p = cl->resp + cl->rpos;
	cl->rpos += n;
	return p;
}

static inline uint8_t rd8(struct tpc *cl)
{
	const uint8_t *p = tpc_take(cl, 1);

	return p ? *p : 0;
}

static inline uint16_t rd16(struct tpc *cl)
{
	const uint8_t *p = tpc_take(cl, 2);

	return p ? p9_get16(p) : 0;
}

static inline uint32_t rd32(struct tpc *cl)
{
	const uint8_t *p = tpc_take(cl, 4);

	return p ? p9_get32(p) : 0;
}

static inline uint64_t rd64(struct tpc *cl)
{
	const uint8_t *p = tpc_take(cl, 8);

	return p ? p9_get64(p) : 0;
}

static inline struct p9_qid rdqid(struct tpc *cl)
{
	struct p9_qid q;

	q.type = rd8(cl);
	q.version = rd32(cl);
	q.path = rd64(cl);
	return q;
}

/* A string from the reply into out (NUL-terminated); returns its length. */
static inline int rdstr(struct tpc *cl, char *out, size_t size)
{
	uint16_t n = rd16(cl);
	const uint8_t *p = tpc_take(cl, n);

	if (!p || n >= size)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

/* --- scratch share -------------------------------------------------------- */

static inline int tp_put_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, content, strlen(content));
	close(fd);
	return n == (ssize_t)strlen(content) ? 0 : -EIO;
}

/* Whole small file into buf (NUL-terminated); -errno if unreadable. */
static inline int tp_get_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return (int)n;
}

/* Host path of something in the share (one buffer: copy it to use two). */
static inline const char *tp_path(struct tp *t, const char *rel)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->share, rel);
	return t->path;
}

static inline int tp_version_attach(struct tpc *cl, uint32_t msize)
{
	int r = tpc_rpc(cl, P9_TVERSION, "ds", msize, P9_VERSION_L);

	if (r != P9_RVERSION)
		return r < 0 ? r : -EPROTO;
	r = tpc_rpc(cl, P9_TATTACH, "ddssd", 0u, P9_NOFID, "root", "", 0u);
	return r == P9_RATTACH ? 0 : (r < 0 ? r : -EPROTO);
}

static inline int tp_init_lim(struct tp *t, const struct hfs_opts *o,
			      const struct p9_limits *lim)
{
	char p[160];
	int err;

	memset(t, 0, sizeof(*t));
	snprintf(t->base, sizeof(t->base), "/tmp/lxs-p9-XXXXXX");
	if (!mkdtemp(t->base))
		return -errno;
	snprintf(t->share, sizeof(t->share), "%s/share", t->base);
	snprintf(t->outside, sizeof(t->outside), "%s/outside", t->base);
	if (mkdir(t->share, 0755) < 0 || mkdir(t->outside, 0755) < 0)
		return -errno;
	snprintf(p, sizeof(p), "%s/canary", t->outside);
	if ((err = tp_put_file(p, "CANARY")))
		return err;
	snprintf(p, sizeof(p), "%s/canary", t->base);
	if ((err = tp_put_file(p, "CANARY")))
		return err;
	if ((err = p9_server_open(t->share, o, &t->srv)))
		return err;
	if ((err = p9_conn_new(t->srv, lim, &t->c)))
		return err;
	if ((err = tpc_init(&t->cl, t, 0)))
		return err;
	return tp_version_attach(&t->cl, TP_MSIZE);
}

static inline int tp_init(struct tp *t, const struct hfs_opts *o)
{
	return tp_init_lim(t, o, NULL);
}

static inline int tp_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Exactly `want` entries (besides . and ..) in dir, each in names[]. */
static inline int tp_dir_is(const char *dir, const char *const *names, int want)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0, bad = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		int ok = 0;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		for (int i = 0; i < want; i++)
			ok |= !strcmp(e->d_name, names[i]);
		bad |= !ok;
		n++;
	}
	closedir(d);
	return !bad && n == want ? 0 : -1;
}

/*
 * Tear down; returns 0 if nothing outside the share was touched: both
 * canaries still read CANARY, and BASE and outside/ hold what they held.
 */
static inline int tp_fini(struct tp *t)
{
	static const char *const base_names[] = {"share", "outside", "canary"};
	static const char *const out_names[] = {"canary"};
	char p[160], buf[64];
	int bad = 0;

	if (t->c)
		p9_conn_free(t->c);
	if (t->srv)
		p9_server_free(t->srv);
	tpc_fini(&t->cl);
	snprintf(p, sizeof(p), "%s/canary", t->outside);
	bad |= tp_get_file(p, buf, sizeof(buf)) < 0 || strcmp(buf, "CANARY");
	snprintf(p, sizeof(p), "%s/canary", t->base);
	bad |= tp_get_file(p, buf, sizeof(buf)) < 0 || strcmp(buf, "CANARY");
	bad |= tp_dir_is(t->base, base_names, 3) != 0;
	bad |= tp_dir_is(t->outside, out_names, 1) != 0;
	if (t->base[0])
		nftw(t->base, tp_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return bad ? -1 : 0;
}

/* --- common requests -------------------------------------------------------- */

/* Walk path ("a/b/c", "" for a clone); returns the number of qids or -errno. */
static inline int tp_walk(struct tpc *cl, uint32_t fid, uint32_t newfid, const char *path)
{
	struct p9_wbuf w;
	char copy[512], *save = NULL, *tok;
	uint16_t n = 0;
	uint8_t *nw;
	size_t len;
	int r;

	snprintf(copy, sizeof(copy), "%s", path);
	p9w_init(&w, cl->req, TP_BUF, P9_TWALK, tpc_tag(cl));
	p9w_u32(&w, fid);
	p9w_u32(&w, newfid);
	nw = p9w_reserve(&w, 2);
	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save), n++)
		p9w_str(&w, tok, strlen(tok));
	p9_put16(nw, n);
	len = p9w_finish(&w);
	r = tpc_raw(cl, cl->req, len);
	if (r < 0)
		return r;
	return r == P9_RWALK ? rd16(cl) : -EPROTO;
}

static inline int tp_ok(int r, int want)
{
	return r == want ? 0 : (r < 0 ? r : -EPROTO);
}

static inline int tp_clunk(struct tpc *cl, uint32_t fid)
{
	return tp_ok(tpc_rpc(cl, P9_TCLUNK, "d", fid), P9_RCLUNK);
}

static inline int tp_lopen(struct tpc *cl, uint32_t fid, uint32_t flags)
{
	return tp_ok(tpc_rpc(cl, P9_TLOPEN, "dd", fid, flags), P9_RLOPEN);
}

/* Returns bytes read into buf or -errno. */
static inline int tp_read(struct tpc *cl, uint32_t fid, uint64_t off, uint32_t count, void *buf)
{
	int r = tpc_rpc(cl, P9_TREAD, "dqd", fid, off, count);
	uint32_t n;
	const uint8_t *p;

	if (r != P9_RREAD)
		return r < 0 ? r : -EPROTO;
	n = rd32(cl);
	p = tpc_take(cl, n);
	if (!p)
		return -EPROTO;
	if (buf)
		memcpy(buf, p, n);
	return (int)n;
}

static inline int tp_write(struct tpc *cl, uint32_t fid, uint64_t off, const void *data, uint32_t n)
{
	int r = tpc_rpc(cl, P9_TWRITE, "dqdR", fid, off, n, (size_t)n, data);

	if (r != P9_RWRITE)
		return r < 0 ? r : -EPROTO;
	return (int)rd32(cl);
}

struct tp_attr {
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size;
	uint64_t atime, mtime;
};

static inline int tp_getattr(struct tpc *cl, uint32_t fid, struct tp_attr *a)
{
	int r = tpc_rpc(cl, P9_TGETATTR, "dq", fid, P9_GETATTR_ALL);

	if (r != P9_RGETATTR)
		return r < 0 ? r : -EPROTO;
	rd64(cl);
	a->qid = rdqid(cl);
	a->mode = rd32(cl);
	a->uid = rd32(cl);
	a->gid = rd32(cl);
	a->nlink = rd64(cl);
	a->rdev = rd64(cl);
	a->size = rd64(cl);
	rd64(cl);
	rd64(cl);
	a->atime = rd64(cl);
	rd64(cl);
	a->mtime = rd64(cl);
	return 0;
}

static inline int tp_lcreate(struct tpc *cl, uint32_t fid, const char *name, uint32_t flags,
			     uint32_t mode)
{
	return tp_ok(tpc_rpc(cl, P9_TLCREATE, "dsddd", fid, name, flags, mode, 0u), P9_RLCREATE);
}

static inline int tp_mkdir(struct tpc *cl, uint32_t dfid, const char *name, uint32_t mode)
{
	return tp_ok(tpc_rpc(cl, P9_TMKDIR, "dsdd", dfid, name, mode, 0u), P9_RMKDIR);
}

#endif
