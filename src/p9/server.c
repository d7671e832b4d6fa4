/*
 * server.c - servers, connections and the life of a request: framing, the
 * outstanding-request table, Tversion and Tflush. The file system operations
 * themselves are in ops.c, the fid table they share with this file in fid.c.
 *
 * A request holds a slot from the moment its tag is known until its reply
 * has been handed to the transport. A Tflush of an outstanding tag takes a
 * slot too and hangs it on the flushed request's waiter list; whoever
 * finishes that request delivers its reply and then the Rflush, so the order
 * the protocol requires needs no thread to wait.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p9/internal.h"

/* --- servers and connections ------------------------------------------------ */

/* A server over the share h (taken, freed on failure). */
static int server_of(struct hostfs *h, const struct hfs_opts *opts, struct p9_server **out)
{
	struct p9_server *s = calloc(1, sizeof(*s));

	if (!s) {
		hfs_free(h);
		return -ENOMEM;
	}
	s->h = h;
	if (opts)
		s->opts = *opts;
	else
		hfs_opts_default(&s->opts);
	*out = s;
	return 0;
}

int p9_server_new(int root_fd, const struct hfs_opts *opts, struct p9_server **out)
{
	struct hostfs *h;
	int err = hfs_new(root_fd, &h);

	return err ? err : server_of(h, opts, out);
}

int p9_server_open(const char *root_path, const struct hfs_opts *opts, struct p9_server **out)
{
	struct hostfs *h;
	int err = hfs_open(root_path, &h);

	return err ? err : server_of(h, opts, out);
}

void p9_server_free(struct p9_server *s)
{
	if (!s)
		return;
	hfs_free(s->h);
	free(s);
}

int p9_conn_new(struct p9_server *s, const struct p9_limits *lim, struct p9_conn **out)
{
	struct p9_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->srv = s;
	c->opts = s->opts;
	if (lim)
		c->lim = *lim;
	if (!c->lim.max_msize)
		c->lim.max_msize = P9_DEFAULT_MSIZE;
	if (c->lim.max_msize < P9_MIN_MSIZE)
		c->lim.max_msize = P9_MIN_MSIZE;
	if (c->lim.max_msize > P9_MAX_MSIZE)
		c->lim.max_msize = P9_MAX_MSIZE;
	if (!c->lim.max_fids)
		c->lim.max_fids = P9_DEFAULT_FIDS;
	if (!c->lim.max_fds)
		c->lim.max_fds =
		    c->lim.max_fids > UINT32_MAX / 2 ? UINT32_MAX : 2 * c->lim.max_fids;
	if (!c->lim.max_requests)
		c->lim.max_requests = P9_DEFAULT_REQUESTS;
	if (c->lim.max_requests > 65536)
		c->lim.max_requests = 65536; /* there are no more tags than that */
	c->msize = c->lim.max_msize;
	c->nslots = c->lim.max_requests;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	atomic_init(&c->budget.used, 0);
	c->budget.max = c->lim.max_fds;
	*out = c;
	return 0;
}

void p9_conn_free(struct p9_conn *c)
{
	if (!c)
		return;
	p9_fids_clear(c);
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c);
}

/* --- requests ------------------------------------------------------------ */

static int slot_find(struct p9_conn *c, uint16_t tag)
{
	for (uint32_t i = 0; i < c->nslots; i++)
		if (c->slots[i].used && c->slots[i].tag == tag)
			return (int)i;
	return -1;
}

static int slot_alloc(struct p9_conn *c, uint16_t tag, uint8_t type)
{
	for (uint32_t i = 0; i < c->nslots; i++) {
		struct p9_slot *s = &c->slots[i];

		if (s->used)
			continue;
		*s = (struct p9_slot){.used = true, .tag = tag, .type = type};
		s->waiters = s->next_waiter = s->next_todo = -1;
		return (int)i;
	}
	return -1;
}

static size_t rflush(void *buf, size_t cap, uint16_t tag)
{
	struct p9_wbuf w;

	p9w_init(&w, buf, cap, P9_RFLUSH, tag);
	return p9w_finish(&w);
}

/*
 * Deliver slot idx's reply, free the slot, then do the same for every Tflush
 * that waited on it (and every Tflush waiting on those).
 */
static void finish(struct p9_conn *c, int idx)
{
	int todo = idx;

	while (todo >= 0) {
		struct p9_slot *s = &c->slots[todo];
		int next, w;

		/* Fields of a used slot only change under the lock by its owner: us. */
		s->reply(s->arg, s->resp, s->rlen);

		pthread_mutex_lock(&c->lock);
		next = s->next_todo;
		w = s->waiters;
		s->used = false;
		while (w >= 0) {
			struct p9_slot *f = &c->slots[w];

			f->rlen = rflush(f->resp, f->cap, f->tag);
			f->next_todo = next;
			next = w;
			w = f->next_waiter;
		}
		pthread_mutex_unlock(&c->lock);
		todo = next;
	}
}

/*
 * Tflush: hang slot self on the flushed request's waiters, or return false
 * to have it answered now. Called under the lock in the same hold that took
 * self's slot: a flush can then only wait on a slot taken before its own,
 * so no two flushes (nor any longer chain, nor a flush of itself) ever wait
 * on each other, and every chain ends at a request that finishes. Taking the
 * slot and looking for the tag in two holds let two flushes naming each
 * other both wait, answered never and holding their slots for good.
 */
