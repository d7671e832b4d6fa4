/*
 * internal.h - what the files of src/p9 share: the server, connection, fid
 * and host-object structures and the helpers between them. Not for users of
 * the library (they have p9.h).
 *
 * Ownership: a p9_obj is one O_PATH descriptor of a host inode, reference
 * counted and immutable; fids point at objs (a clone shares them, so the
 * number of descriptors tracks the distinct files the guest holds, not the
 * fids; an open fid's obj is its open descriptor, so it holds one, and
 * what fids hold is counted against the descriptor budget, p9.h). A fid
 * is reference counted under its connection's lock: the fid table holds
 * one reference, each request using it another, so a Tclunk racing a Tread
 * frees the fid only after the read is done.
 */
#ifndef LXS_P9_INTERNAL_H
#define LXS_P9_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "p9/p9.h"
#include "p9/wire.h"

/* One host inode, held by an O_PATH (or, after an open or create, open) descriptor. */
struct p9_obj {
	atomic_int refs;
	int fd;
	dev_t dev;
	ino_t ino;
	mode_t type;           /* S_IFMT bits; an inode's type never changes */
	bool on_proc;          /* on a proc file system (see host.c, proc_guard) */
	struct p9_conn *owner; /* whose descriptor budget it counts in, or NULL */
};

#define P9_DEVMAP 256 /* distinct devices given their own qid.path prefix */

struct p9_server {
	struct p9_obj *root;
	int proc_fd;      /* /proc/self/fd, or -1 */
	bool root_is_top; /* the root's ".." is itself: nothing to escape to */
	bool has_openat2;
	atomic_int has_xattrat; /* 1 yes, 0 no, -1 not known yet */
	struct p9_mount_opts opts;
	pthread_mutex_t dev_lock;
	dev_t devs[P9_DEVMAP];
	unsigned ndevs;
};

enum p9_fid_kind {
	FID_PATH,   /* names a file; not open */
	FID_OPEN,   /* lopen'd or lcreate'd: fd is open */
	FID_XREAD,  /* xattrwalk result: reads come from xbuf */
	FID_XWRITE, /* xattrcreate'd: writes fill xbuf, clunk commits */
};

struct p9_fid {
	uint32_t id;
	int refs;            /* under conn->lock */
	struct p9_fid *next; /* hash chain, under conn->lock */
	uint32_t uid;        /* n_uname from its attach: owner of what it creates */

	pthread_mutex_t lock; /* everything below */
	struct p9_obj *obj;   /* what it names */
	struct p9_obj *dir;   /* directory it was found in, or NULL (root, "..") */
	char *name;           /* its name in dir, or NULL */
	enum p9_fid_kind kind;
	int fd;     /* FID_OPEN: the open descriptor */
	int oflags; /* FID_OPEN: host open flags */
	/* readdir: raw getdents64 records not yet sent, and where they end */
	uint8_t *dbuf;
	size_t dpos, dlen;
	uint64_t dnext; /* offset the guest will ask for to continue */
	bool dvalid;    /* dbuf/dnext describe the fd's position */
	/* xattrs */
	char *xname;
	uint8_t *xbuf;
	size_t xsize, xlen;
	int xflags;
};

/* One request slot: outstanding until its reply has been delivered. */
struct p9_slot {
	bool used;
	uint16_t tag;
	uint8_t type;
	void *resp;
	size_t cap, rlen;
	p9_reply_fn *reply;
	void *arg;
	int waiters; /* first Tflush waiting for this one, -1 if none */
	int next_waiter;
	int next_todo;
};

#define P9_FIDHASH 1024

struct p9_conn {
	struct p9_server *srv;
	struct p9_limits lim;
	pthread_mutex_t lock; /* msize, fid table, slots */
	uint32_t msize;
	bool versioned;
	struct p9_fid *fids[P9_FIDHASH];
	uint32_t nfids;
	struct p9_slot *slots;
	uint32_t nslots;
	atomic_uint nfds; /* descriptors of objs charged to it (p9_obj_charge) */
	/*
	 * The server's options, or those the first Tattach named in its aname
	 * (p9.h); set before any fid exists and never changed after, so requests
	 * read them without the lock.
	 */
	struct p9_mount_opts opts;
	bool opts_from_attach;
};

/* --- host.c: the only code that turns guest names into descriptors --- */
int p9_host_init(struct p9_server *s, int root_fd);
struct p9_obj *p9_obj_get(struct p9_obj *o);
void p9_obj_put(struct p9_obj *o);
/* A new obj for fd (taken) and its statx; NULL (fd closed) without memory. */
struct p9_obj *p9_obj_new(int fd, const struct statx *st);
int p9_host_stat(struct p9_obj *o, struct statx *st);
/* One step of a walk: name is already validated (no '/', not "", ".", ".."). */
int p9_host_lookup(struct p9_server *s, struct p9_obj *dir, const char *name, struct p9_obj **out,
		   struct statx *st);
/* ".." of dir, clamped to the share root and never leading out of it. */
int p9_host_parent(struct p9_server *s, struct p9_obj *dir, struct p9_obj **out, struct statx *st);
/*
 * Open o for I/O with host flags (O_CLOEXEC added). o must be a regular
 * file or a directory. dir/name (may be NULL) are the fallback when /proc
 * is not available. Returns a descriptor or -errno.
 */
