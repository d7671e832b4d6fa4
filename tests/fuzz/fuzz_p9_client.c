// fuzz-link: src/p9/client.c src/p9/wire.c
/*
 * fuzz_p9_client.c - libFuzzer target for the 9P2000.L client
 * (src/p9/client.c) against a hostile server: every reply it gets comes
 * from the input.
 *
 * Input: a byte choosing the msize p9c_new asks for (from 100 to 16 MiB),
 * then the Rversion reply, then operations: an operation byte, its
 * arguments (fids, counts, names, flags) and, when the client sends a
 * request, the reply. A reply is ctrl[1] len[2] bytes[len]: ctrl 0xff makes
 * the transport fail with -ENOTCONN and 0xfe with -EIO (no bytes then);
 * otherwise the bytes are delivered (cut at the input's end and at the
 * capacity) after patching, so that parsing gets past the frame checks:
 *   ctrl bit 0  the request's tag copied in;
 *   ctrl bit 1  the size field set to the length;
 *   ctrl bit 2  the type set to the request's reply type;
 *   ctrl bits 3-4 both set: the transport claims one byte more than the
 *               capacity (the client must refuse it).
 * Operations: every call of client.h (attach, walk of 0..17 names, clunk,
 * getattr, setattr, lopen, lcreate, read, readdir with p9c_dirent_next over
 * its result, write, mkdir, symlink, mknod, link, unlinkat, renameat,
 * readlink, statfs, fsync, xattrwalk, xattrcreate, lxs's watch with
 * p9c_watch_next over its records), fid_new/fid_put, and p9c_dirent_next
 * over raw input bytes.
 *
 * Checked with abort(), besides crashes and sanitizer reports (buffers are
 * allocated at exactly the size the call is given, so any overrun is one):
 * - each request is a well-formed T-message (p9_decode accepts it, or it
 *   is a bare Tlxswatch) no longer than msize, with a tag that is not
 *   NOTAG except Tversion's;
 * - every error is a negative errno in 1..4095; a transport error is
 *   returned as is; a reply whose frame is wrong (length below a header or
 *   above the capacity, size field not the length, another tag, a type that
 *   is neither the answer nor Rlerror) is -EPROTO, and an Rlerror gives its
 *   code when in 1..4095 and not ENOTCONN, else -EIO;
 * - p9c_new agrees to an msize in 4096..what it asked, iounit msize - 23;
 * - read, readdir and write return no more than asked nor than iounit, and
 *   what read returns is the reply's data;
 * - p9c_dirent_next gives names that are not empty, hold no '/' (nor NUL)
 *   and are shorter than 256, moves its position forward within the
 *   buffer, and leaves it alone on -EPROTO;
 * - readlink's target is NUL-terminated, not empty, its length < cap, the
 *   reply's; the same reply again fits r + 1 bytes and not r;
 * - getattr gives a valid file type and nanoseconds below 1e9;
 * - a watch that succeeds has only defined flags and records that
 *   p9c_watch_next reads to the end, each of a known kind, a NAME with a
 *   name that is not empty, ".", ".." nor holds '/', the others with none;
 * - after the transport's -ENOTCONN, p9c_dead() holds and every later call
 *   fails with -ENOTCONN without reaching the transport (an Rlerror of
 *   ENOTCONN is that call's -EIO only: the client stays alive).
 * With LXS_FUZZ_SEED_DIR set to an empty directory, a few seeds (a session
 * with well-formed replies to each call) are written there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p9/client.h"
#include "p9/wire.h"
#define FUZZ_NAME "fuzz_p9_client"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 64
#define IO_MAX  (70u << 10) /* the largest count asked */

static const uint32_t msizes[8] = {100, 4096, 4097, 8192, 65536, 1u << 20, 16u << 20, 12345};

