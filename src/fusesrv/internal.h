/*
 * internal.h - what the files of src/fusesrv share: the session, its node
 * and handle tables, one request as the handlers see it, and the helpers
 * between them. Not for users of the library (they have fusesrv.h).
 *
 * Ownership and locking: one mutex per session (fsrv.lock) guards the
 * INIT state, the node table and the handle table, and is never held
 * across a system call (closing a descriptor included: what a table gives
 * up is put after the unlock). A request copies what it needs out of a
 * table entry under the lock: a node's hfs_obj (reference counted, so a
 * FORGET racing the request closes the descriptor only after it), or a
 * handle (reference counted under the lock, so a RELEASE racing a READ
 * frees it only after the read).
 */
#ifndef LXS_FUSESRV_INTERNAL_H
#define LXS_FUSESRV_INTERNAL_H

#include <limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "fusesrv/fusesrv.h"
#include "hostfs/hostfs.h"

/* The oldest protocol spoken: every structure has its present size since 7.23. */
#define FSRV_MIN_MINOR 23

/* A nodeid or fh: a table index in the low half, its slot's generation in the high. */
#define FSRV_ID(index, gen) (((uint64_t)(gen) << 32) | (uint32_t)(index))
#define FSRV_INDEX(id)      ((uint32_t)(id))
#define FSRV_GEN(id)        ((uint32_t)((id) >> 32))

/* What this session last showed the guest of a file at an open or write. */
struct fsrv_seen {
	bool valid;
	uint64_t size;
	struct statx_timestamp mtime, ctime;
};

struct fsrv_node {
	struct hfs_obj *obj; /* NULL: the slot is free */
	uint64_t nlookup;    /* the kernel's count; FORGET takes it back */
	uint32_t gen;        /* bumped when the slot is freed */
	uint32_t next;       /* hash chain, or the free list: a slot index, 0 ends it */
	struct fsrv_seen seen;
	/* Which file it is, beyond (dev, ino): see nodes.c, same_file. */
	struct statx_timestamp born, changed;
	bool has_born;
	int wd;       /* a folder's inotify watch (watch.c), 0: none */
	bool covered; /* its attributes' changes are reported: long attribute timeout */
};

struct fsrv_nodes {
	struct fsrv_node *slot; /* [0] never used, [FUSE_ROOT_ID] the root */
	uint32_t nslots, cap;   /* slots in use or freed, and allocated */
	uint32_t live;          /* nodes besides the root */
	uint32_t free_head;     /* freed slots, generation already bumped */
	uint32_t *bucket;       /* (dev, ino) hash -> first slot index */
	uint32_t nbuckets;      /* a power of two */
	uint32_t *map;          /* pairs (inotify wd, slot index); index 0: removed */
	uint32_t mapcap, mapused;
	uint32_t nwatches; /* folders watched, at most WATCH_MAX (watch.c) */
};

struct fsrv_handle {
	int refs;            /* the table's and each request's, under fsrv.lock */
	struct hfs_obj *obj; /* the open descriptor */
	uint64_t nodeid;
	int hflags; /* host open flags */
};

struct fsrv_hslot {
	struct fsrv_handle *h; /* NULL: free */
	uint32_t gen;
	uint32_t next_free;
};

struct fsrv_handles {
	struct fsrv_hslot *slot; /* [0] never used */
	uint32_t nslots, cap, live;
	uint32_t free_head;
};

/* One notification waiting for a buffer of the guest's (watch.c). */
struct fsrv_note {
	uint32_t code; /* FUSE_NOTIFY_INVAL_INODE or _ENTRY */
	uint64_t nodeid;
	int64_t off; /* INVAL_INODE: 0 pages too, -1 attributes only */
	uint16_t namelen;
	char name[NAME_MAX + 1];
};

/* An entry change the guest made itself, whose event is not news to it. */
struct fsrv_expect {
	uint64_t parent, hash;
	uint32_t mask; /* the inotify events still expected */
	int64_t until; /* now_ms() */
};

#define FSRV_WATCH_DEVS   16
#define FSRV_WATCH_EXPECT 256

struct fsrv_watch {
	int fd;                  /* inotify, -1 when not watching */
	bool on;                 /* the transport delivers notifications (fsrv_watch_enable) */
	struct fsrv_note *notes; /* a ring of NOTES_MAX */
	uint32_t head, nnotes;
	bool lost; /* events were lost: everything is told stale at the next delivery */
	struct {
		dev_t dev;
		bool trusted;
	} devs[FSRV_WATCH_DEVS];
	unsigned ndevs;
	struct fsrv_expect expect[FSRV_WATCH_EXPECT];
	unsigned expect_next;
};

struct fsrv {
	struct hostfs *h;
	struct fsrv_config cfg; /* defaults filled in */
	struct hfs_budget budget;

