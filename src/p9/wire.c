/*
 * wire.c - 9P2000.L decoder and reply encoder. See wire.h for the contract.
 *
 * The reader keeps a sticky error flag instead of checking each field: any
 * read past the end yields zeros and marks the message bad, and the decoder
 * looks at the flag once per message. That keeps each message's layout on
 * one screen, where it can be compared with the protocol text.
 */
#include <errno.h>
#include <string.h>

#include "p9/wire.h"

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	size_t rest; /* bytes of the message past p[len], held by the transport */
	bool bad;
};

static const uint8_t *r_take(struct rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint8_t r_u8(struct rbuf *r)
{
	const uint8_t *p = r_take(r, 1);

	return p ? p[0] : 0;
}

static uint16_t r_u16(struct rbuf *r)
{
	const uint8_t *p = r_take(r, 2);

	return p ? p9_get16(p) : 0;
}

static uint32_t r_u32(struct rbuf *r)
{
	const uint8_t *p = r_take(r, 4);

	return p ? p9_get32(p) : 0;
}

static uint64_t r_u64(struct rbuf *r)
{
	const uint8_t *p = r_take(r, 8);

	return p ? p9_get64(p) : 0;
}

static struct p9_str r_str(struct rbuf *r)
{
	struct p9_str s = {"", 0};
	uint16_t n = r_u16(r);
	const uint8_t *p = r_take(r, n);

	if (p) {
		s.s = (const char *)p;
		s.len = n;
	}
	return s;
}

static int decode_body(struct rbuf *r, struct p9_msg *m)
{
	switch (m->type) {
	case P9_TVERSION:
		m->u.version.msize = r_u32(r);
		m->u.version.version = r_str(r);
		break;
	case P9_TAUTH:
		m->u.auth.afid = r_u32(r);
		m->u.auth.uname = r_str(r);
		m->u.auth.aname = r_str(r);
		m->u.auth.n_uname = r_u32(r);
		break;
	case P9_TATTACH:
		m->u.attach.fid = r_u32(r);
		m->u.attach.afid = r_u32(r);
		m->u.attach.uname = r_str(r);
		m->u.attach.aname = r_str(r);
		m->u.attach.n_uname = r_u32(r);
		break;
	case P9_TFLUSH:
		m->u.flush.oldtag = r_u16(r);
		break;
	case P9_TWALK:
		m->u.walk.fid = r_u32(r);
		m->u.walk.newfid = r_u32(r);
		m->u.walk.nwname = r_u16(r);
		if (m->u.walk.nwname > P9_MAXWELEM)
			return -EPROTO;
		for (unsigned i = 0; i < m->u.walk.nwname; i++)
			m->u.walk.wname[i] = r_str(r);
		break;
	case P9_TREAD:
		m->u.read.fid = r_u32(r);
		m->u.read.offset = r_u64(r);
		m->u.read.count = r_u32(r);
		break;
	case P9_TWRITE:
		m->u.write.fid = r_u32(r);
		m->u.write.offset = r_u64(r);
		m->u.write.count = r_u32(r);
		if (!r->rest) {
			m->u.write.data = r_take(r, m->u.write.count);
		} else if (r->off != r->len || m->u.write.count > r->rest) {
			/* Split anywhere but at the data, or more data than sent. */
			r->bad = true;
		}
		break;
	case P9_TCLUNK:
	case P9_TREMOVE:
	case P9_TSTATFS:
	case P9_TREADLINK:
		m->u.fid.fid = r_u32(r);
		break;
	case P9_TFSYNC:
		m->u.fsync.fid = r_u32(r);
		/* Older clients send no datasync field. */
		m->u.fsync.datasync = r->len - r->off >= 4 ? r_u32(r) : 0;
		break;
	case P9_TLOPEN:
		m->u.lopen.fid = r_u32(r);
		m->u.lopen.flags = r_u32(r);
		break;
	case P9_TLCREATE:
		m->u.lcreate.fid = r_u32(r);
		m->u.lcreate.name = r_str(r);
		m->u.lcreate.flags = r_u32(r);
		m->u.lcreate.mode = r_u32(r);
		m->u.lcreate.gid = r_u32(r);
		break;
	case P9_TSYMLINK:
		m->u.symlink.fid = r_u32(r);
		m->u.symlink.name = r_str(r);
		m->u.symlink.target = r_str(r);
		m->u.symlink.gid = r_u32(r);
		break;
	case P9_TMKNOD:
		m->u.mknod.dfid = r_u32(r);
		m->u.mknod.name = r_str(r);
		m->u.mknod.mode = r_u32(r);
		m->u.mknod.major = r_u32(r);
		m->u.mknod.minor = r_u32(r);
		m->u.mknod.gid = r_u32(r);
		break;
	case P9_TRENAME:
		m->u.rename.fid = r_u32(r);
		m->u.rename.dfid = r_u32(r);
		m->u.rename.name = r_str(r);
		break;
	case P9_TGETATTR:
		m->u.getattr.fid = r_u32(r);
		m->u.getattr.mask = r_u64(r);
		break;
	case P9_TSETATTR:
		m->u.setattr.fid = r_u32(r);
		m->u.setattr.valid = r_u32(r);
		m->u.setattr.mode = r_u32(r);
		m->u.setattr.uid = r_u32(r);
		m->u.setattr.gid = r_u32(r);
		m->u.setattr.size = r_u64(r);
		m->u.setattr.atime_sec = r_u64(r);
		m->u.setattr.atime_nsec = r_u64(r);
		m->u.setattr.mtime_sec = r_u64(r);
		m->u.setattr.mtime_nsec = r_u64(r);
		break;
	case P9_TXATTRWALK:
		m->u.xattrwalk.fid = r_u32(r);
		m->u.xattrwalk.newfid = r_u32(r);
		m->u.xattrwalk.name = r_str(r);
		break;
	case P9_TXATTRCREATE:
		m->u.xattrcreate.fid = r_u32(r);
		m->u.xattrcreate.name = r_str(r);
		m->u.xattrcreate.size = r_u64(r);
		m->u.xattrcreate.flags = r_u32(r);
		break;
	case P9_TREADDIR:
		m->u.readdir.fid = r_u32(r);
		m->u.readdir.offset = r_u64(r);
		m->u.readdir.count = r_u32(r);
		break;
	case P9_TLOCK:
	case P9_TGETLOCK:
		m->u.lock.fid = r_u32(r);
		m->u.lock.type = r_u8(r);
		m->u.lock.flags = m->type == P9_TLOCK ? r_u32(r) : 0;
		m->u.lock.start = r_u64(r);
		m->u.lock.length = r_u64(r);
		m->u.lock.proc_id = r_u32(r);
		m->u.lock.client_id = r_str(r);
		break;
	case P9_TLINK:
		m->u.link.dfid = r_u32(r);
		m->u.link.fid = r_u32(r);
		m->u.link.name = r_str(r);
		break;
	case P9_TMKDIR:
		m->u.mkdir.dfid = r_u32(r);
		m->u.mkdir.name = r_str(r);
		m->u.mkdir.mode = r_u32(r);
		m->u.mkdir.gid = r_u32(r);
		break;
	case P9_TRENAMEAT:
		m->u.renameat.olddfid = r_u32(r);
		m->u.renameat.oldname = r_str(r);
		m->u.renameat.newdfid = r_u32(r);
		m->u.renameat.newname = r_str(r);
		break;
	case P9_TUNLINKAT:
		m->u.unlinkat.dfid = r_u32(r);
		m->u.unlinkat.name = r_str(r);
		m->u.unlinkat.flags = r_u32(r);
		break;
	default:
		return -EOPNOTSUPP;
	}
	return r->bad ? -EPROTO : 0;
}

int p9_decode_split(const void *msg, size_t len, size_t rest, uint32_t msize, struct p9_msg *m)
{
	const uint8_t *p = msg;
	struct rbuf r;

	memset(m, 0, sizeof(*m));
	if (!msg || len < P9_HDRSZ)
		return -EBADMSG;
	m->size = p9_get32(p);
	if (m->size < P9_HDRSZ || (m->size > len && m->size - len > rest))
		return -EBADMSG;
	m->type = p[4];
	m->tag = p9_get16(p + 5);
	if (m->size > msize)
		return -EMSGSIZE;
	r = (struct rbuf){.p = p, .len = m->size < len ? m->size : len, .off = P9_HDRSZ};
	r.rest = m->size - r.len;
	if (r.rest && (m->type != P9_TWRITE || len != P9_TWRITE_HDRSZ))
		return -EBADMSG;
	return decode_body(&r, m);
}

int p9_decode(const void *msg, size_t len, uint32_t msize, struct p9_msg *m)
{
	return p9_decode_split(msg, len, 0, msize, m);
}

void p9w_init(struct p9_wbuf *w, void *buf, size_t cap, uint8_t type, uint16_t tag)
{
	w->p = buf;
	w->cap = cap;
	w->off = 0;
	w->overflow = cap < P9_HDRSZ;
	if (w->overflow)
		return;
	p9_put32(w->p, 0);
	w->p[4] = type;
	p9_put16(w->p + 5, tag);
	w->off = P9_HDRSZ;
}

void *p9w_reserve(struct p9_wbuf *w, size_t n)
{
	void *p;

	if (w->overflow || n > w->cap - w->off) {
		w->overflow = true;
		return NULL;
	}
	p = w->p + w->off;
	w->off += n;
	return p;
}

size_t p9w_room(const struct p9_wbuf *w)
{
	return w->overflow ? 0 : w->cap - w->off;
}

void p9w_u8(struct p9_wbuf *w, uint8_t v)
{
	uint8_t *p = p9w_reserve(w, 1);

	if (p)
		*p = v;
}

void p9w_u16(struct p9_wbuf *w, uint16_t v)
{
	uint8_t *p = p9w_reserve(w, 2);

	if (p)
		p9_put16(p, v);
}

void p9w_u32(struct p9_wbuf *w, uint32_t v)
{
	uint8_t *p = p9w_reserve(w, 4);

	if (p)
		p9_put32(p, v);
}

void p9w_u64(struct p9_wbuf *w, uint64_t v)
{
	uint8_t *p = p9w_reserve(w, 8);

	if (p)
		p9_put64(p, v);
}

void p9w_str(struct p9_wbuf *w, const char *s, size_t len)
{
	uint8_t *p;

	if (len > UINT16_MAX) {
		w->overflow = true;
		return;
	}
	p = p9w_reserve(w, 2 + len);
	if (!p)
		return;
	p9_put16(p, (uint16_t)len);
	if (len)
		memcpy(p + 2, s, len);
}

void p9w_qid(struct p9_wbuf *w, const struct p9_qid *q)
{
	uint8_t *p = p9w_reserve(w, P9_QIDSZ);

	if (!p)
		return;
	p[0] = q->type;
	p9_put32(p + 1, q->version);
	p9_put64(p + 5, q->path);
}

size_t p9w_finish(struct p9_wbuf *w)
{
	if (w->overflow || w->off > UINT32_MAX)
		return 0;
	p9_put32(w->p, (uint32_t)w->off);
	return w->off;
}

size_t p9_lerror(void *buf, size_t cap, uint16_t tag, uint32_t err)
{
	struct p9_wbuf w;

	p9w_init(&w, buf, cap, P9_RLERROR, tag);
	p9w_u32(&w, err);
	return p9w_finish(&w);
}