int p9_host_reopen(struct p9_server *s, struct p9_obj *o, struct p9_obj *dir, const char *name,
		   int flags);
/* Find o's current name in its parent (directories only). */
int p9_host_find_name(struct p9_server *s, struct p9_obj *o, struct p9_obj **dir, char **name);
/* Does dir/name still name o? 0, or -ESTALE. */
int p9_host_check_name(struct p9_obj *dir, const char *name, struct p9_obj *o);
void p9_host_qid(struct p9_server *s, const struct statx *st, struct p9_qid *q);
uint64_t p9_host_qid_path(struct p9_server *s, dev_t dev, uint64_t ino);
/* xattrs of o itself (never of a symlink's target). */
ssize_t p9_host_getxattr(struct p9_server *s, struct p9_obj *o, const char *name, void *buf,
			 size_t size);
ssize_t p9_host_listxattr(struct p9_server *s, struct p9_obj *o, char *buf, size_t size);
int p9_host_setxattr(struct p9_server *s, struct p9_obj *o, const char *name, const void *val,
		     size_t size, int flags);
int p9_host_removexattr(struct p9_server *s, struct p9_obj *o, const char *name);
/* chmod of o itself (never of a symlink: -EOPNOTSUPP, as Linux). */
int p9_host_chmod(struct p9_server *s, struct p9_obj *o, mode_t mode);
/* chown of o itself, a symlink included; (uint32_t)-1 leaves that id alone. */
int p9_host_chown(struct p9_obj *o, uint32_t uid, uint32_t gid);

/* --- meta.c: owners, modes and xattr names in each mode (enum p9_owners) --- */
struct p9_meta {
	uint32_t mode, uid, gid;
	uint32_t rdev_major, rdev_minor;
};
/* What the guest sees for a file with host attributes st. */
void p9_meta_get(struct p9_server *s, const struct p9_mount_opts *opt, struct p9_obj *o,
		 const struct statx *st, struct p9_meta *m);
/* chmod/chown under the mount options; mode/uid/gid < 0 leaves that alone. */
int p9_meta_set(struct p9_server *s, const struct p9_mount_opts *opt, struct p9_obj *o,
		const struct statx *st, int64_t mode, int64_t uid, int64_t gid);
/*
 * The host mode (type and permission bits) to create the host object of a
 * new file of Linux mode `mode` with (S_IFREG, S_IFDIR, a device, FIFO or
 * socket): a device may be a plain host file. 0, -EPERM (no device can be
 * kept) or -EINVAL (no such type).
 */
int p9_meta_host_mode(const struct p9_mount_opts *opt, uint32_t mode, mode_t *host);
/* Record owner and mode (and rdev) of a file the guest just created. */
int p9_meta_created(struct p9_server *s, const struct p9_mount_opts *opt, struct p9_obj *o,
		    uint32_t mode, uint32_t uid, uint32_t gid, uint32_t major, uint32_t minor);
/* Room for a host xattr name (VolFs's prefix before the kernel's longest). */
#define P9_XNAME_MAX 300
/*
 * The host name for the guest's xattr name on o, into out: the same, or
 * VolFs's mapping. -ENODATA (get, set false) or -EPERM (set or remove) for
 * names that are the server's own; -EOPNOTSUPP, -ERANGE.
 */
int p9_meta_xattr_name(struct p9_server *s, const struct p9_mount_opts *opt, struct p9_obj *o,
		       const char *name, bool set, char out[P9_XNAME_MAX]);
/* A host listxattr result buf[0..len) made the guest's, in place; its new length. */
size_t p9_meta_xattr_list(const struct p9_mount_opts *opt, char *buf, size_t len);

/* --- host.c: descriptor budget (p9.h) --- */
/* The budget from RLIMIT_NOFILE, unless p9_set_fd_budget() fixed one. */
void p9_fd_budget_default(void);
/*
 * Count o against c's and the process's budget, once, unless it is the
 * server's root or already counted. Under c->lock: objs are shared only
 * between fids of one connection. 0, -EMFILE or -ENFILE.
 */
int p9_obj_charge(struct p9_conn *c, struct p9_obj *o);
/* Give back what o counted (its last reference is gone). */
void p9_obj_uncharge(struct p9_obj *o);

/* --- fid.c: fid table --- */
struct p9_fid *p9_fid_new(uint32_t id, uint32_t uid);
struct p9_fid *p9_fid_get(struct p9_conn *c, uint32_t id);
void p9_fid_put(struct p9_conn *c, struct p9_fid *f);
/* Add f (the table takes the caller's reference). -EBADF, -EEXIST, -EMFILE. */
int p9_fid_add(struct p9_conn *c, struct p9_fid *f);
/* Put nf in the table in old's place (old must still be there, else -EBADF). */
int p9_fid_replace(struct p9_conn *c, struct p9_fid *old, struct p9_fid *nf);
/* Take fid id out of the table; returns the table's reference or NULL. */
struct p9_fid *p9_fid_remove(struct p9_conn *c, uint32_t id);
void p9_fids_clear(struct p9_conn *c);

/* --- ops.c: one request, after decoding --- */
/*
 * Returns the reply length (a Tread's data in bulk counted), or -errno for
 * Rlerror. bulk->got must be 0 on entry; it is 0 again on an error.
 */
long p9_dispatch(struct p9_conn *c, const struct p9_msg *m, void *resp, size_t cap,
		 struct p9_bulk *bulk);

#endif
