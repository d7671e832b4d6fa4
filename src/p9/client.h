/*
 * client.h - a 9P2000.L client with no transport in it, for lxs-fs (the host
 * side of distro files). It encodes T-messages and reads every R-message as
 * hostile: the server is a guest (or a folder anyone could have written).
 *
 * Checks on each reply, before anything in it is used: the size field equals
 * the bytes the transport delivered and fits msize, the tag and type answer
 * the request (or it is an Rlerror, whose code is clamped to 1..4095, else
 * EIO, as is ENOTCONN, which only the transport may say), every field and string lies inside the
 * message, counts are no more than what was asked (Rread, Rwrite, Rwalk's qids), a readlink target
 * and a directory entry's name hold no NUL, and a name no '/' and is not empty. Anything else is
 * -EPROTO to the caller, never a crash or an overrun.
 *
 * Threads: any number may call at once. Tags and fids are the client's to
 * hand out (a tag is held only while its call runs); the transport delivers
 * each reply to the call that sent its tag.
 */
#ifndef LXS_P9_CLIENT_H
#define LXS_P9_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p9/proto.h"
#include "p9/watch.h"
#include "p9/wire.h"

/*
 * How requests reach a server: send req[0..len) and wait for the reply with
 * the same tag into resp[0..cap), its length in *rlen. Returns 0 or -errno
 * (-ENOTCONN once the server is gone; the client then fails every call the
 * same way). Called from many threads at once.
 */
struct p9c_transport {
	int (*call)(void *arg, const void *req, size_t len, void *resp, size_t cap, size_t *rlen);
	void *arg;
};

struct p9c;

/*
 * Fids a client hands out at most: one per file the host's kernel keeps, so
 * a `find` over a distro needs tens of thousands (the servers of lxs-fs
 * allow as many: src/guest/distrofs.c, src/distrofs/distros.c).
 */
#define P9C_MAX_FIDS (1u << 18)

/* Tversion for at most msize (the server may agree to less). 0 or -errno. */
int p9c_new(const struct p9c_transport *t, uint32_t msize, struct p9c **out);
void p9c_free(struct p9c *c);
/* The transport said the server is gone: every call fails with -ENOTCONN. */
bool p9c_dead(const struct p9c *c);
/* The agreed msize, and the most data one Tread or Twrite carries. */
uint32_t p9c_msize(const struct p9c *c);
uint32_t p9c_iounit(const struct p9c *c);

/* A fid number not in use (-EMFILE when all are), and its return after Tclunk (once). */
int p9c_fid_new(struct p9c *c, uint32_t *fid);
void p9c_fid_put(struct p9c *c, uint32_t fid);

struct p9c_attr {
	uint64_t valid;
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct p9c_setattr {
	uint32_t valid; /* P9_SETATTR_* */
	uint32_t mode, uid, gid;
	uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

struct p9c_statfs {
	uint32_t type, bsize;
	uint64_t blocks, bfree, bavail, files, ffree, fsid;
	uint32_t namelen;
};

struct p9c_dirent {
	struct p9_qid qid;
	uint64_t offset; /* where the next entry starts */
	uint8_t type;    /* DT_* */
	char name[256];
};

int p9c_attach(struct p9c *c, uint32_t fid, const char *uname, const char *aname, uint32_t n_uname,
	       struct p9_qid *qid);
/* Walk n names (0: a clone). Every name must be walked, else -ENOENT; qids may be NULL. */
int p9c_walk(struct p9c *c, uint32_t fid, uint32_t newfid, unsigned n, const char *const *names,
	     struct p9_qid *qids);
int p9c_clunk(struct p9c *c, uint32_t fid);
int p9c_getattr(struct p9c *c, uint32_t fid, uint64_t mask, struct p9c_attr *a);
int p9c_setattr(struct p9c *c, uint32_t fid, const struct p9c_setattr *s);
int p9c_lopen(struct p9c *c, uint32_t fid, uint32_t flags, struct p9_qid *qid);
int p9c_lcreate(struct p9c *c, uint32_t fid, const char *name, uint32_t flags, uint32_t mode,
		uint32_t gid, struct p9_qid *qid);
/* At most p9c_iounit bytes each: bytes moved, or -errno. */
long p9c_read(struct p9c *c, uint32_t fid, uint64_t off, void *buf, uint32_t count);
long p9c_write(struct p9c *c, uint32_t fid, uint64_t off, const void *buf, uint32_t count);
/* Raw entries into buf (at most p9c_iounit bytes): bytes, 0 at the end, or -errno. */
long p9c_readdir(struct p9c *c, uint32_t fid, uint64_t off, void *buf, uint32_t count);
/*
 * The entry at *pos of a p9c_readdir result: 1 (and *pos moves past it), 0
 * at the end, -EPROTO for a malformed entry or name.
 */
int p9c_dirent_next(const void *buf, size_t len, size_t *pos, struct p9c_dirent *d);
int p9c_mkdir(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode, uint32_t gid,
	      struct p9_qid *qid);
int p9c_symlink(struct p9c *c, uint32_t dfid, const char *name, const char *target, uint32_t gid,
		struct p9_qid *qid);
int p9c_mknod(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode, uint32_t major,
	      uint32_t minor, uint32_t gid, struct p9_qid *qid);
int p9c_link(struct p9c *c, uint32_t dfid, uint32_t fid, const char *name);
int p9c_unlinkat(struct p9c *c, uint32_t dfid, const char *name, uint32_t flags);
int p9c_renameat(struct p9c *c, uint32_t olddfid, const char *oldname, uint32_t newdfid,
		 const char *newname);
/* The target, NUL-terminated, into buf[0..cap): its length, or -errno (-ENAMETOOLONG). */
long p9c_readlink(struct p9c *c, uint32_t fid, char *buf, size_t cap);
int p9c_statfs(struct p9c *c, uint32_t fid, struct p9c_statfs *s);
int p9c_fsync(struct p9c *c, uint32_t fid, bool datasync);
/* newfid reads the attribute's value (name "" : the list of names); *size its length. */
int p9c_xattrwalk(struct p9c *c, uint32_t fid, uint32_t newfid, const char *name, uint64_t *size);
/* fid becomes the attribute's writer: Twrite the value, Tclunk commits. */
int p9c_xattrcreate(struct p9c *c, uint32_t fid, const char *name, uint64_t size, uint32_t flags);

/*
 * lxs's watch (p9/watch.h): blocks until the server has changes to tell
 * (the first call answers at once, with P9_WATCH_ARMED in *flags). The
 * records, every one checked, go to buf[0..cap) (cap >= msize), *len bytes,
 * read with p9c_watch_next. -errno from a server that does not watch.
 */
struct p9c_watch_rec {
	uint8_t kind; /* enum p9_watch_kind */
	uint64_t ino, dir;
	char name[P9_WATCH_NAME_MAX + 1];
};
int p9c_watch(struct p9c *c, void *buf, size_t cap, uint32_t *flags, size_t *len);
/* The record at *pos: 1 (*pos moves past it), 0 at the end, -EPROTO if malformed. */
int p9c_watch_next(const void *buf, size_t len, size_t *pos, struct p9c_watch_rec *rec);

#endif
