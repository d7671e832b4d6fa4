/*
 * client.c - the 9P2000.L client of client.h: request encoding with
 * wire.c's writer, a reader that checks every reply field against the end of
 * the message, tags and fids, and one function per request.
 *
 * Every call builds its request and receives its reply in the calling
 * thread's own scratch buffers (two of msize, kept for the thread's life), so
 * a read or write of a whole iounit costs no allocation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "p9/client.h"
#include "p9/p9.h"

#define MAX_FIDS P9C_MAX_FIDS
#define NTAGS    (P9_NOTAG)

struct p9c {
	struct p9c_transport t;
	uint32_t msize;
	pthread_mutex_t lock; /* tags and fids */
	uint8_t tags[NTAGS / 8 + 1];
	uint16_t next_tag;
	uint32_t *free_fids; /* a stack of returned fids */
	uint32_t nfree, next_fid;
	uint8_t fid_used[MAX_FIDS / 8]; /* so that no fid is handed out twice */
	atomic_bool dead;               /* the transport said the server is gone */
};

/* --- per-thread buffers -------------------------------------------------- */

struct scratch {
	uint8_t *req, *resp;
	size_t cap;
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
	struct scratch *s = p;

	free(s->req);
	free(s->resp);
	free(s);
}

static void scratch_init(void)
{
	pthread_key_create(&scratch_key, scratch_free);
}

static struct scratch *scratch_get(size_t cap)
{
	struct scratch *s;

	pthread_once(&scratch_once, scratch_init);
	s = pthread_getspecific(scratch_key);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || pthread_setspecific(scratch_key, s)) {
			free(s);
			return NULL;
		}
	}
	if (s->cap < cap) {
		uint8_t *a = malloc(cap), *b = malloc(cap);

		if (!a || !b) {
			free(a);
			free(b);
			return NULL;
		}
		free(s->req);
		free(s->resp);
		s->req = a;
		s->resp = b;
		s->cap = cap;
	}
	return s;
}

/* --- reading replies ----------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *q;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static uint8_t r8(struct rd *r)
{
	const uint8_t *q = take(r, 1);
	return q ? q[0] : 0;
}

static uint16_t r16(struct rd *r)
{
	const uint8_t *q = take(r, 2);
	return q ? p9_get16(q) : 0;
}

static uint32_t r32(struct rd *r)
{
	const uint8_t *q = take(r, 4);
	return q ? p9_get32(q) : 0;
}

static uint64_t r64(struct rd *r)
{
	const uint8_t *q = take(r, 8);
	return q ? p9_get64(q) : 0;
}

static void rqid(struct rd *r, struct p9_qid *q)
{
	struct p9_qid tmp;

	if (!q)
		q = &tmp;
	q->type = r8(r);
	q->version = r32(r);
	q->path = r64(r);
}

/* A string field: its bytes (not NUL-terminated) and length. */
static const char *rstr(struct rd *r, uint16_t *len)
{
	*len = r16(r);
	return (const char *)take(r, *len);
}

/* --- tags, fids, calls --------------------------------------------------- */