enum {
	OP_ATTACH,
	OP_WALK,
	OP_CLUNK,
	OP_GETATTR,
	OP_SETATTR,
	OP_LOPEN,
	OP_LCREATE,
	OP_READ,
	OP_READDIR,
	OP_WRITE,
	OP_MKDIR,
	OP_SYMLINK,
	OP_MKNOD,
	OP_LINK,
	OP_UNLINKAT,
	OP_RENAMEAT,
	OP_READLINK,
	OP_STATFS,
	OP_FSYNC,
	OP_XATTRWALK,
	OP_XATTRCREATE,
	OP_FIDS,
	OP_DIRENTS,
	OP_WATCH,
	OP_COUNT
};

/* The fake transport: what it was sent, what it answered. */
static struct fake {
	struct fz in;
	unsigned calls;
	int expect;          /* what the frame alone decides the call returns; 0: its body does */
	uint8_t type;        /* of the last request */
	uint32_t count;      /* the last Tread's, Treaddir's or Twrite's count */
	bool replay;         /* answer with the last reply again (its tag renewed) */
	bool gone;           /* the transport said -ENOTCONN (not an Rlerror of it) */
	size_t n;            /* the last reply's length */
	const uint8_t *body; /* the last reply's bytes from P9_HDRSZ on, as delivered */
	size_t body_len;
	uint8_t reply[IO_MAX + 64];
} F;

static int fake_call(void *arg, const void *req, size_t len, void *resp, size_t cap, size_t *rlen)
{
	const uint8_t *q = req;
	uint8_t *r = resp;
	struct p9_msg m;
	uint8_t ctrl;
	size_t n;

	(void)arg;
	F.calls++;
	F.body = NULL;
	F.body_len = 0;
	/* the request: well-formed, within msize (the capacity), tagged */
	CHECK(len >= P9_HDRSZ && len <= cap && p9_get32(q) == len);
	if (q[4] == P9_TLXSWATCH) {
		CHECK(len == P9_HDRSZ && p9_get16(q + 5) != P9_NOTAG);
		m.type = P9_TLXSWATCH;
	} else {
		CHECK(p9_decode(req, len, (uint32_t)cap, &m) == 0);
		CHECK((m.type == P9_TVERSION) == (m.tag == P9_NOTAG));
	}
	F.type = q[4];
	F.count = 0;
	if (m.type == P9_TREAD || m.type == P9_TREADDIR)
		F.count = m.u.read.count;
	else if (m.type == P9_TWRITE)
		F.count = m.u.write.count;
	/* what comes back for it fits msize */
	CHECK(F.count <= cap - P9_TWRITE_HDRSZ);

	if (F.replay) {
		p9_put16(F.reply + 5, p9_get16(q + 5));
		memcpy(r, F.reply, F.n);
		*rlen = F.n;
		return 0;
	}
	ctrl = fz_u8(&F.in);
	if (ctrl == 0xff) {
		F.expect = -ENOTCONN;
		F.gone = true;
		return -ENOTCONN;
	}
	if (ctrl == 0xfe) {
		F.expect = -EIO;
		return -EIO;
	}
	n = fz_u16(&F.in);
	if (n > F.in.n - F.in.off)
		n = F.in.n - F.in.off;
	if (n > cap)
		n = cap;
	if (n > sizeof(F.reply))
		n = sizeof(F.reply);
	memcpy(F.reply, F.in.p + F.in.off, n);
	F.in.off += n;
	if ((ctrl & 1) && n >= P9_HDRSZ)
		p9_put16(F.reply + 5, p9_get16(q + 5));
	*rlen = (ctrl & 0x18) == 0x18 ? cap + 1 : n;
	if ((ctrl & 2) && n >= 4)
		p9_put32(F.reply, (uint32_t)*rlen);
	if ((ctrl & 4) && n >= 5)
		F.reply[4] = (uint8_t)(q[4] + 1);
	memcpy(r, F.reply, n);
	F.n = n;

	/* What the frame decides. */
	if (*rlen < P9_HDRSZ || *rlen > cap || p9_get32(F.reply) != *rlen ||
	    p9_get16(F.reply + 5) != p9_get16(q + 5)) {
		F.expect = -EPROTO;
	} else if (F.reply[4] == P9_RLERROR) {
		if (n < P9_HDRSZ + 4) {
			F.expect = -EPROTO;
		} else {
			uint32_t e = p9_get32(F.reply + P9_HDRSZ);

			F.expect = e == 0 || e > 4095 || e == ENOTCONN ? -EIO : -(int)e;
		}
	} else if (F.reply[4] != q[4] + 1) {
		F.expect = -EPROTO;
	} else {
		F.expect = 0;
		F.body = F.reply + P9_HDRSZ;
		F.body_len = n - P9_HDRSZ;
	}
	return 0;
}

