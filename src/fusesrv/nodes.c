/*
 * nodes.c - the node table: the nodeids a session has given the guest,
 * each one host inode (an hfs_obj) with the kernel's lookup count.
 *
 * A nodeid is a slot index and the slot's generation (internal.h), so a
 * nodeid the kernel still holds after its node was forgotten, or one it
 * made up, names no node rather than whichever inode took the slot next;
 * a slot whose generation would wrap is retired instead of reused. The
 * root is slot 1, generation 0: FUSE_ROOT_ID itself, never forgotten.
 * One inode is one node (a hash of (dev, ino)), so hard links share their
 * attributes and page cache in the guest as they do on the host, and the
 * kernel's lookups of any of its names add up to one count.
 *
 * (dev, ino) alone is not enough: a node's O_PATH descriptor keeps its
 * inode (and so its number) only on file systems that pin inodes. On 9P,
 * NFS or FUSE mounts inside the share a file deleted on their server
 * frees its number for the next file made there, and a lookup of that new
 * file must not return the old node (another type, other data). So a node
 * matches only a file of its type born at the same time (statx's btime),
 * or, where the file system keeps no birth time, with the same ctime; a
 * node that does not match leaves the hash (the guest may still hold it)
 * and the file gets a node of its own. On a file system without btime a
 * file changed since its node was made thus gets a new node at its next
 * lookup (changes the guest made itself are noted, so they do not): the
 * guest then drops that inode's cache, which it does for a changed file
 * anyway.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "fusesrv/internal.h"

#define FIRST_CAP 64
/* Nodes given back per trip through the lock when a session is cleared. */
#define CLEAR_BATCH 64

static uint32_t hash_of(const struct fsrv_nodes *t, dev_t dev, ino_t ino)
{
	uint64_t k = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;

	return (uint32_t)(k >> 32) & (t->nbuckets - 1);
}

int fsrv_nodes_init(struct fsrv *s)
{
	struct fsrv_nodes *t = &s->nodes;
	struct fsrv_node *root;
	uint32_t b;

	memset(t, 0, sizeof(*t));
	/* About one bucket per node the guest may hold, within reason. */
	for (t->nbuckets = 1024; t->nbuckets < s->cfg.max_nodes && t->nbuckets < (1u << 20);)
		t->nbuckets <<= 1;
	t->bucket = calloc(t->nbuckets, sizeof(*t->bucket));
	t->slot = calloc(FIRST_CAP, sizeof(*t->slot));
	if (!t->bucket || !t->slot) {
		free(t->bucket);
		free(t->slot);
		return -ENOMEM;
	}
	t->cap = FIRST_CAP;
	t->nslots = FUSE_ROOT_ID + 1;
	root = &t->slot[FUSE_ROOT_ID];
	root->obj = hfs_obj_get(s->h->root); /* matched by its slot (same_file), never by times */
	root->nlookup = 1;
	root->gen = 0;
	b = hash_of(t, root->obj->dev, root->obj->ino);
	t->bucket[b] = FUSE_ROOT_ID;
	return 0;
}

struct fsrv_node *fsrv_node_find(struct fsrv *s, uint64_t nodeid)
{
	struct fsrv_nodes *t = &s->nodes;
	uint32_t i = FSRV_INDEX(nodeid);

	if (i == 0 || i >= t->nslots || !t->slot[i].obj || t->slot[i].gen != FSRV_GEN(nodeid))
		return NULL;
	return &t->slot[i];
}

static uint32_t find_inode(const struct fsrv_nodes *t, dev_t dev, ino_t ino)
{
	uint32_t i = t->bucket[hash_of(t, dev, ino)];

	while (i && (t->slot[i].obj->dev != dev || t->slot[i].obj->ino != ino))
		i = t->slot[i].next;
	return i;
}

uint64_t fsrv_node_by_inode(struct fsrv *s, dev_t dev, ino_t ino)
{
	uint32_t i = find_inode(&s->nodes, dev, ino);

	return i ? FSRV_ID(i, s->nodes.slot[i].gen) : 0;
}