static int tag_get(struct p9c *c, uint16_t *tag)
{
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < NTAGS; i++) {
		uint16_t t = (uint16_t)((c->next_tag + i) % NTAGS);

		if (!(c->tags[t / 8] & (1u << (t % 8)))) {
			c->tags[t / 8] |= (uint8_t)(1u << (t % 8));
			c->next_tag = (uint16_t)((t + 1) % NTAGS);
			*tag = t;
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return -EAGAIN;
}

static void tag_put(struct p9c *c, uint16_t tag)
{
	pthread_mutex_lock(&c->lock);
	c->tags[tag / 8] &= (uint8_t) ~(1u << (tag % 8));
	pthread_mutex_unlock(&c->lock);
}

int p9c_fid_new(struct p9c *c, uint32_t *fid)
{
	int err = 0;

	pthread_mutex_lock(&c->lock);
	if (c->nfree)
		*fid = c->free_fids[--c->nfree];
	else if (c->next_fid < MAX_FIDS)
		*fid = c->next_fid++;
	else
		err = -EMFILE;
	if (!err)
		c->fid_used[*fid / 8] |= (uint8_t)(1u << (*fid % 8));
	pthread_mutex_unlock(&c->lock);
	return err;
}

void p9c_fid_put(struct p9c *c, uint32_t fid)
{
	pthread_mutex_lock(&c->lock);
	/* Only a fid out now, once: a second put would hand it to two users. */
	if (fid < MAX_FIDS && (c->fid_used[fid / 8] & (1u << (fid % 8)))) {
		c->fid_used[fid / 8] &= (uint8_t) ~(1u << (fid % 8));
		c->free_fids[c->nfree++] = fid;
	}
	pthread_mutex_unlock(&c->lock);
}

/* A request being built, and then its reply being read. */
struct call {
	struct scratch *s;
	struct p9_wbuf w;
	struct rd r;
	uint16_t tag;
	uint8_t type;
};

static int call_begin(struct p9c *c, struct call *k, uint8_t type, size_t need)
{
	if (c->dead)
		return -ENOTCONN;
	k->s = scratch_get(c->msize > need ? c->msize : need);
	if (!k->s)
		return -ENOMEM;
	k->type = type;
	p9w_init(&k->w, k->s->req, c->msize, type, 0);
	return 0;
}

/*
 * Send the request and check the reply's frame: 0 with k->r positioned at
 * its body, -errno from an Rlerror, -EPROTO for a reply that does not answer
 * the request, or the transport's error.
 */
static int call_do(struct p9c *c, struct call *k)
{
	size_t len = p9w_finish(&k->w), rlen = 0;
	int err;

	if (!len)
		return -ENAMETOOLONG; /* a name or value that does not fit in msize */
	if (k->type == P9_TVERSION) {
		k->tag = P9_NOTAG; /* the protocol's tag for it; it is never outstanding twice */
	} else {
		err = tag_get(c, &k->tag);
		if (err)
			return err;
	}
	p9_put16(k->s->req + 5, k->tag);
	err = c->t.call(c->t.arg, k->s->req, len, k->s->resp, c->msize, &rlen);
	if (k->tag != P9_NOTAG)
		tag_put(c, k->tag);
	if (err) {
		if (err == -ENOTCONN)
			c->dead = true;
		return err;
	}
	if (rlen < P9_HDRSZ || rlen > c->msize || p9_get32(k->s->resp) != rlen ||
	    p9_get16(k->s->resp + 5) != k->tag)
		return -EPROTO;
	k->r = (struct rd){.p = k->s->resp, .len = rlen, .off = P9_HDRSZ};
	if (k->s->resp[4] == P9_RLERROR) {
		uint32_t e = r32(&k->r);

		if (k->r.bad)
			return -EPROTO;
		/* ENOTCONN is the transport's word for a server gone: not the server's to say. */
		return e == 0 || e > 4095 || e == ENOTCONN ? -EIO : -(int)e;
	}
	if (k->s->resp[4] != k->type + 1)
		return -EPROTO;
	return 0;
}

/* The reply read without running past its end: 0, or -EPROTO. */
static int call_end(const struct call *k)
{
	return k->r.bad ? -EPROTO : 0;
}

static void wstr(struct p9_wbuf *w, const char *s)
{
	p9w_str(w, s, strlen(s));
}

/* --- connection ---------------------------------------------------------- */

int p9c_new(const struct p9c_transport *t, uint32_t msize, struct p9c **out)
{
	struct p9c *c = calloc(1, sizeof(*c));
	struct call k;
	uint16_t vlen;
	const char *v;
	uint32_t agreed;
	int err;

	if (!c)
		return -ENOMEM;
	c->free_fids = calloc(MAX_FIDS, sizeof(*c->free_fids));
	if (!c->free_fids) {
		free(c);
		return -ENOMEM;
	}
	c->t = *t;
	c->msize = msize < P9_MIN_MSIZE   ? P9_MIN_MSIZE
		   : msize > P9_MAX_MSIZE ? P9_MAX_MSIZE
					  : msize;
	pthread_mutex_init(&c->lock, NULL);
	err = call_begin(c, &k, P9_TVERSION, 0);
	if (err)
		goto fail;
	p9w_u32(&k.w, c->msize);
	wstr(&k.w, P9_VERSION_L);
	err = call_do(c, &k);
	if (err)
		goto fail;
	agreed = r32(&k.r);
	v = rstr(&k.r, &vlen);
	err = call_end(&k);
	if (err)
		goto fail;
	if (vlen != strlen(P9_VERSION_L) || memcmp(v, P9_VERSION_L, vlen)) {
		err = -EPROTONOSUPPORT;
		goto fail;
	}
	if (agreed < P9_MIN_MSIZE || agreed > c->msize) {
		err = -EPROTO;
		goto fail;
	}
	c->msize = agreed;
	*out = c;
	return 0;
fail:
	p9c_free(c);
	return err;
}

void p9c_free(struct p9c *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->free_fids);
	free(c);
}

