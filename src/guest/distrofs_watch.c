/*
 * distrofs_watch.c - what others change in a distro's files, told to the
 * host as Rlxswatch records (p9/watch.h) on the distro's 9P connection.
 *
 * One fanotify group per connection, marking the distro's whole file system
 * (its own ext4 disk), reporting the parent folder and name of each change
 * and the file itself as file handles. An ext4 handle starts with the
 * inode number, which is the qid path src/p9 gives a file on the root's
 * device: so a record names files the way the host already knows them, and
 * nothing has to be opened here. The group is made as root, before the
 * serving child becomes the distro's user; reading it needs no privilege.
 *
 * A thread reads the events, drops the connection's own (its process id),
 * and keeps what is left in a table of distinct records until the host's
 * held Tlxswatch takes them: a burst of writes to one file is one record.
 * When the table or the kernel's queue overflows, the next reply says
 * P9_WATCH_LOST instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "guest.h"
#include "p9/watch.h"
#include "p9/wire.h"

#define EXT4_MAGIC 0xef53 /* ext2, ext3 and ext4: the same handle layout */
/* ext4's handle types: FILEID_INO32_GEN and FILEID_INO32_GEN_PARENT, inode number first. */
#define FH_INO32_GEN        1
#define FH_INO32_GEN_PARENT 2

#define WATCH_EVENTS                                                                               \
	(FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ATTRIB | FAN_MODIFY)
#define NAME_EVENTS (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO)

/* Distinct changes kept for the host at most; more is P9_WATCH_LOST. */
#define WATCH_PENDING 4096
#define WATCH_SLOTS   (2 * WATCH_PENDING) /* the hash of them, half full at most */
#define WATCH_READ    (64 * 1024)         /* events read at once */

struct rec {
	uint8_t kind;
	uint8_t nlen;
	uint64_t ino, dir;
	char name[P9_WATCH_NAME_MAX + 1];
};

struct dwatch {
	int fan;
	int wake[2]; /* the reader's requests and the end, to the thread */
	pid_t self;
	uint32_t msize;
	dwatch_send_fn send;
	void *arg;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock; /* everything below */
	bool armed;           /* the first Tlxswatch was answered */
	int held;             /* the tag of the held Tlxswatch, or -1 */
	bool lost;
	bool closing;
	struct rec *recs;
	size_t n;
	int32_t *slots; /* index into recs, or -1 */
	uint8_t *out;   /* the reply being made */
	char *events;   /* the thread's read buffer, WATCH_READ bytes */
};