static const struct p9c_transport T = {.call = fake_call};

/*
 * The least body a reply of the last request's type must have for the call
 * to succeed: every field the client reads (Rgetattr's up to ctime_nsec).
 */
static size_t body_need(void)
{
	const uint8_t *b = F.body;
	size_t len = F.body_len;

	switch (F.type) {
	case P9_TVERSION:
		return len >= 6 ? 6u + p9_get16(b + 4) : 6;
	case P9_TATTACH:
	case P9_TMKDIR:
	case P9_TSYMLINK:
	case P9_TMKNOD:
		return P9_QIDSZ;
	case P9_TWALK:
		return len >= 2 ? 2u + P9_QIDSZ * (size_t)p9_get16(b) : 2;
	case P9_TGETATTR:
		return 8 + P9_QIDSZ + 3 * 4 + 11 * 8;
	case P9_TLOPEN:
	case P9_TLCREATE:
		return P9_QIDSZ + 4;
	case P9_TREAD:
	case P9_TREADDIR:
		return len >= 4 ? 4u + p9_get32(b) : 4;
	case P9_TWRITE:
		return 4;
	case P9_TREADLINK:
		return len >= 2 ? 2u + p9_get16(b) : 2;
	case P9_TSTATFS:
		return 4 + 4 + 6 * 8 + 4;
	case P9_TXATTRWALK:
		return 8;
	case P9_TLXSWATCH:
		return 6;
	default:
		return 0;
	}
}

static void check_err(long r)
{
	CHECK(r >= -4095);
}

/*
 * A call's result against what the transport saw: before is F.calls
 * before it; sends says whether it must have reached the transport.
 */
static void check_call(struct p9c *c, long r, unsigned before, bool was_dead)
{
	check_err(r);
	if (was_dead) {
		CHECK(r == -ENOTCONN && F.calls == before);
		return;
	}
	if (F.calls == before)
		return; /* refused before sending (an argument too big) */
	CHECK(F.calls == before + 1);
	if (F.expect)
		CHECK(r == F.expect);
	if (r >= 0)
		CHECK(F.body && F.body_len >= body_need());
	if (F.gone)
		CHECK(p9c_dead(c));
	else
		CHECK(!p9c_dead(c));
}

/* A short name from the input (1..24 bytes, any but NUL), or "" when the byte says so. */
static void fz_name(struct fz *f, char *out, size_t cap)
{
	size_t n = fz_u8(f) % 25, i;

	for (i = 0; i < n && i + 1 < cap; i++) {
		uint8_t b = fz_u8(f);

		out[i] = (char)(b ? b : 'x');
	}
	out[i] = '\0';
}

static uint32_t fz_fid(struct fz *f)
{
	uint8_t b = fz_u8(f);

	return b == 0xff ? fz_u32(f) : b % 8;
}

static void check_dirents(const uint8_t *buf, size_t len)
{
	struct p9c_dirent d;
	size_t pos = 0;
	int r;

	for (int i = 0; i < 10000; i++) {
		size_t before = pos;

		r = p9c_dirent_next(buf, len, &pos, &d);
		CHECK(r == 1 || r == 0 || r == -EPROTO);
		if (r != 1) {
			CHECK(pos == before);
			CHECK(r != 0 || pos >= len);
			return;
		}
		CHECK(pos > before && pos <= len);
		CHECK(d.name[0] && strlen(d.name) < sizeof(d.name) && !strchr(d.name, '/'));
		CHECK(pos - before == 24 + strlen(d.name)); /* so no NUL inside either */
	}
	CHECK(!"dirent loop ended");
}