bool p9c_dead(const struct p9c *c)
{
	return atomic_load(&c->dead);
}

uint32_t p9c_msize(const struct p9c *c)
{
	return c->msize;
}

uint32_t p9c_iounit(const struct p9c *c)
{
	return c->msize - P9_TWRITE_HDRSZ; /* the larger header of the two */
}

/* --- requests ------------------------------------------------------------ */

/* Most replies are a qid, or nothing: one helper for those. */
static int finish_qid(struct p9c *c, struct call *k, struct p9_qid *qid)
{
	int err = call_do(c, k);

	if (err)
		return err;
	rqid(&k->r, qid);
	return call_end(k);
}

static int finish_empty(struct p9c *c, struct call *k)
{
	int err = call_do(c, k);

	return err ? err : call_end(k);
}

int p9c_attach(struct p9c *c, uint32_t fid, const char *uname, const char *aname, uint32_t n_uname,
	       struct p9_qid *qid)
{
	struct call k;
	int err = call_begin(c, &k, P9_TATTACH, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u32(&k.w, P9_NOFID);
	wstr(&k.w, uname);
	wstr(&k.w, aname);
	p9w_u32(&k.w, n_uname);
	return finish_qid(c, &k, qid);
}

int p9c_walk(struct p9c *c, uint32_t fid, uint32_t newfid, unsigned n, const char *const *names,
	     struct p9_qid *qids)
{
	struct call k;
	uint16_t nq;
	int err;

