/*
 * handles.c - the fh table: the files a session has open for the guest,
 * each an open host descriptor (an hfs_obj). Folders are never opened
 * (ops_io.c, fsrv_op_opendir).
 *
 * An fh is a slot index and the slot's generation, as a nodeid is
 * (nodes.c), so a released or forged fh names nothing. A handle is
 * reference counted under the session's lock (the table holds one
 * reference, each request using it another): a RELEASE racing a READ
 * takes the handle out of the table at once and frees it after the read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fusesrv/internal.h"

#define FIRST_CAP   64
#define CLEAR_BATCH 64

static void destroy(struct fsrv_handle *h)
{
	hfs_obj_put(h->obj);
	free(h);
}

/* A free slot, or 0. Under s->lock. */
static uint32_t slot_alloc(struct fsrv_handles *t)
{
	uint32_t idx;

	if (t->free_head) {
		idx = t->free_head;
		t->free_head = t->slot[idx].next_free;
		return idx;
	}
	if (t->nslots == UINT32_MAX)
		return 0;
	if (t->nslots >= t->cap) {
		uint32_t ncap = !t->cap                   ? FIRST_CAP
				: t->cap > UINT32_MAX / 2 ? UINT32_MAX
							  : t->cap * 2;
		struct fsrv_hslot *ns = realloc(t->slot, (size_t)ncap * sizeof(*ns));

		if (!ns)
			return 0;
		memset(ns + t->cap, 0, (size_t)(ncap - t->cap) * sizeof(*ns));
		t->slot = ns;
		t->cap = ncap;
		if (t->nslots == 0)
			t->nslots = 1; /* fh 0 is never given */
	}
	idx = t->nslots++;
	t->slot[idx].gen = 1;
	return idx;
}

/* Take slot idx's handle out of the table. Under s->lock. */
static struct fsrv_handle *unslot(struct fsrv_handles *t, uint32_t idx)
{
	struct fsrv_hslot *sl = &t->slot[idx];
	struct fsrv_handle *h = sl->h;

	sl->h = NULL;
	t->live--;
	if (sl->gen != UINT32_MAX) { /* else retired, as in nodes.c */
		sl->gen++;
		sl->next_free = t->free_head;
		t->free_head = idx;
	}
	return h;
}

/* The table's reference given up; true if the caller must destroy h. Under s->lock. */
static bool unref(struct fsrv_handle *h)
{
	return --h->refs == 0;
}

int fsrv_handle_new(struct fsrv *s, struct hfs_obj *obj, uint64_t nodeid, int hflags, uint64_t *fh)
{
	struct fsrv_handles *t = &s->handles;
	struct fsrv_handle *h = calloc(1, sizeof(*h));
	uint32_t idx = 0;
	int err = 0;

	if (!h) {
		hfs_obj_put(obj);
		return -ENOMEM;
	}
	h->refs = 1;
	h->obj = obj;
	h->nodeid = nodeid;
	h->hflags = hflags;

	pthread_mutex_lock(&s->lock);
	if (t->live >= s->cfg.max_handles)
		err = -EMFILE;
	else
		err = hfs_charge(s->h, &s->budget, obj);
	if (!err && !(idx = slot_alloc(t)))
		err = -ENOMEM;
	if (!err) {
		t->slot[idx].h = h;
		t->live++;
		*fh = FSRV_ID(idx, t->slot[idx].gen);
	}
	pthread_mutex_unlock(&s->lock);
	if (err)
		destroy(h);
	return err;
}

/* The slot holding fh, or NULL. Under s->lock. */
static struct fsrv_hslot *find(struct fsrv_handles *t, uint64_t fh)
{
	uint32_t i = FSRV_INDEX(fh);

	if (i == 0 || i >= t->nslots || !t->slot[i].h || t->slot[i].gen != FSRV_GEN(fh))
		return NULL;
	return &t->slot[i];
}

struct fsrv_handle *fsrv_handle_get(struct fsrv *s, uint64_t fh)
{
	struct fsrv_hslot *sl;
	struct fsrv_handle *h = NULL;

	pthread_mutex_lock(&s->lock);
	sl = find(&s->handles, fh);
	if (sl) {
		h = sl->h;
		h->refs++;
	}
	pthread_mutex_unlock(&s->lock);
	return h;
}

void fsrv_handle_put(struct fsrv *s, struct fsrv_handle *h)
{
	bool last;

	if (!h)
		return;
	pthread_mutex_lock(&s->lock);
	last = unref(h);
	pthread_mutex_unlock(&s->lock);
	if (last)
		destroy(h);
}

int fsrv_handle_release(struct fsrv *s, uint64_t fh)
{
	struct fsrv_handle *h = NULL;
	struct fsrv_hslot *sl;
	bool last = false;

	pthread_mutex_lock(&s->lock);
	sl = find(&s->handles, fh);
	if (sl) {
		h = unslot(&s->handles, FSRV_INDEX(fh));
		last = unref(h);
	}
	pthread_mutex_unlock(&s->lock);
	if (last)
		destroy(h);
	return h ? 0 : -EBADF;
}

void fsrv_handles_clear(struct fsrv *s)
{
	struct fsrv_handles *t = &s->handles;
	struct fsrv_handle *gone[CLEAR_BATCH];
	uint32_t next = 1;
	unsigned n;

	do {
		n = 0;
		pthread_mutex_lock(&s->lock);
		for (; next < t->nslots && n < CLEAR_BATCH; next++) {
			struct fsrv_handle *h;

			if (!t->slot[next].h)
				continue;
			h = unslot(t, next);
			if (unref(h))
				gone[n++] = h;
		}
		pthread_mutex_unlock(&s->lock);
		for (unsigned i = 0; i < n; i++)
			destroy(gone[i]);
	} while (n == CLEAR_BATCH);
}

void fsrv_handles_free(struct fsrv *s)
{
	fsrv_handles_clear(s);
	free(s->handles.slot);
	memset(&s->handles, 0, sizeof(s->handles));
}