static void check_attr(const struct p9c_attr *a)
{
	switch (a->mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		CHECK(!"getattr gave a bad file type");
	}
	CHECK(a->atime_nsec < 1000000000u && a->mtime_nsec < 1000000000u &&
	      a->ctime_nsec < 1000000000u);
}

static void one_op(struct p9c *c, struct fz *f)
{
	uint8_t op = fz_u8(f) % OP_COUNT;
	bool dead = p9c_dead(c);
	unsigned before = F.calls;
	char a[32], b[32];
	struct p9_qid qid;
	long r = 0;

	switch (op) {
	case OP_ATTACH: {
		uint32_t fid = fz_fid(f), n_uname;
		bool want;

		fz_name(f, a, sizeof(a));
		fz_name(f, b, sizeof(b));
		n_uname = fz_u32(f);
		want = fz_u8(f) & 1;
		r = p9c_attach(c, fid, a, b, n_uname, want ? &qid : NULL);
		break;
	}
	case OP_WALK: {
		unsigned n = fz_u8(f) % (P9_MAXWELEM + 2);
		uint32_t fid = fz_fid(f), newfid = fz_fid(f);
		char names[P9_MAXWELEM + 1][8];
		const char *pn[P9_MAXWELEM + 1];
		struct p9_qid *qids = NULL;

		for (unsigned i = 0; i < n; i++) {
			fz_name(f, names[i], sizeof(names[i]));
			pn[i] = names[i];
		}
		if (fz_u8(f) & 1)
			qids = malloc((n ? n : 1) * sizeof(*qids));
		r = p9c_walk(c, fid, newfid, n, pn, qids);
		free(qids);
		if (n > P9_MAXWELEM) {
			CHECK(r == -EINVAL && F.calls == before);
			return;
		}
		CHECK(r != 0 || F.expect == 0);
		break;
	}
	case OP_CLUNK:
		r = p9c_clunk(c, fz_fid(f));
		break;
	case OP_GETATTR: {
		struct p9c_attr at;
		uint32_t fid = fz_fid(f);

		r = p9c_getattr(c, fid, fz_u64(f), &at);
		if (r == 0)
			check_attr(&at);
		break;
	}
	case OP_SETATTR: {
		struct p9c_setattr s = {0};
		uint32_t fid = fz_fid(f);

		s.valid = fz_u32(f);
		s.mode = fz_u32(f);
		s.size = fz_u64(f);
		r = p9c_setattr(c, fid, &s);
		break;
	}
	case OP_LOPEN: {
		uint32_t fid = fz_fid(f), flags = fz_u32(f);
		bool want = fz_u8(f) & 1;

		r = p9c_lopen(c, fid, flags, want ? &qid : NULL);
		break;
	}
	case OP_LCREATE: {
		uint32_t fid = fz_fid(f), flags, mode, gid;

		fz_name(f, a, sizeof(a));
		flags = fz_u32(f);
		mode = fz_u32(f);
		gid = fz_u32(f);
		r = p9c_lcreate(c, fid, a, flags, mode, gid, &qid);
		break;
	}
	case OP_READ:
	case OP_READDIR: {
		uint32_t fid = fz_fid(f), count = fz_u32(f) % IO_MAX;
		uint64_t off = fz_u64(f);
		uint8_t *buf = malloc(count ? count : 1);

		if (!buf)
			return;
		if (op == OP_READ)
			r = p9c_read(c, fid, off, buf, count);
		else
			r = p9c_readdir(c, fid, off, buf, count);
		CHECK(r <= (long)count && r <= (long)p9c_iounit(c));
		if (F.calls != before)
			CHECK(F.count == (count < p9c_iounit(c) ? count : p9c_iounit(c)));
		if (r >= 0 && !dead) {
			/* the reply's count[4] then the data */
			CHECK(F.body && F.body_len >= 4 + (size_t)r && p9_get32(F.body) == r);
			CHECK(memcmp(buf, F.body + 4, (size_t)r) == 0);
			if (op == OP_READDIR)
				check_dirents(buf, (size_t)r);
		}
		free(buf);
		break;
	}
	case OP_WRITE: {
		uint32_t fid = fz_fid(f), count = fz_u32(f) % IO_MAX;
		uint64_t off = fz_u64(f);
		uint8_t *buf = malloc(count ? count : 1);

		if (!buf)
			return;
		memset(buf, 'w', count);
		r = p9c_write(c, fid, off, buf, count);
		CHECK(r <= (long)count && r <= (long)p9c_iounit(c));
		if (F.calls != before)
			CHECK(F.count == (count < p9c_iounit(c) ? count : p9c_iounit(c)));
		free(buf);
		break;
	}
	case OP_MKDIR: {
		uint32_t fid = fz_fid(f), mode, gid;

		fz_name(f, a, sizeof(a));
		mode = fz_u32(f);
		gid = fz_u32(f);
		r = p9c_mkdir(c, fid, a, mode, gid, &qid);
		break;
	}
	case OP_SYMLINK: {
		uint32_t fid = fz_fid(f), gid;

		fz_name(f, a, sizeof(a));
		fz_name(f, b, sizeof(b));
		gid = fz_u32(f);
		r = p9c_symlink(c, fid, a, b, gid, &qid);
		break;
	}
	case OP_MKNOD: {
		uint32_t fid = fz_fid(f), mode, major, minor, gid;

		fz_name(f, a, sizeof(a));
		mode = fz_u32(f);
		major = fz_u32(f);
		minor = fz_u32(f);
		gid = fz_u32(f);
		r = p9c_mknod(c, fid, a, mode, major, minor, gid, &qid);
		break;
	}
	case OP_LINK: {
		uint32_t dfid = fz_fid(f), fid = fz_fid(f);

		fz_name(f, a, sizeof(a));
		r = p9c_link(c, dfid, fid, a);
		break;
	}
	case OP_UNLINKAT: {
		uint32_t fid = fz_fid(f), flags;

		fz_name(f, a, sizeof(a));
		flags = fz_u32(f);
		r = p9c_unlinkat(c, fid, a, flags);
		break;
	}
	case OP_RENAMEAT: {
		uint32_t o = fz_fid(f), nf;

		fz_name(f, a, sizeof(a));
		nf = fz_fid(f);
		fz_name(f, b, sizeof(b));
		r = p9c_renameat(c, o, a, nf, b);
		break;
	}
	case OP_READLINK: {
		uint32_t fid = fz_fid(f);
		uint8_t pick = fz_u8(f);
		size_t cap = pick < 0xc0 ? pick % 24u : fz_u16(f) % 600u;
		char *buf = malloc(cap ? cap : 1);

		if (!buf)
			return;
		r = p9c_readlink(c, fid, buf, cap);
		check_call(c, r, before, dead);
		if (r >= 0) {
			CHECK(r > 0 && (size_t)r < cap && buf[r] == '\0' &&
			      strlen(buf) == (size_t)r);
			CHECK(F.body && p9_get16(F.body) == r &&
			      !memcmp(buf, F.body + 2, (size_t)r));
			/* the same reply into exactly r + 1 bytes, then into r */
			F.replay = true;
			for (size_t k = 0; k < 2; k++) {
				size_t cap2 = (size_t)r + 1 - k;
				char *b2 = malloc(cap2);
				long r2;

				if (!b2)
					break;
				memset(b2, 'X', cap2);
				r2 = p9c_readlink(c, fid, b2, cap2);
				if (k == 0)
					CHECK(r2 == r && !strcmp(b2, buf));
				else
					CHECK(r2 == -ENAMETOOLONG && b2[0] == 'X');
				free(b2);
			}
			F.replay = false;
		}
		free(buf);
		return;
	}
	case OP_STATFS: {
		struct p9c_statfs s;

		r = p9c_statfs(c, fz_fid(f), &s);
		break;
	}
	case OP_FSYNC: {
		uint32_t fid = fz_fid(f);
		bool datasync = fz_u8(f) & 1;

		r = p9c_fsync(c, fid, datasync);
		break;
	}
	case OP_XATTRWALK: {
		uint32_t fid = fz_fid(f), newfid = fz_fid(f);
		uint64_t size;

		fz_name(f, a, sizeof(a));
		r = p9c_xattrwalk(c, fid, newfid, a, &size);
		break;
	}
	case OP_XATTRCREATE: {
		uint32_t fid = fz_fid(f), flags;
		uint64_t size;

		fz_name(f, a, sizeof(a));
		size = fz_u64(f);
		flags = fz_u32(f);
		r = p9c_xattrcreate(c, fid, a, size, flags);
		break;
	}
	case OP_FIDS: {
		uint32_t fid, fid2;
		unsigned n = fz_u8(f);

		/* take n, give back the last, and it comes back next */
		for (unsigned i = 0; i < n; i++) {
			r = p9c_fid_new(c, &fid);
			CHECK(r == 0 || r == -EMFILE);
			if (r)
				break;
		}
		if (n && !r) {
			p9c_fid_put(c, fid);
			CHECK(p9c_fid_new(c, &fid2) == 0 && fid2 == fid);
		}
		CHECK(F.calls == before);
		return;
	}
	case OP_WATCH: {
		size_t cap = p9c_msize(c), len = 0, pos = 0;
		uint8_t *buf = malloc(cap);
		struct p9c_watch_rec rec;
		uint32_t flags = 0;
		int k;

		if (!buf)
			return;
		r = p9c_watch(c, buf, cap, &flags, &len);
		check_call(c, r, before, dead);
		if (r == 0) {
			CHECK(!(flags & ~(P9_WATCH_ARMED | P9_WATCH_LOST)) && len <= cap);
			while ((k = p9c_watch_next(buf, len, &pos, &rec)) == 1) {
				size_t nl = strlen(rec.name);

				CHECK(rec.kind == P9_WATCH_NAME || rec.kind == P9_WATCH_ATTR ||
				      rec.kind == P9_WATCH_DATA);
				if (rec.kind == P9_WATCH_NAME)
					CHECK(nl && strcmp(rec.name, ".") && strcmp(rec.name, "..") &&
					      !strchr(rec.name, '/'));
				else
					CHECK(nl == 0);
			}
			CHECK(k == 0 && pos == len);
		}
		free(buf);
		return;
	}
	case OP_DIRENTS: {
		size_t n = fz_u16(f) % 2048;
		uint8_t *buf;

		if (n > f->n - f->off)
			n = f->n - f->off;
		buf = malloc(n ? n : 1);
		if (!buf)
			return;
		memcpy(buf, f->p + f->off, n);
		f->off += n;
		check_dirents(buf, n);
		free(buf);
		CHECK(F.calls == before);
		return;
	}
	}
	check_call(c, r, before, dead);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p9c *c = NULL;
	uint32_t ask;
	unsigned before;
	int r;

	memset(&F, 0, offsetof(struct fake, reply));
	F.in = (struct fz){.p = data, .n = size};
	ask = msizes[fz_u8(&F.in) % 8];
	before = F.calls;
	r = p9c_new(&T, ask, &c);
	check_err(r);
	CHECK(F.calls == before + 1);
	if (F.expect)
		CHECK(r == F.expect);
	if (r) {
		CHECK(!c);
		return 0;
	}
	CHECK(c);
	/* exactly "9P2000.L", and the msize it names */
	CHECK(F.body && F.body_len >= 14 && p9_get16(F.body + 4) == 8 &&
	      !memcmp(F.body + 6, "9P2000.L", 8) && p9c_msize(c) == p9_get32(F.body));
	CHECK(p9c_msize(c) >= 4096 && p9c_msize(c) <= (ask < 4096 ? 4096 : ask));
	CHECK(p9c_iounit(c) == p9c_msize(c) - P9_TWRITE_HDRSZ);
	CHECK(!p9c_dead(c));
	for (int i = 0; i < MAX_OPS && fz_left(&F.in); i++)
		one_op(c, &F.in);
	p9c_free(c);
	return 0;
}