static bool flush_defer(struct p9_conn *c, int self, uint16_t oldtag)
{
	int old = slot_find(c, oldtag);

	if (old < 0 || old == self)
		return false;
	/*
	 * Nothing here is interrupted: the flushed request finishes normally
	 * and the client discards its reply. Waiting for it keeps a tag from
	 * being reused while it is still in use.
	 */
	c->slots[self].next_waiter = c->slots[old].waiters;
	c->slots[old].waiters = self;
	return true;
}

static bool version_ok(const struct p9_str *v)
{
	size_t n = strlen(P9_VERSION_L);

	/* "9P2000.L" or a dotted extension of it, which we answer without. */
	return v->len >= n && !memcmp(v->s, P9_VERSION_L, n) && (v->len == n || v->s[n] == '.');
}

static long do_version(struct p9_conn *c, const struct p9_msg *m, void *resp, size_t cap)
{
	struct p9_wbuf w;
	uint32_t msize = m->u.version.msize;
	bool ok = version_ok(&m->u.version.version);

	if (msize < P9_MIN_MSIZE)
		return -EINVAL;
	/* A new session: whatever the old one held is gone. */
	p9_fids_clear(c);
	pthread_mutex_lock(&c->lock);
	if (msize > c->lim.max_msize)
		msize = c->lim.max_msize;
	c->msize = ok ? msize : c->lim.max_msize;
	c->versioned = ok;
	pthread_mutex_unlock(&c->lock);

	p9w_init(&w, resp, cap, P9_RVERSION, m->tag);
	p9w_u32(&w, msize);
	if (ok)
		p9w_str(&w, P9_VERSION_L, strlen(P9_VERSION_L));
	else
		p9w_str(&w, "unknown", 7);
	return (long)p9w_finish(&w);
}

static int serve(struct p9_conn *c, const void *req, size_t len, void *resp, size_t cap,
		 struct p9_bulk *bulk, p9_reply_fn *reply, void *arg)
{
	struct p9_msg m;
	struct p9_slot *s;
	int idx, derr;
	uint32_t msize;
	bool versioned, deferred = false;
	long r;

	if (!resp || cap < P9_LERRORSZ)
		return -ENOBUFS;
	pthread_mutex_lock(&c->lock);
	msize = c->msize;
	versioned = c->versioned;
	pthread_mutex_unlock(&c->lock);
	if (cap > msize)
		cap = msize;

	derr = p9_decode_split(req, len, bulk ? bulk->len : 0, msize, &m);
	if (derr == -EBADMSG)
		return derr;

	pthread_mutex_lock(&c->lock);
	if (slot_find(c, m.tag) >= 0)
		idx = -2; /* a tag may not be reused while outstanding */
	else
		idx = slot_alloc(c, m.tag, m.type);
	if (idx >= 0) {
		s = &c->slots[idx];
		s->resp = resp;
		s->cap = cap;
		s->reply = reply;
		s->arg = arg;
		if (!derr && versioned && m.type == P9_TFLUSH)
			deferred = flush_defer(c, idx, m.u.flush.oldtag);
	}
	pthread_mutex_unlock(&c->lock);
	if (idx < 0) {
		/* Not tracked, so not flushable: answer at once. */
		reply(arg, resp, p9_lerror(resp, cap, m.tag, idx == -2 ? EBUSY : EAGAIN));
		return 0;
	}

	if (derr) {
		r = derr;
	} else if (m.type == P9_TVERSION) {
		r = do_version(c, &m, resp, cap);
	} else if (!versioned) {
		r = -EPROTO;
	} else if (m.type == P9_TFLUSH) {
		if (deferred)
			return 0; /* finish() of the flushed request answers it */
		r = (long)rflush(resp, cap, m.tag);
	} else {
		r = p9_dispatch(c, &m, resp, cap, bulk);
	}
	if (r <= 0)
		r = (long)p9_lerror(resp, cap, m.tag, r < 0 ? (uint32_t)-r : EIO);
	c->slots[idx].rlen = (size_t)r;
	finish(c, idx);
	return 0;
}

int p9_serve(struct p9_conn *c, const void *req, size_t len, void *resp, size_t cap,
	     p9_reply_fn *reply, void *arg)
{
	return serve(c, req, len, resp, cap, NULL, reply, arg);
}

struct sync_reply {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	size_t len;
};

static void sync_reply_fn(void *arg, void *resp, size_t len)
{
	struct sync_reply *sr = arg;

	(void)resp;
	pthread_mutex_lock(&sr->lock);
	sr->len = len;
	sr->done = true;
	pthread_cond_signal(&sr->cond);
	pthread_mutex_unlock(&sr->lock);
}

int p9_handle(struct p9_conn *c, const void *req, size_t len, void *resp, size_t cap,
	      size_t *resp_len)
{
	return p9_handle_bulk(c, req, len, resp, cap, NULL, resp_len);
}

int p9_handle_bulk(struct p9_conn *c, const void *req, size_t len, void *resp, size_t cap,
		   struct p9_bulk *bulk, size_t *resp_len)
{
	struct sync_reply sr = {.done = false};
	int err;

	pthread_mutex_init(&sr.lock, NULL);
	pthread_cond_init(&sr.cond, NULL);
	if (bulk)
		bulk->got = 0;
	err = serve(c, req, len, resp, cap, bulk, sync_reply_fn, &sr);
	if (!err) {
		pthread_mutex_lock(&sr.lock);
		while (!sr.done)
			pthread_cond_wait(&sr.cond, &sr.lock);
		pthread_mutex_unlock(&sr.lock);
		*resp_len = sr.len;
	}
	pthread_cond_destroy(&sr.cond);
	pthread_mutex_destroy(&sr.lock);
	return err;
}
