/*
 * internal.h - what the files of src/p9 share: the server, connection and
 * fid structures and the helpers between them. Not for users of the library
 * (they have p9.h). Everything that touches the host goes through
 * src/hostfs (hostfs.h).
 *
 * Ownership: an hfs_obj is one O_PATH descriptor of a host inode, reference
 * counted and immutable; fids point at objs (a clone shares them, so the
 * number of descriptors tracks the distinct files the guest holds, not the
 * fids; an open fid's obj is its open descriptor, so it holds one, and
 * what fids hold is counted against the connection's hfs_budget and the
 * process's, p9.h). A fid is reference counted under its connection's lock:
 * the fid table holds one reference, each request using it another, so a
 * Tclunk racing a Tread frees the fid only after the read is done.
 */
#ifndef LXS_P9_INTERNAL_H
#define LXS_P9_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hostfs/hostfs.h"
#include "p9/p9.h"
#include "p9/wire.h"

/* A share served over 9P: the host side is the hostfs's, the rest 9P's. */
struct p9_server {
	struct hostfs *h;
	struct hfs_opts opts;
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
	struct hfs_obj *obj;  /* what it names */
	struct hfs_obj *dir;  /* directory it was found in, or NULL (root, "..") */
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
	struct hfs_budget budget; /* descriptors of objs charged to it; max is lim.max_fds */
	/*
	 * The server's options, or those the first Tattach named in its aname
	 * (p9.h); set before any fid exists and never changed after, so requests
	 * read them without the lock.
	 */
	struct hfs_opts opts;
	bool opts_from_attach;
};

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
