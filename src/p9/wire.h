/*
 * wire.h - the 9P2000.L codec: the one place that reads guest bytes.
 *
 * p9_decode() turns one T-message into a struct p9_msg. It checks framing
 * (the size field against the bytes the transport really has), every fixed
 * field against the end of the message, every string length against what is
 * left, the number of walk names against P9_MAXWELEM and Twrite's count
 * against its data. Strings are not copied and not NUL-terminated: they point
 * into the caller's buffer, which must outlive the struct. What a field
 * *means* (a fid that exists, a name without '/', an offset that fits off_t)
 * is the server's to check; the decoder only guarantees that every pointer
 * and length it returns stays inside the message.
 *
 * The encoder (struct p9_wbuf) writes a reply into a caller buffer of fixed
 * capacity; any write past the end sets `overflow` and writes nothing, so
 * handlers may encode blindly and check once at the end.
 */
#ifndef LXS_P9_WIRE_H
#define LXS_P9_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p9/proto.h"

struct p9_str {
	const char *s; /* into the message; not NUL-terminated; may hold NULs */
	uint16_t len;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

/* One decoded T-message. Only the member of the union named by `type` is set. */
struct p9_msg {
	uint32_t size;
	uint8_t type;
	uint16_t tag;
	union {
		struct {
			uint32_t msize;
			struct p9_str version;
		} version;
		struct {
			uint32_t afid;
			struct p9_str uname, aname;
			uint32_t n_uname;
		} auth;
		struct {
			uint32_t fid, afid;
			struct p9_str uname, aname;
			uint32_t n_uname;
		} attach;
		struct {
			uint16_t oldtag;
		} flush;
		struct {
			uint32_t fid, newfid;
			uint16_t nwname;
			struct p9_str wname[P9_MAXWELEM];
		} walk;
		struct {
			uint32_t fid;
			uint64_t offset;
			uint32_t count;
		} read;
		struct {
			uint32_t fid;
			uint64_t offset;
			uint32_t count;
			const uint8_t *data; /* count bytes, inside the message; NULL: split off */
		} write;
		struct {
			uint32_t fid;
		} fid; /* clunk, remove, statfs, readlink */
		struct {
			uint32_t fid;
			uint32_t datasync;
		} fsync;
		struct {
			uint32_t fid;
			uint32_t flags;
		} lopen;
		struct {
			uint32_t fid;
			struct p9_str name;
			uint32_t flags, mode, gid;
		} lcreate;
		struct {
			uint32_t fid;
			struct p9_str name, target;
			uint32_t gid;
		} symlink;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t mode, major, minor, gid;
		} mknod;
		struct {
			uint32_t fid, dfid;
			struct p9_str name;
		} rename;
		struct {
			uint32_t fid;
			uint64_t mask;
		} getattr;
		struct {
			uint32_t fid, valid, mode, uid, gid;
			uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
		} setattr;
		struct {
			uint32_t fid, newfid;
			struct p9_str name;
		} xattrwalk;
		struct {
			uint32_t fid;
			struct p9_str name;
			uint64_t size;
			uint32_t flags;
		} xattrcreate;
		struct {
			uint32_t fid;
			uint64_t offset;
			uint32_t count;
		} readdir;
		struct {
			uint32_t fid;
			uint8_t type;
			uint32_t flags; /* 0 for Tgetlock */
			uint64_t start, length;
			uint32_t proc_id;
			struct p9_str client_id;
		} lock; /* Tlock and Tgetlock */
		struct {
			uint32_t dfid, fid;
			struct p9_str name;
		} link;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t mode, gid;
		} mkdir;
		struct {
			uint32_t olddfid;
			struct p9_str oldname;
			uint32_t newdfid;
			struct p9_str newname;
		} renameat;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t flags;
		} unlinkat;
	} u;
};

/*
 * Decode the message in msg[0..len). Returns 0, or:
 *   -EBADMSG  framing is broken: fewer than 7 bytes, or a size field below 7
 *             or above len. m->tag is meaningless; no reply can be addressed.
 *   -EMSGSIZE size exceeds `msize` (m->type and m->tag are valid).
 *   -EPROTO   the body is malformed (m->type and m->tag are valid).
 *   -EOPNOTSUPP the type is not a 9P2000.L request (m->type, m->tag valid).
 * Bytes between the last field and `size` are ignored (newer clients append
 * fields, e.g. Tfsync's datasync); bytes after `size` are not looked at.
 */
int p9_decode(const void *msg, size_t len, uint32_t msize, struct p9_msg *m);

/*
 * p9_decode() of a message whose first len bytes are in msg and whose next
 * `rest` bytes the transport holds elsewhere (the guest's pages). Only a
 * Twrite may be split, and only where its data starts (len ==
 * P9_TWRITE_HDRSZ); its data is then the first `count` bytes of the rest and
 * m->u.write.data is NULL. A size field beyond len + rest is -EBADMSG, as is
 * any other split; a count beyond the rest, -EPROTO.
 */
int p9_decode_split(const void *msg, size_t len, size_t rest, uint32_t msize, struct p9_msg *m);

/* A reply being encoded. */
struct p9_wbuf {
	uint8_t *p;
	size_t cap, off;
	bool overflow;
};

/* Start a reply of `type` with `tag` in buf[0..cap): reserves the header. */
void p9w_init(struct p9_wbuf *w, void *buf, size_t cap, uint8_t type, uint16_t tag);
void p9w_u8(struct p9_wbuf *w, uint8_t v);
void p9w_u16(struct p9_wbuf *w, uint16_t v);
void p9w_u32(struct p9_wbuf *w, uint32_t v);
void p9w_u64(struct p9_wbuf *w, uint64_t v);
void p9w_str(struct p9_wbuf *w, const char *s, size_t len); /* len > 65535 overflows */
void p9w_qid(struct p9_wbuf *w, const struct p9_qid *q);
/* Room for n raw bytes the caller fills in; NULL (and overflow) if it won't fit. */
void *p9w_reserve(struct p9_wbuf *w, size_t n);
/* Bytes still free. */
size_t p9w_room(const struct p9_wbuf *w);
/* Patch the size field; returns the message length, or 0 after an overflow. */
size_t p9w_finish(struct p9_wbuf *w);

/* Rlerror(err) into buf; returns P9_LERRORSZ, or 0 if cap is too small. */
size_t p9_lerror(void *buf, size_t cap, uint16_t tag, uint32_t err);

/* Little-endian loads/stores, for code that patches or peeks at messages. */
static inline uint16_t p9_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t p9_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t p9_get64(const uint8_t *p)
{
	return (uint64_t)p9_get32(p) | (uint64_t)p9_get32(p + 4) << 32;
}

static inline void p9_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void p9_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void p9_put64(uint8_t *p, uint64_t v)
{
	p9_put32(p, (uint32_t)v);
	p9_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