static bool ts_equal(const struct statx_timestamp *a, const struct statx_timestamp *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Is node idx the file o (statx st), not only one with its (dev, ino)? */
static bool same_file(const struct fsrv_nodes *t, uint32_t idx, const struct hfs_obj *o,
		      const struct statx *st)
{
	const struct fsrv_node *n = &t->slot[idx];
	bool born = (st->stx_mask & STATX_BTIME) != 0;

	/* The share's root, held open since the share began; or the node's own obj (LINK). */
	if (idx == FUSE_ROOT_ID || n->obj == o)
		return true;
	if (n->obj->type != o->type)
		return false;
	if (n->has_born && born)
		return ts_equal(&n->born, &st->stx_btime);
	return !n->has_born && !born && ts_equal(&n->changed, &st->stx_ctime);
}

static void unhash(struct fsrv_nodes *t, uint32_t idx)
{
	struct fsrv_node *n = &t->slot[idx];
	uint32_t *p = &t->bucket[hash_of(t, n->obj->dev, n->obj->ino)];

	while (*p && *p != idx)
		p = &t->slot[*p].next;
	if (*p)
		*p = n->next;
}

/* --- inotify watch -> node index (watch.c adds them), open addressing ------- */

static uint32_t *map_slot(struct fsrv_nodes *w, int wd)
{
	uint32_t mask = w->mapcap - 1, i = ((uint32_t)wd * 0x9e3779b1u) & mask;

	while (w->map[2 * i] && (int)w->map[2 * i] != wd)
		i = (i + 1) & mask;
	return &w->map[2 * i];
}

static int map_grow(struct fsrv_nodes *w)
{
	uint32_t oldcap = w->mapcap, *old = w->map;
	uint32_t cap = oldcap ? oldcap * 2 : 256;

	w->map = calloc(cap, 2 * sizeof(*w->map));
	if (!w->map) {
		w->map = old;
		return -ENOMEM;
	}
	w->mapcap = cap;
	w->mapused = 0;
	for (uint32_t i = 0; i < oldcap; i++)
		if (old[2 * i] && old[2 * i + 1]) {
			uint32_t *p = map_slot(w, (int)old[2 * i]);

			p[0] = old[2 * i];
			p[1] = old[2 * i + 1];
			w->mapused++;
		}
	free(old);
	return 0;
}

/* The node index of wd, 0 if none. */
static uint32_t map_get(struct fsrv_nodes *w, int wd)
{
	if (!w->mapcap)
		return 0;
	return map_slot(w, wd)[1];
}

/*
 * Removed entries keep their key with index 0 (a tombstone the probe walks
 * over), so a probe never stops early; map_grow drops them.
 */
static int map_set(struct fsrv_nodes *w, int wd, uint32_t idx)
{
	uint32_t *p;

	if ((w->mapused + 1) * 2 > w->mapcap) {
		int err = map_grow(w);

		if (err)
			return err;
	}
	p = map_slot(w, wd);
	if (!p[0])
		w->mapused++;
	p[0] = (uint32_t)wd;
	p[1] = idx;
	return 0;
}

int fsrv_node_set_watch(struct fsrv *s, uint64_t nodeid, const struct hfs_obj *o, int wd)
{
	struct fsrv_nodes *t = &s->nodes;
	struct fsrv_node *n;
	int kept = -1;

	pthread_mutex_lock(&s->lock);
	n = fsrv_node_find(s, nodeid);
	if (n && n->wd == wd) {
		kept = 0; /* another lookup of the same folder got there first */
	} else if (n && n->obj == o && !n->wd && map_set(t, wd, FSRV_INDEX(nodeid)) == 0) {
		n->wd = wd;
		t->nwatches++;
		kept = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return kept;
}

/* Under s->lock: node idx has no watch any more; the watch, if this node held it, or 0. */
static int unmap_watch(struct fsrv *s, uint32_t idx)
{
	struct fsrv_node *n = &s->nodes.slot[idx];
	int wd = n->wd;

	n->wd = 0;
	n->covered = false;
	if (!wd)
		return 0;
	s->nodes.nwatches--;
	if (map_get(&s->nodes, wd) != idx)
		return 0; /* the inode's watch now serves a newer node */
	map_slot(&s->nodes, wd)[1] = 0;
	return wd;
}

uint32_t fsrv_node_by_wd(struct fsrv *s, int wd)
{
	uint32_t idx = map_get(&s->nodes, wd);

	return idx && s->nodes.slot[idx].obj && s->nodes.slot[idx].wd == wd ? idx : 0;
}

void fsrv_node_unwatch(struct fsrv *s, int wd)
{
	uint32_t idx = fsrv_node_by_wd(s, wd);

	if (idx)
		unmap_watch(s, idx);
}

/* After the unlock: the watch a dropped node held. */
static void rm_watch(struct fsrv *s, int wd)
{
	if (wd > 0 && s->watch.fd >= 0)
		inotify_rm_watch(s->watch.fd, wd);
}

/*
 * Take node idx out of the table; its obj is the caller's to put, and *wd
 * its watch to remove (rm_watch), both after the unlock.
 */
static struct hfs_obj *drop(struct fsrv *s, uint32_t idx, int *wd)
{
	struct fsrv_nodes *t = &s->nodes;
	struct fsrv_node *n = &t->slot[idx];
	struct hfs_obj *o = n->obj;

	*wd = unmap_watch(s, idx);
	unhash(t, idx);
	n->obj = NULL;
	n->nlookup = 0;
	memset(&n->seen, 0, sizeof(n->seen));
	t->live--;
	if (n->gen == UINT32_MAX)
		return o; /* retired: its every nodeid has been given out */
	n->gen++;
	n->next = t->free_head;
	t->free_head = idx;
	return o;
}

/* A free slot (generation already set), or 0. Under s->lock. */
static uint32_t slot_alloc(struct fsrv *s)
{
	struct fsrv_nodes *t = &s->nodes;
	uint32_t idx;

	if (t->free_head) {
		idx = t->free_head;
		t->free_head = t->slot[idx].next;
		return idx;
	}
	if (t->nslots == UINT32_MAX)
		return 0;
	if (t->nslots == t->cap) {
		uint32_t ncap = t->cap > UINT32_MAX / 2 ? UINT32_MAX : t->cap * 2;
		struct fsrv_node *ns = realloc(t->slot, (size_t)ncap * sizeof(*ns));

		if (!ns)
			return 0;
		memset(ns + t->cap, 0, (size_t)(ncap - t->cap) * sizeof(*ns));
		t->slot = ns;
		t->cap = ncap;
	}
	idx = t->nslots++;
	t->slot[idx].gen = 1; /* generation 0 is the root's alone */
	return idx;
}

int fsrv_node_obj(struct fsrv *s, uint64_t nodeid, struct hfs_obj **obj)
{
	struct fsrv_node *n;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	n = fsrv_node_find(s, nodeid);
	if (n)
		*obj = hfs_obj_get(n->obj);
	else
		err = -ENOENT;
	pthread_mutex_unlock(&s->lock);
	return err;
}

int fsrv_node_enter(struct fsrv *s, struct hfs_obj *o, const struct statx *st, uint64_t *nodeid)
{
	struct fsrv_nodes *t = &s->nodes;
	struct fsrv_node *n;
	uint32_t idx, b;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	idx = find_inode(t, o->dev, o->ino);
	if (idx && !same_file(t, idx, o, st)) {
		/* Another file with a reused number: the old node leaves the hash. */
		unhash(t, idx);
		t->slot[idx].next = 0;
		idx = 0;
	}
	if (idx) {
		n = &t->slot[idx];
		n->nlookup++;
		n->changed = st->stx_ctime; /* the same file, as it is now */
		*nodeid = FSRV_ID(idx, n->gen);
		pthread_mutex_unlock(&s->lock);
		hfs_obj_put(o); /* the node's own descriptor serves */
		return 0;
	}
	/*
	 * The kernel gives nodes back only when it drops their inodes, so a
	 * guest walking a huge tree could hold any number: past the limit a
	 * lookup fails as if the host were out of inodes to open.
	 */
	if (t->live >= s->cfg.max_nodes)
		err = -ENFILE;
	else
		err = hfs_charge(s->h, &s->budget, o);
	if (!err && !(idx = slot_alloc(s)))
		err = -ENOMEM;
	if (!err) {
		n = &t->slot[idx];
		n->obj = o;
		n->nlookup = 1;
		memset(&n->seen, 0, sizeof(n->seen));
		n->has_born = (st->stx_mask & STATX_BTIME) != 0;
		n->born = st->stx_btime;
		n->changed = st->stx_ctime;
		b = hash_of(t, o->dev, o->ino);
		n->next = t->bucket[b];
		t->bucket[b] = idx;
		t->live++;
		*nodeid = FSRV_ID(idx, n->gen);
	}
	pthread_mutex_unlock(&s->lock);
	if (err)
		hfs_obj_put(o);
	return err;
}

void fsrv_node_forget(struct fsrv *s, uint64_t nodeid, uint64_t count)
{
	struct hfs_obj *gone = NULL;
	struct fsrv_node *n;
	int wd = 0;

	pthread_mutex_lock(&s->lock);
	n = fsrv_node_find(s, nodeid);
	/* The root stays whatever the guest says: it is the mount itself. */
	if (n && FSRV_INDEX(nodeid) != FUSE_ROOT_ID) {
		if (count >= n->nlookup)
			gone = drop(s, FSRV_INDEX(nodeid), &wd);
		else
			n->nlookup -= count;
	}
	pthread_mutex_unlock(&s->lock);
	rm_watch(s, wd);
	hfs_obj_put(gone);
}

bool fsrv_node_seen(struct fsrv *s, uint64_t nodeid, const struct statx *st)
{
	struct fsrv_node *n;
	bool same = false;

	pthread_mutex_lock(&s->lock);
	n = fsrv_node_find(s, nodeid);
	if (n) {
		struct fsrv_seen *v = &n->seen;
		bool dir = S_ISDIR(n->obj->type);

		same = v->valid && (dir || v->size == st->stx_size) &&
		       v->mtime.tv_sec == st->stx_mtime.tv_sec &&
		       v->mtime.tv_nsec == st->stx_mtime.tv_nsec &&
		       v->ctime.tv_sec == st->stx_ctime.tv_sec &&
		       v->ctime.tv_nsec == st->stx_ctime.tv_nsec;
		v->valid = true;
		v->size = st->stx_size;
		v->mtime = st->stx_mtime;
		v->ctime = st->stx_ctime;
		n->changed = st->stx_ctime; /* stat'ed through the node's own descriptor */
	}
	pthread_mutex_unlock(&s->lock);
	return same;
}

void fsrv_nodes_clear(struct fsrv *s)
{
	struct fsrv_nodes *t = &s->nodes;
	struct hfs_obj *gone[CLEAR_BATCH];
	int wd[CLEAR_BATCH];
	uint32_t next = FUSE_ROOT_ID + 1;
	unsigned n;

	/* In batches, so that no descriptor is closed under the lock. */
	do {
		n = 0;
		pthread_mutex_lock(&s->lock);
		for (; next < t->nslots && n < CLEAR_BATCH; next++)
			if (t->slot[next].obj) {
				gone[n] = drop(s, next, &wd[n]);
				n++;
			}
		memset(&t->slot[FUSE_ROOT_ID].seen, 0, sizeof(t->slot[FUSE_ROOT_ID].seen));
		pthread_mutex_unlock(&s->lock);
		for (unsigned i = 0; i < n; i++) {
			rm_watch(s, wd[i]);
			hfs_obj_put(gone[i]);
		}
	} while (n == CLEAR_BATCH);
}

void fsrv_nodes_free(struct fsrv *s)
{
	struct fsrv_nodes *t = &s->nodes;

	if (!t->slot)
		return;
	fsrv_nodes_clear(s);
	hfs_obj_put(t->slot[FUSE_ROOT_ID].obj);
	free(t->slot);
	free(t->bucket);
	free(t->map);
	memset(t, 0, sizeof(*t));
}