static uint32_t rec_hash(const struct rec *r)
{
	uint64_t h = r->ino * 0x9e3779b97f4a7c15ull ^ r->dir * 0xc2b2ae3d27d4eb4full ^ r->kind;

	for (unsigned i = 0; i < r->nlen; i++)
		h = (h ^ (uint8_t)r->name[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ h >> 29) % WATCH_SLOTS;
}

static bool rec_same(const struct rec *a, const struct rec *b)
{
	return a->kind == b->kind && a->ino == b->ino && a->dir == b->dir && a->nlen == b->nlen &&
	       !memcmp(a->name, b->name, a->nlen);
}

static void rehash(struct dwatch *w)
{
	for (size_t i = 0; i < WATCH_SLOTS; i++)
		w->slots[i] = -1;
	for (size_t i = 0; i < w->n; i++) {
		uint32_t s = rec_hash(&w->recs[i]);

		while (w->slots[s] >= 0)
			s = (s + 1) % WATCH_SLOTS;
		w->slots[s] = (int32_t)i;
	}
}

/* Keep a change for the host (under lock), once. */
static void add(struct dwatch *w, uint8_t kind, uint64_t ino, uint64_t dir, const char *name)
{
	struct rec r = {.kind = kind, .ino = ino, .dir = dir};
	size_t len = name ? strlen(name) : 0;
	uint32_t s;

	if (w->lost)
		return; /* the host will drop everything anyway */
	if (len > P9_WATCH_NAME_MAX || memchr(name ? name : "", '/', len)) {
		w->lost = true; /* no name a Linux file system holds; never seen */
		return;
	}
	r.nlen = (uint8_t)len;
	memcpy(r.name, name ? name : "", len);
	for (s = rec_hash(&r); w->slots[s] >= 0; s = (s + 1) % WATCH_SLOTS)
		if (rec_same(&w->recs[w->slots[s]], &r))
			return;
	if (w->n == WATCH_PENDING) {
		w->lost = true;
		w->n = 0;
		rehash(w);
		return;
	}
	w->recs[w->n] = r;
	w->slots[s] = (int32_t)w->n++;
}

/* The inode number in an ext4 file handle, or 0. */
static uint64_t handle_ino(const struct fanotify_event_info_fid *fid, size_t len, size_t *used)
{
	const struct file_handle *fh = (const void *)fid->handle;
	size_t head = sizeof(*fid) + sizeof(*fh);
	uint32_t ino;

	if (len < head || fh->handle_bytes > len - head)
		return 0;
	*used = head + fh->handle_bytes;
	if ((fh->handle_type != FH_INO32_GEN && fh->handle_type != FH_INO32_GEN_PARENT) ||
	    fh->handle_bytes < 8)
		return 0;
	memcpy(&ino, fh->f_handle, sizeof(ino));
	return ino;
}

/* One event's records (under lock). */
static void take_event(struct dwatch *w, const struct fanotify_event_metadata *m)
{
	const char *p = (const char *)m + m->metadata_len, *end = (const char *)m + m->event_len;
	uint64_t dir = 0, obj = 0;
	const char *name = NULL;

	if (m->mask & FAN_Q_OVERFLOW) {
		w->lost = true;
		return;
	}
	if (m->pid == w->self)
		return; /* the host's own change, through this connection: it knows */
	while (end - p >= (ptrdiff_t)sizeof(struct fanotify_event_info_header)) {
		const struct fanotify_event_info_header *h = (const void *)p;
		size_t len = h->len, used = 0;

		if (len < sizeof(*h) || len > (size_t)(end - p))
			break;
		if (h->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
		    h->info_type == FAN_EVENT_INFO_TYPE_DFID) {
			dir = handle_ino((const void *)p, len, &used);
			if (h->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME && used &&
			    memchr(p + used, 0, len - used))
				name = p + used;
		} else if (h->info_type == FAN_EVENT_INFO_TYPE_FID) {
			obj = handle_ino((const void *)p, len, &used);
		}
		p += len;
	}
	/* An event on a folder itself names it "." under its own handle. */
	if (!obj && dir && name && !strcmp(name, "."))
		obj = dir;
	if (m->mask & NAME_EVENTS) {
		if (dir && name && strcmp(name, "."))
			add(w, P9_WATCH_NAME, 0, dir, name);
		else
			w->lost = true;
	}
	if (m->mask & (FAN_MODIFY | FAN_ATTRIB)) {
		if (obj)
			add(w, m->mask & FAN_MODIFY ? P9_WATCH_DATA : P9_WATCH_ATTR, obj, 0, NULL);
		else
			w->lost = true;
	}
}

/* Answer tag with what is kept, as much as one message holds (under lock): 0 or -errno. */
static int reply(struct dwatch *w, uint16_t tag, uint32_t flags)
{
	struct p9_wbuf b;
	size_t i = 0, len;

	if (w->lost) {
		flags |= P9_WATCH_LOST;
		w->n = 0; /* the host drops everything: no record says more */
		w->lost = false;
	}
	p9w_init(&b, w->out, w->msize, P9_RLXSWATCH, tag);
	p9w_u32(&b, flags);
	uint8_t *count = p9w_reserve(&b, 2);
	for (; i < w->n && i < 0xffff; i++) {
		const struct rec *r = &w->recs[i];

		if (p9w_room(&b) < P9_WATCH_RECSZ + (size_t)r->nlen)
			break;
		p9w_u8(&b, r->kind);
		p9w_u64(&b, r->ino);
		p9w_u64(&b, r->dir);
		p9w_str(&b, r->name, r->nlen);
	}
	if (count)
		p9_put16(count, (uint16_t)i);
	len = p9w_finish(&b);
	if (!len)
		return -EMSGSIZE;
	memmove(w->recs, w->recs + i, (w->n - i) * sizeof(*w->recs));
	w->n -= i;
	rehash(w);
	return w->send(w->arg, w->out, len);
}

static void *watch_thread(void *arg)
{
	struct dwatch *w = arg;
	char *buf = w->events; /* malloc's alignment suits the records' headers */

	for (;;) {
		struct pollfd pf[2] = {{.fd = w->fan, .events = POLLIN},
				       {.fd = w->wake[0], .events = POLLIN}};
		int ret = 0;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents) {
			char drain[64];

			if (read(w->wake[0], drain, sizeof(drain)) <= 0)
				break;
		}
		pthread_mutex_lock(&w->lock);
		for (;;) {
			ssize_t len = read(w->fan, buf, WATCH_READ);
			const struct fanotify_event_metadata *m = (const void *)buf;

			if (len <= 0)
				break;
			for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len))
				if (m->vers == FANOTIFY_METADATA_VERSION)
					take_event(w, m);
				else
					w->lost = true;
		}
		if (w->held >= 0 && (w->n || w->lost)) {
			ret = reply(w, (uint16_t)w->held, 0);
			w->held = -1;
		}
		bool closing = w->closing;
		pthread_mutex_unlock(&w->lock);
		if (closing || ret < 0)
			break; /* a reply that could not go: the connection is ending */
	}
	return NULL;
}