/* --- seeds ---------------------------------------------------------------- */

struct seed {
	uint8_t b[8192];
	size_t n;
};

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->n + n <= sizeof(s->b)) {
		memcpy(s->b + s->n, p, n);
		s->n += n;
	}
}

static void u8(struct seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void u16(struct seed *s, uint16_t v)
{
	uint8_t b[2];

	p9_put16(b, v);
	put(s, b, 2);
}

static void u32(struct seed *s, uint32_t v)
{
	uint8_t b[4];

	p9_put32(b, v);
	put(s, b, 4);
}

static void u64(struct seed *s, uint64_t v)
{
	uint8_t b[8];

	p9_put64(b, v);
	put(s, b, 8);
}

/* A short name argument. */
static void name(struct seed *s, const char *n)
{
	u8(s, (uint8_t)strlen(n));
	put(s, n, strlen(n));
}

/* A reply: ctrl 7 (tag, size and type patched in), then a header and the body given. */
static void reply(struct seed *s, const void *body, size_t n)
{
	uint8_t hdr[P9_HDRSZ] = {0};

	u8(s, 7);
	u16(s, (uint16_t)(P9_HDRSZ + n));
	put(s, hdr, sizeof(hdr));
	put(s, body, n);
}

/* A reply body built by letters: b u8, w u16, d u32, q u64, s string. */
static void replyf(struct seed *s, const char *fmt, ...)
{
	struct seed body = {.n = 0};
	va_list ap;

	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		switch (*p) {
		case 'b':
			u8(&body, (uint8_t)va_arg(ap, int));
			break;
		case 'w':
			u16(&body, (uint16_t)va_arg(ap, int));
			break;
		case 'd':
			u32(&body, va_arg(ap, uint32_t));
			break;
		case 'q':
			u64(&body, va_arg(ap, uint64_t));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);

			u16(&body, (uint16_t)strlen(str));
			put(&body, str, strlen(str));
			break;
		}
		}
	}
	va_end(ap);
	reply(s, body.b, body.n);
}

