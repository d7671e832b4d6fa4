/*
 * watch.c - telling the guest what changed on the host, so that it may keep
 * what it learnt for long (cfg.watch_ms) instead of asking again every
 * second (issue 19: "a host change seen within 1 s" at the cost of a round
 * trip per name and per stat once the second is over).
 *
 * Every folder the guest holds a node of has an inotify watch on this
 * session's instance. An event on it becomes a FUSE notification the
 * transport delivers (virtio-fs's notification queue, VIRTIO 1.2 5.11.6;
 * Linux's driver for it is kernel/patches/0001-*):
 *  - a name made, removed or moved in a folder: INVAL_ENTRY (parent, name),
 *    which expires the guest's entry of that name, and INVAL_INODE of the
 *    folder, which drops its attributes and cached listing;
 *  - a file's attributes or data changed (through a name in a watched
 *    folder): INVAL_INODE of its node with no page range, which drops its
 *    attributes only. AUTO_INVAL_DATA then drops the pages at the guest's
 *    next use, when it sees the new mtime or size, as for a timeout.
 * Changes the guest itself made through this session come back as events
 * too; entry changes it announced (fsrv_watch_expect) are dropped, since
 * the guest already knows them; attribute ones cost a GETATTR at most.
 *
 * Long timeouts are only given where an event would come (fsrv_timeouts):
 * an entry (or a name's absence) whose folder is watched, a folder's attributes when it is
 * watched itself, a file's when its folder is watched and it has one
 * link (a change through another link would be reported to a folder that
 * may not be watched). File systems whose files change without events
 * (network and pseudo file systems: NFS, 9P, FUSE, proc...) are never
 * trusted. Everything else keeps the short timeouts of cfg.entry_ms and
 * cfg.attr_ms. When events are lost (inotify's queue overflowed, or ours
 * did) every node's attributes are dropped; entries the guest already
 * holds may then stay stale up to watch_ms, and so may what a host program
 * writes through a shared mapping, of which inotify says nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "fusesrv/internal.h"

#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_MODIFY |             \
	 IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
#define ENTRY_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define INODE_EVENTS (IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE)
/* How long an announced change of the guest's waits for its event. */
#define EXPECT_MS 2000
/* Notifications waiting for the guest's buffers; past this, events are lost. */
#define NOTES_MAX 8192
/* A queued INVAL_INODE is not queued again within the last this many notes. */
#define COALESCE 32
/*
 * Folders watched per session: inotify's watches are the user's, shared
 * with every other program of theirs (Debian's default allows some 190,000
 * on 24 GiB); past this, folders keep the short timeouts.
 */
#define WATCH_MAX 16384

/* File systems whose every change passes through this kernel's VFS (so inotify sees it). */
static bool fs_reports_changes(long type)
{
	switch ((unsigned long)type) {
	case EXT4_SUPER_MAGIC: /* ext2, ext3 too */
	case TMPFS_MAGIC:
	case RAMFS_MAGIC:
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case F2FS_SUPER_MAGIC:
	case MSDOS_SUPER_MAGIC:
	case EXFAT_SUPER_MAGIC:
	case OVERLAYFS_SUPER_MAGIC:
	case 0x2fc12fc1: /* zfs */
	case 0xca451a4e: /* bcachefs */
		return true;
	}
	return false;
}

static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
	return h;
}

int fsrv_watch_init(struct fsrv *s)
{
	struct fsrv_watch *w = &s->watch;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (!s->cfg.watch)
		return 0;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	w->on = true;
	w->notes = calloc(NOTES_MAX, sizeof(*w->notes));
	if (!w->notes) {
		close(w->fd);
		w->fd = -1;
		return -ENOMEM;
	}
	return 0;
}

void fsrv_watch_free(struct fsrv *s)
{
	struct fsrv_watch *w = &s->watch;

	if (w->fd >= 0)
		close(w->fd);
	free(w->notes);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

int fsrv_watch_fd(const struct fsrv *s)
{
	return s->watch.fd;
}

/* --- watches of folder nodes ---------------------------------------------- */

/* Does the file system under o report its changes? Cached per device. */
static bool trusted_dev(struct fsrv *s, const struct hfs_obj *o)
{
	struct fsrv_watch *w = &s->watch;
	struct statfs sf;
	bool yes;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < w->ndevs; i++)
		if (w->devs[i].dev == o->dev) {
			yes = w->devs[i].trusted;
			pthread_mutex_unlock(&s->lock);
			return yes;
		}
	pthread_mutex_unlock(&s->lock);
	yes = fstatfs(o->fd, &sf) == 0 && fs_reports_changes(sf.f_type);
	pthread_mutex_lock(&s->lock);
	if (w->ndevs < FSRV_WATCH_DEVS) {
		w->devs[w->ndevs].dev = o->dev;
		w->devs[w->ndevs].trusted = yes;
		w->ndevs++;
	}
	pthread_mutex_unlock(&s->lock);
	return yes;
}