	if (n > P9_MAXWELEM)
		return -EINVAL;
	err = call_begin(c, &k, P9_TWALK, 0);
	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u32(&k.w, newfid);
	p9w_u16(&k.w, (uint16_t)n);
	for (unsigned i = 0; i < n; i++)
		wstr(&k.w, names[i]);
	err = call_do(c, &k);
	if (err)
		return err;
	nq = r16(&k.r);
	if (nq > n)
		return -EPROTO;
	for (unsigned i = 0; i < nq; i++)
		rqid(&k.r, qids ? &qids[i] : NULL);
	err = call_end(&k);
	if (err)
		return err;
	/* A walk that stopped early made no newfid (9P's rule): nothing to clunk. */
	return nq < n ? -ENOENT : 0;
}

int p9c_clunk(struct p9c *c, uint32_t fid)
{
	struct call k;
	int err = call_begin(c, &k, P9_TCLUNK, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	return finish_empty(c, &k);
}

int p9c_getattr(struct p9c *c, uint32_t fid, uint64_t mask, struct p9c_attr *a)
{
	struct call k;
	int err = call_begin(c, &k, P9_TGETATTR, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u64(&k.w, mask);
	err = call_do(c, &k);
	if (err)
		return err;
	a->valid = r64(&k.r);
	rqid(&k.r, &a->qid);
	a->mode = r32(&k.r);
	a->uid = r32(&k.r);
	a->gid = r32(&k.r);
	a->nlink = r64(&k.r);
	a->rdev = r64(&k.r);
	a->size = r64(&k.r);
	a->blksize = r64(&k.r);
	a->blocks = r64(&k.r);
	a->atime_sec = r64(&k.r);
	a->atime_nsec = r64(&k.r);
	a->mtime_sec = r64(&k.r);
	a->mtime_nsec = r64(&k.r);
	a->ctime_sec = r64(&k.r);
	a->ctime_nsec = r64(&k.r);
	/* btime, gen, data_version follow; nothing here uses them */
	err = call_end(&k);
	if (err)
		return err;
	if (a->atime_nsec >= 1000000000u || a->mtime_nsec >= 1000000000u ||
	    a->ctime_nsec >= 1000000000u)
		return -EPROTO;
	switch (a->mode & 0170000) {
	case 0100000: /* regular */
	case 0040000: /* directory */
	case 0120000: /* symlink */
	case 0020000: /* character device */
	case 0060000: /* block device */
	case 0010000: /* fifo */
	case 0140000: /* socket */
		return 0;
	}
	return -EPROTO;
}

int p9c_setattr(struct p9c *c, uint32_t fid, const struct p9c_setattr *s)
{
	struct call k;
	int err = call_begin(c, &k, P9_TSETATTR, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u32(&k.w, s->valid);
	p9w_u32(&k.w, s->mode);
	p9w_u32(&k.w, s->uid);
	p9w_u32(&k.w, s->gid);
	p9w_u64(&k.w, s->size);
	p9w_u64(&k.w, s->atime_sec);
	p9w_u64(&k.w, s->atime_nsec);
	p9w_u64(&k.w, s->mtime_sec);
	p9w_u64(&k.w, s->mtime_nsec);
	return finish_empty(c, &k);
}

/* Rlopen and Rlcreate: qid, iounit (the client reads in its own units). */
static int finish_open(struct p9c *c, struct call *k, struct p9_qid *qid)
{
	int err = call_do(c, k);

	if (err)
		return err;
	rqid(&k->r, qid);
	r32(&k->r);
	return call_end(k);
}

int p9c_lopen(struct p9c *c, uint32_t fid, uint32_t flags, struct p9_qid *qid)
{
	struct call k;
	int err = call_begin(c, &k, P9_TLOPEN, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u32(&k.w, flags);
	return finish_open(c, &k, qid);
}

int p9c_lcreate(struct p9c *c, uint32_t fid, const char *name, uint32_t flags, uint32_t mode,
		uint32_t gid, struct p9_qid *qid)
{
	struct call k;
	int err = call_begin(c, &k, P9_TLCREATE, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	wstr(&k.w, name);
	p9w_u32(&k.w, flags);
	p9w_u32(&k.w, mode);
	p9w_u32(&k.w, gid);
	return finish_open(c, &k, qid);
}

/* Tread and Treaddir: count bytes of data, no more than asked, copied to buf. */
static long read_like(struct p9c *c, uint8_t type, uint32_t fid, uint64_t off, void *buf,
		      uint32_t count)
{
	struct call k;
	const uint8_t *data;
	uint32_t got;
	int err;

	if (count > p9c_iounit(c))
		count = p9c_iounit(c);
	err = call_begin(c, &k, type, 0);
	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u64(&k.w, off);
	p9w_u32(&k.w, count);
	err = call_do(c, &k);
	if (err)
		return err;
	got = r32(&k.r);
	if (got > count)
		return -EPROTO;
	data = take(&k.r, got);
	err = call_end(&k);
	if (err)
		return err;
	memcpy(buf, data, got);
	return got;
}

long p9c_read(struct p9c *c, uint32_t fid, uint64_t off, void *buf, uint32_t count)
{
	return read_like(c, P9_TREAD, fid, off, buf, count);
}

long p9c_readdir(struct p9c *c, uint32_t fid, uint64_t off, void *buf, uint32_t count)
{
	return read_like(c, P9_TREADDIR, fid, off, buf, count);
}

long p9c_write(struct p9c *c, uint32_t fid, uint64_t off, const void *buf, uint32_t count)
{
	struct call k;
	void *dst;
	uint32_t n;
	int err;

	if (count > p9c_iounit(c))
		count = p9c_iounit(c);
	err = call_begin(c, &k, P9_TWRITE, 0);
	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u64(&k.w, off);
	p9w_u32(&k.w, count);
	dst = p9w_reserve(&k.w, count);
	if (dst)
		memcpy(dst, buf, count);
	err = call_do(c, &k);
	if (err)
		return err;
	n = r32(&k.r);
	err = call_end(&k);
	if (err)
		return err;
	return n > count ? -EPROTO : (long)n;
}

int p9c_dirent_next(const void *buf, size_t len, size_t *pos, struct p9c_dirent *d)
{
	struct rd r = {.p = buf, .len = len, .off = *pos};
	const char *name;
	uint16_t nlen;

	if (*pos >= len)
		return 0;
	rqid(&r, &d->qid);
	d->offset = r64(&r);
	d->type = r8(&r);
	name = rstr(&r, &nlen);
	if (r.bad || nlen == 0 || nlen >= sizeof(d->name) || memchr(name, '/', nlen) ||
	    memchr(name, '\0', nlen))
		return -EPROTO;
	memcpy(d->name, name, nlen);
	d->name[nlen] = '\0';
	*pos = r.off;
	return 1;
}

int p9c_mkdir(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode, uint32_t gid,
	      struct p9_qid *qid)
{
	struct call k;
	int err = call_begin(c, &k, P9_TMKDIR, 0);

	if (err)
		return err;
	p9w_u32(&k.w, dfid);
	wstr(&k.w, name);
	p9w_u32(&k.w, mode);
	p9w_u32(&k.w, gid);
	return finish_qid(c, &k, qid);
}

int p9c_symlink(struct p9c *c, uint32_t dfid, const char *name, const char *target, uint32_t gid,
		struct p9_qid *qid)
{
	struct call k;
	int err = call_begin(c, &k, P9_TSYMLINK, 0);

	if (err)
		return err;
	p9w_u32(&k.w, dfid);
	wstr(&k.w, name);
	wstr(&k.w, target);
	p9w_u32(&k.w, gid);
	return finish_qid(c, &k, qid);
}

int p9c_mknod(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode, uint32_t major,
	      uint32_t minor, uint32_t gid, struct p9_qid *qid)
{
	struct call k;
	int err = call_begin(c, &k, P9_TMKNOD, 0);

	if (err)
		return err;
	p9w_u32(&k.w, dfid);
	wstr(&k.w, name);
	p9w_u32(&k.w, mode);
	p9w_u32(&k.w, major);
	p9w_u32(&k.w, minor);
	p9w_u32(&k.w, gid);
	return finish_qid(c, &k, qid);
}

int p9c_link(struct p9c *c, uint32_t dfid, uint32_t fid, const char *name)
{
	struct call k;
	int err = call_begin(c, &k, P9_TLINK, 0);

	if (err)
		return err;
	p9w_u32(&k.w, dfid);
	p9w_u32(&k.w, fid);
	wstr(&k.w, name);
	return finish_empty(c, &k);
}

int p9c_unlinkat(struct p9c *c, uint32_t dfid, const char *name, uint32_t flags)
{
	struct call k;
	int err = call_begin(c, &k, P9_TUNLINKAT, 0);

	if (err)
		return err;
	p9w_u32(&k.w, dfid);
	wstr(&k.w, name);
	p9w_u32(&k.w, flags);
	return finish_empty(c, &k);
}

int p9c_renameat(struct p9c *c, uint32_t olddfid, const char *oldname, uint32_t newdfid,
		 const char *newname)
{
	struct call k;
	int err = call_begin(c, &k, P9_TRENAMEAT, 0);

	if (err)
		return err;
	p9w_u32(&k.w, olddfid);
	wstr(&k.w, oldname);
	p9w_u32(&k.w, newdfid);
	wstr(&k.w, newname);
	return finish_empty(c, &k);
}

long p9c_readlink(struct p9c *c, uint32_t fid, char *buf, size_t cap)
{
	struct call k;
	const char *t;
	uint16_t len;
	int err = call_begin(c, &k, P9_TREADLINK, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	err = call_do(c, &k);
	if (err)
		return err;
	t = rstr(&k.r, &len);
	err = call_end(&k);
	if (err)
		return err;
	if (len == 0 || memchr(t, '\0', len))
		return -EPROTO;
	if (len >= cap)
		return -ENAMETOOLONG;
	memcpy(buf, t, len);
	buf[len] = '\0';
	return len;
}

int p9c_statfs(struct p9c *c, uint32_t fid, struct p9c_statfs *s)
{
	struct call k;
	int err = call_begin(c, &k, P9_TSTATFS, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	err = call_do(c, &k);
	if (err)
		return err;
	s->type = r32(&k.r);
	s->bsize = r32(&k.r);
	s->blocks = r64(&k.r);
	s->bfree = r64(&k.r);
	s->bavail = r64(&k.r);
	s->files = r64(&k.r);
	s->ffree = r64(&k.r);
	s->fsid = r64(&k.r);
	s->namelen = r32(&k.r);
	return call_end(&k);
}

int p9c_fsync(struct p9c *c, uint32_t fid, bool datasync)
{
	struct call k;
	int err = call_begin(c, &k, P9_TFSYNC, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u32(&k.w, datasync);
	return finish_empty(c, &k);
}

int p9c_xattrwalk(struct p9c *c, uint32_t fid, uint32_t newfid, const char *name, uint64_t *size)
{
	struct call k;
	int err = call_begin(c, &k, P9_TXATTRWALK, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	p9w_u32(&k.w, newfid);
	wstr(&k.w, name);
	err = call_do(c, &k);
	if (err)
		return err;
	*size = r64(&k.r);
	return call_end(&k);
}

int p9c_xattrcreate(struct p9c *c, uint32_t fid, const char *name, uint64_t size, uint32_t flags)
{
	struct call k;
	int err = call_begin(c, &k, P9_TXATTRCREATE, 0);

	if (err)
		return err;
	p9w_u32(&k.w, fid);
	wstr(&k.w, name);
	p9w_u64(&k.w, size);
	p9w_u32(&k.w, flags);
	return finish_empty(c, &k);
}

/* --- lxs's watch (p9/watch.h) -------------------------------------------- */

int p9c_watch_next(const void *buf, size_t len, size_t *pos, struct p9c_watch_rec *rec)
{
	struct rd r = {.p = buf, .len = len, .off = *pos};
	const char *name;
	uint16_t nlen;

	if (*pos >= len)
		return 0;
	rec->kind = r8(&r);
	rec->ino = r64(&r);
	rec->dir = r64(&r);
	name = rstr(&r, &nlen);
	if (r.bad || nlen > P9_WATCH_NAME_MAX || memchr(name, '/', nlen) ||
	    memchr(name, '\0', nlen))
		return -EPROTO;
	/* A name change names a name, and only it does. */
	if (rec->kind == P9_WATCH_NAME
		? !nlen || (nlen == 1 && name[0] == '.') || (nlen == 2 && !memcmp(name, "..", 2))
		: (rec->kind != P9_WATCH_ATTR && rec->kind != P9_WATCH_DATA) || nlen)
		return -EPROTO;
	memcpy(rec->name, name, nlen);
	rec->name[nlen] = '\0';
	*pos = r.off;
	return 1;
}

int p9c_watch(struct p9c *c, void *buf, size_t cap, uint32_t *flags, size_t *len)
{
	struct p9c_watch_rec rec;
	struct call k;
	const uint8_t *recs;
	size_t n, pos = 0;
	uint16_t count;
	int err = call_begin(c, &k, P9_TLXSWATCH, 0);

	if (err)
		return err;
	err = call_do(c, &k);
	if (err)
		return err;
	*flags = r32(&k.r);
	count = r16(&k.r);
	if (k.r.bad)
		return -EPROTO;
	n = k.r.len - k.r.off;
	recs = take(&k.r, n);
	if (n > cap)
		return -EPROTO;
	/* Every record well-formed, and exactly count of them: then the caller needs no checks. */
	for (unsigned i = 0; i < count; i++)
		if (p9c_watch_next(recs, n, &pos, &rec) != 1)
			return -EPROTO;
	if (pos != n || (*flags & ~(P9_WATCH_ARMED | P9_WATCH_LOST)))
		return -EPROTO;
	memcpy(buf, recs, n);
	*len = n;
	return 0;
}