#define QID(t) (t), 0u, (uint64_t)1

static void dirent(struct seed *s, uint64_t off, const char *n)
{
	u8(s, 0);
	u32(s, 0);
	u64(s, off);
	u64(s, off);
	u8(s, 8);
	u16(s, (uint16_t)strlen(n));
	put(s, n, strlen(n));
}

static void write_seeds(const char *dir)
{
	static struct seed s;
	struct seed ents = {.n = 0};

	/* a session with well-formed replies */
	memset(&s, 0, sizeof(s));
	u8(&s, 3); /* msize 8192 */
	replyf(&s, "ds", 8192u, "9P2000.L");
	u8(&s, OP_ATTACH), u8(&s, 0), name(&s, "root"), name(&s, ""), u32(&s, 0), u8(&s, 1);
	replyf(&s, "bdq", QID(0x80));
	u8(&s, OP_WALK), u8(&s, 2), u8(&s, 0), u8(&s, 1), name(&s, "a"), name(&s, "b"), u8(&s, 1);
	replyf(&s, "wbdqbdq", 2, QID(0x80), QID(0));
	u8(&s, OP_GETATTR), u8(&s, 1), u64(&s, 0x3fff);
	replyf(&s, "qbdqdddqqqqqqqqqqqqqqq", (uint64_t)0x7ff, QID(0), 0100644u, 0u, 0u, (uint64_t)1,
	       (uint64_t)0, (uint64_t)5, (uint64_t)4096, (uint64_t)1, (uint64_t)1, (uint64_t)2,
	       (uint64_t)3, (uint64_t)4, (uint64_t)5, (uint64_t)6, (uint64_t)0, (uint64_t)0,
	       (uint64_t)0, (uint64_t)0);
	u8(&s, OP_LOPEN), u8(&s, 1), u32(&s, 2), u8(&s, 1);
	replyf(&s, "bdqd", QID(0), 0u);
	u8(&s, OP_READ), u8(&s, 1), u32(&s, 100), u64(&s, 0);
	replyf(&s, "ds", 5u, "hello"); /* count 5, then "hello" behind a 2-byte length: 7 bytes */
	u8(&s, OP_WRITE), u8(&s, 1), u32(&s, 5), u64(&s, 0);
	replyf(&s, "d", 5u);
	u8(&s, OP_READDIR), u8(&s, 2), u32(&s, 4000), u64(&s, 0);
	dirent(&ents, 1, ".");
	dirent(&ents, 2, "..");
	dirent(&ents, 3, "file");
	{
		struct seed body = {.n = 0};

		u32(&body, (uint32_t)ents.n);
		put(&body, ents.b, ents.n);
		reply(&s, body.b, body.n);
	}
	u8(&s, OP_READLINK), u8(&s, 3), u8(&s, 10); /* cap 10: just room */
	replyf(&s, "s", "../target");
	u8(&s, OP_STATFS), u8(&s, 0);
	replyf(&s, "ddqqqqqqd", 0xef53u, 4096u, (uint64_t)100, (uint64_t)50, (uint64_t)50,
	       (uint64_t)10, (uint64_t)5, (uint64_t)1, 255u);
	u8(&s, OP_XATTRWALK), u8(&s, 1), u8(&s, 4), name(&s, "user.x");
	replyf(&s, "q", (uint64_t)3);
	u8(&s, OP_MKDIR), u8(&s, 0), name(&s, "d"), u32(&s, 0755), u32(&s, 0);
	replyf(&s, "bdq", QID(0x80));
	u8(&s, OP_WATCH); /* armed, a name made and a file written */
	{
		struct seed body = {.n = 0};

		u32(&body, P9_WATCH_ARMED), u16(&body, 2);
		u8(&body, P9_WATCH_NAME), u64(&body, 0), u64(&body, 2), u16(&body, 1), put(&body, "f", 1);
		u8(&body, P9_WATCH_DATA), u64(&body, 12), u64(&body, 0), u16(&body, 0);
		reply(&s, body.b, body.n);
	}
	u8(&s, OP_CLUNK), u8(&s, 1);
	u8(&s, 3), u16(&s, 11), u32(&s, 0), u8(&s, P9_RLERROR), u16(&s, 0), u32(&s, 2); /* ENOENT */
	u8(&s, OP_CLUNK), u8(&s, 1);
	u8(&s, 0xff); /* the server goes away */
	u8(&s, OP_GETATTR), u8(&s, 1), u64(&s, 0x3fff);
	fz_write_seed(dir, "session", s.b, s.n);

	/* just the version exchange, raw (no patching: the tag must be NOTAG) */
	memset(&s, 0, sizeof(s));
	u8(&s, 4);
	u8(&s, 0), u16(&s, 21), u32(&s, 21), u8(&s, P9_RVERSION), u16(&s, P9_NOTAG);
	u32(&s, 65536), u16(&s, 8), put(&s, "9P2000.L", 8);
	u8(&s, OP_DIRENTS), u16(&s, (uint16_t)ents.n), put(&s, ents.b, ents.n);
	fz_write_seed(dir, "version", s.b, s.n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fz_seed_dir();

	(void)argc;
	(void)argv;
	if (dir)
		write_seeds(dir);
	return 0;
}