int dwatch_open(int root_fd, struct dwatch **out)
{
	struct dwatch *w;
	struct statfs sf;
	int dfd, ret;

	if (fstatfs(root_fd, &sf) < 0)
		return -errno;
	if (sf.f_type != EXT4_MAGIC)
		return -EOPNOTSUPP; /* its handles are not inode numbers we could read */
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->fan = w->wake[0] = w->wake[1] = -1;
	w->held = -1;
	w->self = getpid();
	pthread_mutex_init(&w->lock, NULL);
	w->recs = malloc(WATCH_PENDING * sizeof(*w->recs));
	w->slots = malloc(WATCH_SLOTS * sizeof(*w->slots));
	w->events = malloc(WATCH_READ);
	if (!w->recs || !w->slots || !w->events) {
		ret = -ENOMEM;
		goto fail;
	}
	rehash(w);
	w->fan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME |
				   FAN_REPORT_FID,
			       O_RDONLY | O_CLOEXEC);
	if (w->fan < 0) {
		ret = -errno;
		goto fail;
	}
	/* fanotify_mark takes no O_PATH descriptor: the root once more, readable. */
	dfd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = fanotify_mark(w->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, WATCH_EVENTS | FAN_ONDIR,
			    dfd, NULL);
	ret = ret < 0 ? -errno : 0;
	close(dfd);
	if (ret < 0 || pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = ret < 0 ? ret : -errno;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	dwatch_free(w);
	return ret;
}

int dwatch_start(struct dwatch *w, uint32_t msize, dwatch_send_fn send, void *arg)
{
	w->msize = msize;
	w->send = send;
	w->arg = arg;
	if (!(w->out = malloc(msize)))
		return -ENOMEM;
	if (pthread_create(&w->thread, NULL, watch_thread, w))
		return -EAGAIN;
	w->started = true;
	return 0;
}

static void wake(struct dwatch *w)
{
	ssize_t n = write(w->wake[1], "w", 1);

	(void)n; /* a full pipe already wakes it */
}

int dwatch_request(struct dwatch *w, uint16_t tag)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (!w->armed) {
		w->armed = true;
		ret = reply(w, tag, P9_WATCH_ARMED);
		ret = ret < 0 ? ret : 1;
	} else if (w->held >= 0) {
		ret = -EBUSY;
	} else {
		w->held = tag;
	}
	pthread_mutex_unlock(&w->lock);
	if (ret == 0)
		wake(w);
	return ret < 0 ? ret : 0;
}

void dwatch_flush(struct dwatch *w, uint16_t oldtag)
{
	pthread_mutex_lock(&w->lock);
	if (w->held == oldtag)
		w->held = -1;
	pthread_mutex_unlock(&w->lock);
}

void dwatch_free(struct dwatch *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->closing = true;
		pthread_mutex_unlock(&w->lock);
		wake(w);
		pthread_join(w->thread, NULL);
	}
	if (w->fan >= 0)
		close(w->fan);
	if (w->wake[0] >= 0)
		close(w->wake[0]);
	if (w->wake[1] >= 0)
		close(w->wake[1]);
	pthread_mutex_destroy(&w->lock);
	free(w->recs);
	free(w->slots);
	free(w->out);
	free(w->events);
	free(w);
}
