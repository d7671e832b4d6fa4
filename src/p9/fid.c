/*
 * fid.c - a connection's fid table and what requests read of a connection
 * (its msize): used by both server.c (a connection's end) and ops.c (every
 * operation), so that neither calls the other back.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "p9/internal.h"

uint32_t p9_conn_msize(struct p9_conn *c)
{
	uint32_t m;

	pthread_mutex_lock(&c->lock);
	m = c->msize;
	pthread_mutex_unlock(&c->lock);
	return m;
}

/* Charge what f holds that is not counted yet; all or nothing. Under c->lock. */
static int fid_charge(struct p9_conn *c, struct p9_fid *f)
{
	bool had = !f->obj || f->obj->charged;
	int err = hfs_charge(c->srv->h, &c->budget, f->obj);

	if (!err && f->dir != f->obj) {
		err = hfs_charge(c->srv->h, &c->budget, f->dir);
		if (err && !had)
			hfs_uncharge(f->obj);
	}
	return err;
}

/* --- fids --------------------------------------------------------------- */

static unsigned fid_hash(uint32_t id)
{
	return (id * 2654435761u) >> 22; /* top 10 bits: P9_FIDHASH buckets */
}

struct p9_fid *p9_fid_new(uint32_t id, uint32_t uid)
{
	struct p9_fid *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->id = id;
	f->uid = uid;
	f->refs = 1;
	f->fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void fid_free(struct p9_fid *f)
{
	/* An open fid's descriptor is its obj's own (ops.c, op_lopen). */
	if (f->fd >= 0 && (!f->obj || f->fd != f->obj->fd))
		close(f->fd);
	hfs_obj_put(f->obj);
	hfs_obj_put(f->dir);
	free(f->name);
	free(f->dbuf);
	free(f->xname);
	free(f->xbuf);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

struct p9_fid *p9_fid_get(struct p9_conn *c, uint32_t id)
{
	struct p9_fid *f;

	pthread_mutex_lock(&c->lock);
	for (f = c->fids[fid_hash(id)]; f && f->id != id; f = f->next)
		;
	if (f)
		f->refs++;
	pthread_mutex_unlock(&c->lock);
	return f;
}

void p9_fid_put(struct p9_conn *c, struct p9_fid *f)
{
	int left;

	if (!f)
		return;
	pthread_mutex_lock(&c->lock);
	left = --f->refs;
	pthread_mutex_unlock(&c->lock);
	if (!left)
		fid_free(f);
}

static struct p9_fid **fid_slot(struct p9_conn *c, uint32_t id)
{
	struct p9_fid **pp = &c->fids[fid_hash(id)];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

int p9_fid_add(struct p9_conn *c, struct p9_fid *f)
{
	struct p9_fid **pp;
	int err = 0;

	if (f->id == P9_NOFID)
		return -EBADF;
	pthread_mutex_lock(&c->lock);
	pp = fid_slot(c, f->id);
	if (*pp)
		err = -EEXIST;
	else if (c->nfids >= c->lim.max_fids)
		err = -EMFILE;
	else
		err = fid_charge(c, f);
	if (!err) {
		f->next = NULL;
		*pp = f;
		c->nfids++;
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

int p9_fid_replace(struct p9_conn *c, struct p9_fid *old, struct p9_fid *nf)
{
	struct p9_fid **pp;
	int err = 0;

	pthread_mutex_lock(&c->lock);
	pp = fid_slot(c, old->id);
	if (*pp != old)
		err = -EBADF; /* clunked (and maybe reused) meanwhile */
	else
		err = fid_charge(c, nf);
	if (!err) {
		nf->next = old->next;
		*pp = nf;
		old->refs--; /* the table's reference; the caller still holds one */
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

struct p9_fid *p9_fid_remove(struct p9_conn *c, uint32_t id)
{
	struct p9_fid **pp, *f;

	pthread_mutex_lock(&c->lock);
	pp = fid_slot(c, id);
	f = *pp;
	if (f) {
		*pp = f->next;
		f->next = NULL;
		c->nfids--;
	}
	pthread_mutex_unlock(&c->lock);
	return f;
}

void p9_fids_clear(struct p9_conn *c)
{
	struct p9_fid *dead = NULL, *f;

	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < P9_FIDHASH; i++) {
		while ((f = c->fids[i])) {
			c->fids[i] = f->next;
			if (--f->refs) {
				f->next = NULL; /* a request still uses it: it frees it */
			} else {
				f->next = dead;
				dead = f;
			}
		}
	}
	c->nfids = 0;
	pthread_mutex_unlock(&c->lock);
	while ((f = dead)) {
		dead = f->next;
		fid_free(f);
	}
}