	pthread_mutex_t lock; /* everything below */
	bool inited;
	uint32_t minor;            /* agreed at INIT */
	struct hfs_opts opts;      /* this driver's, taken at INIT */
	struct hfs_opts next_opts; /* fsrv_set_opts(): the next INIT's */
	struct fsrv_nodes nodes;
	struct fsrv_handles handles;
	struct fsrv_watch watch;
};

/* One request, its arguments copied out of the guest's buffers. */
struct fsrv_req {
	struct fsrv *s;
	struct hostfs *h;
	struct fuse_in_header in;
	const uint8_t *arg; /* the opcode's arguments (a WRITE's fixed part only) */
	size_t arglen;
	/* A WRITE's data: the in buffers from byte data_off on, data_len bytes. */
	const struct iovec *iv;
	unsigned niv;
	size_t data_off, data_len;
	/* The reply goes into these, past the fuse_out_header. */
	const struct iovec *ov;
	unsigned nov;
	size_t room; /* bytes of reply body that fit */
	/* Snapshots of the session's state when the request began. */
	struct hfs_opts opts;
	uint32_t minor;
};

/* --- req.c: a request's buffers --- */
/* Arguments up to this size are copied to the stack, longer ones to the heap. */
#define FSRV_ARGS_STACK 512
/*
 * r's header and arguments out of in (into stack, or *heap, which the
 * caller frees): 0, -EBADMSG (no request at all: shorter than a header, or
 * a length that disagrees with the buffers), or for an error reply -E2BIG
 * (longer than any opcode's arguments) or -ENOMEM.
 */
int fsrv_frame(struct fsrv_req *r, const struct iovec *in, unsigned nin, uint8_t *stack,
	       uint8_t **heap);
/* The reply's buffers: 0, or -ENOBUFS when they cannot hold a fuse_out_header. */
int fsrv_out(struct fsrv_req *r, const struct iovec *out, unsigned nout);
/* The reply's header for res (a body length or -errno); the reply's length. */
ssize_t fsrv_finish(struct fsrv_req *r, int res);
/* Copy len bytes to the reply body at off; false (nothing copied) if they do not fit. */
bool fsrv_put(struct fsrv_req *r, size_t off, const void *src, size_t len);
/* A whole fixed-size reply: its length, or -EINVAL when the guest gave too little room. */
int fsrv_reply(struct fsrv_req *r, const void *body, size_t len);
/* The out buffers from body offset off, at most len bytes, as at most max iovecs. */
unsigned fsrv_out_slice(const struct fsrv_req *r, size_t off, size_t len, struct iovec *v,
			unsigned max);
/* The in buffers holding a WRITE's data, likewise. */
unsigned fsrv_data_slice(const struct fsrv_req *r, struct iovec *v, unsigned max);
/* A NUL-terminated string starting at args offset *off; advances *off past the NUL. */
int fsrv_arg_str(const struct fsrv_req *r, size_t *off, const char **s, size_t *len);
/* Ditto, checked to be a single entry name (hfs_name_ok). */
int fsrv_arg_name(const struct fsrv_req *r, size_t *off, const char **name);
/* 0 if the arguments end at off: nothing may follow a request's last string. */
int fsrv_arg_end(const struct fsrv_req *r, size_t off);

/* --- nodes.c --- */
int fsrv_nodes_init(struct fsrv *s);
/* Every node but the root forgotten (their descriptors closed outside the lock). */
void fsrv_nodes_clear(struct fsrv *s);
void fsrv_nodes_free(struct fsrv *s);
/* A reference to nodeid's obj: 0, or -ENOENT (never was, or forgotten). */
int fsrv_node_obj(struct fsrv *s, uint64_t nodeid, struct hfs_obj **obj);
/*
 * One more lookup of the inode o (which the caller gives up either way;
 * st its statx): the node that already has that file, or a new one holding
 * o. Its nodeid, or -ENFILE (max_nodes), -EMFILE/-ENFILE (descriptors),
 * -ENOMEM.
 */
int fsrv_node_enter(struct fsrv *s, struct hfs_obj *o, const struct statx *st, uint64_t *nodeid);
/* Under s->lock: the live node nodeid, or NULL. */
struct fsrv_node *fsrv_node_find(struct fsrv *s, uint64_t nodeid);
/* Under s->lock: the nodeid of the node hashed for (dev, ino), 0 if none. */
uint64_t fsrv_node_by_inode(struct fsrv *s, dev_t dev, ino_t ino);
/*
 * Node nodeid (still the folder o) watched as wd: 0, or -1 when the
 * watch is not wanted any more (the caller removes it).
 */