void fsrv_watch_add(struct fsrv *s, uint64_t nodeid)
{
	struct fsrv_watch *w = &s->watch;
	struct hfs_obj *o = NULL;
	struct fsrv_node *n;
	char path[40];
	int wd;

	if (w->fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	n = fsrv_node_find(s, nodeid);
	if (w->on && n && !n->wd && S_ISDIR(n->obj->type) && s->nodes.nwatches < WATCH_MAX)
		o = hfs_obj_get(n->obj);
	pthread_mutex_unlock(&s->lock);
	if (!o)
		return;
	if (trusted_dev(s, o)) {
		/* The folder the descriptor is, not a name that may have moved. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", o->fd);
		wd = inotify_add_watch(w->fd, path, WATCH_MASK);
		/* No watch (inotify's limit or ours reached): short timeouts here. */
		if (wd > 0 && fsrv_node_set_watch(s, nodeid, o, wd) < 0)
			inotify_rm_watch(w->fd, wd);
	}
	hfs_obj_put(o);
}

/* --- timeouts --------------------------------------------------------------- */

void fsrv_timeouts(struct fsrv *s, uint64_t parent, uint64_t nodeid, const struct statx *st,
		   uint32_t *entry_ms, uint32_t *attr_ms)
{
	struct fsrv_node *p, *n;
	bool parent_watched = false;

	*entry_ms = s->cfg.entry_ms;
	*attr_ms = s->cfg.attr_ms;
	if (s->watch.fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->watch.on) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	p = parent ? fsrv_node_find(s, parent) : NULL;
	n = fsrv_node_find(s, nodeid);
	if (p && p->wd)
		parent_watched = true;
	if (n) {
		if (S_ISDIR(n->obj->type))
			n->covered = n->wd != 0;
		else if (parent)
			n->covered = parent_watched && st->stx_nlink == 1;
		else if (st->stx_nlink != 1)
			n->covered = false;
		if (n->covered)
			*attr_ms = s->cfg.watch_ms;
	}
	if (parent_watched)
		*entry_ms = s->cfg.watch_ms;
	pthread_mutex_unlock(&s->lock);
}

/* --- the guest's own changes -------------------------------------------------- */

void fsrv_watch_expect(struct fsrv *s, uint64_t parent, const char *name, uint32_t mask)
{
	struct fsrv_watch *w = &s->watch;
	struct fsrv_expect *e;

	if (w->fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	e = &w->expect[w->expect_next++ % FSRV_WATCH_EXPECT];
	e->parent = parent;
	e->hash = name_hash(name);
	e->mask = mask;
	e->until = now_ms() + EXPECT_MS;
	pthread_mutex_unlock(&s->lock);
}

/* Under s->lock: was this event announced by the guest's own request? Consumes it. */
static bool expected(struct fsrv_watch *w, uint64_t parent, const char *name, uint32_t mask)
{
	uint64_t h = name_hash(name);
	int64_t now = now_ms();

	for (unsigned i = 0; i < FSRV_WATCH_EXPECT; i++) {
		struct fsrv_expect *e = &w->expect[i];

		if (e->parent == parent && e->hash == h && (e->mask & mask) && e->until >= now) {
			e->mask &= ~mask;
			return true;
		}
	}
	return false;
}

/* --- notifications ------------------------------------------------------------ */

/* Under s->lock. */
static void note(struct fsrv_watch *w, uint32_t code, uint64_t nodeid, int64_t off,
		 const char *name)
{
	struct fsrv_note *q;

	if (!w->on)
		return; /* no one to tell: the transport's driver takes no notifications */
	if (code == FUSE_NOTIFY_INVAL_INODE)
		for (uint32_t i = 0; i < w->nnotes && i < COALESCE; i++) {
			q = &w->notes[(w->head + w->nnotes - 1 - i) % NOTES_MAX];
			if (q->code == code && q->nodeid == nodeid && (q->off == 0 || off < 0))
				return;
		}
	if (w->nnotes == NOTES_MAX) {
		w->lost = true;
		return;
	}
	q = &w->notes[(w->head + w->nnotes++) % NOTES_MAX];
	q->code = code;
	q->nodeid = nodeid;
	q->off = off;
	q->namelen = name ? (uint16_t)strlen(name) : 0;
	if (name)
		memcpy(q->name, name, q->namelen + 1);
}

/* Events lost: every node's attributes (and a folder's listing) dropped. Under s->lock. */
static void note_all(struct fsrv *s)
{
	struct fsrv_watch *w = &s->watch;

	w->lost = false;
	w->head = w->nnotes = 0;
	for (uint32_t i = FUSE_ROOT_ID; i < s->nodes.nslots && w->nnotes < NOTES_MAX; i++) {
		struct fsrv_node *n = &s->nodes.slot[i];

		if (n->obj)
			note(w, FUSE_NOTIFY_INVAL_INODE, FSRV_ID(i, n->gen),
			     S_ISDIR(n->obj->type) ? 0 : -1, NULL);
	}
}

/* A file's node, found by its name in folder dir (stat'ed outside the lock); 0 if none. */
static uint64_t child_node(struct fsrv *s, struct hfs_obj *dir, const char *name)
{
	struct statx st;
	uint64_t id;

	if (statx(dir->fd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_INO, &st) < 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	id = fsrv_node_by_inode(s, makedev(st.stx_dev_major, st.stx_dev_minor), st.stx_ino);
	pthread_mutex_unlock(&s->lock);
	return id;
}

static void one_event(struct fsrv *s, const struct inotify_event *ev)
{
	struct fsrv_watch *w = &s->watch;
	const char *name = ev->len ? ev->name : NULL;
	struct hfs_obj *dir = NULL;
	struct fsrv_node *n;
	uint64_t parent = 0, child;
	uint32_t idx;

	pthread_mutex_lock(&s->lock);
	if (ev->mask & IN_IGNORED) {
		/* The folder is gone or its file system unmounted: no more events. */
		fsrv_node_unwatch(s, ev->wd);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	idx = fsrv_node_by_wd(s, ev->wd);
	n = idx ? &s->nodes.slot[idx] : NULL;
	if (!n || !n->obj) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	parent = FSRV_ID(idx, n->gen);
	if (!name) {
		/* The folder itself: its attributes, or it went away (its parent tells the name).
		 */
		note(w, FUSE_NOTIFY_INVAL_INODE, parent, ev->mask & IN_ATTRIB ? -1 : 0, NULL);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (ev->mask & ENTRY_EVENTS) {
		if (!expected(w, parent, name, ev->mask & ENTRY_EVENTS)) {
			note(w, FUSE_NOTIFY_INVAL_ENTRY, parent, 0, name);
			note(w, FUSE_NOTIFY_INVAL_INODE, parent, 0, NULL);
		}
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (!(ev->mask & INODE_EVENTS) || (ev->mask & IN_ISDIR)) {
		/* A subfolder's own watch reports its attributes. */
		pthread_mutex_unlock(&s->lock);
		return;
	}
	dir = hfs_obj_get(n->obj);
	pthread_mutex_unlock(&s->lock);
	child = child_node(s, dir, name);
	hfs_obj_put(dir);
	if (child) {
		pthread_mutex_lock(&s->lock);
		note(w, FUSE_NOTIFY_INVAL_INODE, child, -1, NULL);
		pthread_mutex_unlock(&s->lock);
	}
}

int fsrv_watch_read(struct fsrv *s)
{
	struct fsrv_watch *w = &s->watch;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int events = 0;

	if (w->fd < 0)
		return 0;
	for (;;) {
		ssize_t len = read(w->fd, buf, sizeof(buf));

		if (len < 0)
			return errno == EAGAIN ? events : -errno;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= len;) {
			const struct inotify_event *ev = (const void *)(buf + off);

			if (ev->mask & IN_Q_OVERFLOW) {
				pthread_mutex_lock(&s->lock);
				w->lost = true;
				pthread_mutex_unlock(&s->lock);
			} else {
				one_event(s, ev);
			}
			events++;
			off += (ssize_t)sizeof(*ev) + ev->len;
		}
	}
}

void fsrv_watch_enable(struct fsrv *s, bool on)
{
	pthread_mutex_lock(&s->lock);
	s->watch.on = on && s->watch.fd >= 0;
	if (!s->watch.on)
		s->watch.head = s->watch.nnotes = 0, s->watch.lost = false;
	pthread_mutex_unlock(&s->lock);
}

ssize_t fsrv_notify_next(struct fsrv *s, void *buf, size_t size)
{
	struct fsrv_watch *w = &s->watch;
	uint8_t *m = buf;
	struct fuse_out_header h = {0};
	struct fsrv_note q;
	size_t len;

	pthread_mutex_lock(&s->lock);
	if (w->lost)
		note_all(s);
	if (!w->nnotes || !s->inited) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	q = w->notes[w->head];
	w->head = (w->head + 1) % NOTES_MAX;
	w->nnotes--;
	pthread_mutex_unlock(&s->lock);

	len = sizeof(h) + (q.code == FUSE_NOTIFY_INVAL_INODE
			       ? sizeof(struct fuse_notify_inval_inode_out)
			       : sizeof(struct fuse_notify_inval_entry_out) + q.namelen + 1u);
	if (len > size)
		return -ENOBUFS;
	/* unique 0 and a positive code in error: a notification, not a reply. */
	h.error = (int32_t)q.code;
	h.len = (uint32_t)len;
	memcpy(m, &h, sizeof(h));
	if (q.code == FUSE_NOTIFY_INVAL_INODE) {
		struct fuse_notify_inval_inode_out a = {.ino = q.nodeid, .off = q.off};

		memcpy(m + sizeof(h), &a, sizeof(a));
	} else {
		struct fuse_notify_inval_entry_out a = {
		    .parent = q.nodeid, .namelen = q.namelen, .flags = FUSE_EXPIRE_ONLY};

		memcpy(m + sizeof(h), &a, sizeof(a));
		memcpy(m + sizeof(h) + sizeof(a), q.name, q.namelen + 1u);
	}
	return (ssize_t)len;
}