int fsrv_node_set_watch(struct fsrv *s, uint64_t nodeid, const struct hfs_obj *o, int wd);
/* Under s->lock: the slot index of the node watched as wd, 0 if none. */
uint32_t fsrv_node_by_wd(struct fsrv *s, int wd);
/* Under s->lock: the watch wd is gone (IN_IGNORED). */
void fsrv_node_unwatch(struct fsrv *s, int wd);
/* Take back n lookups of nodeid (a FORGET); unknown nodeids are ignored. */
void fsrv_node_forget(struct fsrv *s, uint64_t nodeid, uint64_t n);
/*
 * May the guest keep its cached pages of nodeid (stat st of it now)? Yes
 * when st's size, mtime and ctime are what the session saw last; st is
 * then remembered either way. Folders: mtime and ctime only.
 */
bool fsrv_node_seen(struct fsrv *s, uint64_t nodeid, const struct statx *st);

/* --- watch.c --- */
int fsrv_watch_init(struct fsrv *s);
void fsrv_watch_free(struct fsrv *s);
/* Watch node nodeid if it is a folder not watched yet (before the guest hears of it). */
void fsrv_watch_add(struct fsrv *s, uint64_t nodeid);
/*
 * The timeouts of an entry (parent != 0: its folder's nodeid) or of
 * attributes alone (parent 0) of nodeid, stat st (nodeid 0, st NULL: a
 * name that is absent): long where a change would be told (watch.c), the
 * configured short ones elsewhere.
 */
void fsrv_timeouts(struct fsrv *s, uint64_t parent, uint64_t nodeid, const struct statx *st,
		   uint32_t *entry_ms, uint32_t *attr_ms);
/* The guest is about to change name in parent (inotify events mask): not news when it comes. */
void fsrv_watch_expect(struct fsrv *s, uint64_t parent, const char *name, uint32_t mask);

/* --- handles.c --- */
/* A handle of obj (taken, either way) for nodeid; its fh, or -EMFILE, -ENOMEM. */
int fsrv_handle_new(struct fsrv *s, struct hfs_obj *obj, uint64_t nodeid, int hflags, uint64_t *fh);
/* The handle fh, held for the request: NULL if stale or forged. */
struct fsrv_handle *fsrv_handle_get(struct fsrv *s, uint64_t fh);
void fsrv_handle_put(struct fsrv *s, struct fsrv_handle *h);
/* Out of the table (RELEASE): 0, or -EBADF. */
int fsrv_handle_release(struct fsrv *s, uint64_t fh);
void fsrv_handles_clear(struct fsrv *s);
void fsrv_handles_free(struct fsrv *s);

/* --- ops_entry.c, ops_io.c: one handler per opcode --- */
/* The body length written (fsrv_put), or -errno for an error reply. */
typedef int fsrv_op_fn(struct fsrv_req *r);

fsrv_op_fn fsrv_op_lookup, fsrv_op_getattr, fsrv_op_setattr, fsrv_op_readlink, fsrv_op_symlink,
    fsrv_op_mknod, fsrv_op_mkdir, fsrv_op_unlink, fsrv_op_rmdir, fsrv_op_rename, fsrv_op_rename2,
    fsrv_op_link, fsrv_op_statfs, fsrv_op_setxattr, fsrv_op_getxattr, fsrv_op_listxattr,
    fsrv_op_removexattr;
fsrv_op_fn fsrv_op_open, fsrv_op_create, fsrv_op_read, fsrv_op_write, fsrv_op_release,
    fsrv_op_fsync, fsrv_op_opendir, fsrv_op_readdir, fsrv_op_readdirplus, fsrv_op_releasedir,
    fsrv_op_fsyncdir, fsrv_op_lseek, fsrv_op_fallocate, fsrv_op_copy_file_range;

/* --- ops_entry.c: shared with ops_io.c --- */
/* fuse_attr of an inode: st from hfs_stat, owners and mode from the options. */
void fsrv_attr(struct fsrv_req *r, struct hfs_obj *o, const struct statx *st, struct fuse_attr *a);
/* An entry reply for o (taken): enters its node and fills e. */
int fsrv_entry(struct fsrv_req *r, struct hfs_obj *o, const struct statx *st,
	       struct fuse_entry_out *e);
/* The obj of the request's own nodeid, checked to be a folder. */
int fsrv_dir_obj(struct fsrv_req *r, struct hfs_obj **dir);
/* The checked name that ends the arguments at off, and the folder it is to go in (taken). */
int fsrv_name_in_dir(struct fsrv_req *r, size_t off, const char **name, struct hfs_obj **dir);
/*
 * HANDLE_KILLPRIV_V2: clears o's set-user-ID bit, and its set-group-ID bit
 * when it is group-executable, as the guest sees them (under the options),
 * where the kernel asks: a write, truncation or O_TRUNC open by a process
 * without CAP_FSETID, a chown of a non-folder. 0 or -errno.
 */
int fsrv_kill_suidgid(struct fsrv_req *r, struct hfs_obj *o);

#endif
