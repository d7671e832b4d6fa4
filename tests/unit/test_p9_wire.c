/*
 * test_p9_wire.c - the 9P decoder and encoder on their own: every request
 * type decodes to the fields it was built from, every truncation of every
 * type is refused (in an exact-size heap copy, so ASan sees any over-read),
 * and framing lies, string lengths past the end, too many walk names and
 * Twrite counts past the data are caught.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_p9_util.h"
#include "unit.h"

#define MSIZE 8192u

struct sample {
	uint8_t buf[512];
	size_t len;
	bool optional_tail; /* the last 4 bytes may be absent (Tfsync) */
};

/* One valid message of every request type the decoder knows. */
static int samples(struct sample *s)
{
	int n = 0;

#define S(...) (s[n].len = p9t_build(s[n].buf, sizeof(s[n].buf), __VA_ARGS__), n++)
	S(P9_TVERSION, P9_NOTAG, "ds", 8192u, "9P2000.L");
	S(P9_TAUTH, 1, "dssd", 5u, "u", "a", 0u);
	S(P9_TATTACH, 1, "ddssd", 0u, P9_NOFID, "root", "", 0u);
	S(P9_TFLUSH, 1, "w", 7);
	S(P9_TWALK, 1, "ddwss", 0u, 1u, 2, "a", "bc");
	S(P9_TREAD, 1, "dqd", 1u, (uint64_t)9, 100u);
	S(P9_TWRITE, 1, "dqdR", 1u, (uint64_t)9, 3u, (size_t)3, "xyz");
	S(P9_TCLUNK, 1, "d", 4u);
	S(P9_TREMOVE, 1, "d", 4u);
	S(P9_TSTATFS, 1, "d", 4u);
	S(P9_TREADLINK, 1, "d", 4u);
	S(P9_TFSYNC, 1, "dd", 4u, 1u);
	s[n - 1].optional_tail = true;
	S(P9_TLOPEN, 1, "dd", 4u, 2u);
	S(P9_TLCREATE, 1, "dsddd", 4u, "f", 0101u, 0644u, 5u);
	S(P9_TSYMLINK, 1, "dssd", 4u, "l", "/t", 5u);
	S(P9_TMKNOD, 1, "dsdddd", 4u, "n", 020644u, 1u, 3u, 5u);
	S(P9_TRENAME, 1, "dds", 4u, 5u, "x");
	S(P9_TGETATTR, 1, "dq", 4u, P9_GETATTR_ALL);
	S(P9_TSETATTR, 1, "dddddqqqqq", 4u, 1u, 0644u, 0u, 0u, (uint64_t)1, (uint64_t)2,
	  (uint64_t)3, (uint64_t)4, (uint64_t)5);
	S(P9_TXATTRWALK, 1, "dds", 4u, 5u, "user.x");
	S(P9_TXATTRCREATE, 1, "dsqd", 4u, "user.x", (uint64_t)3, 0u);
	S(P9_TREADDIR, 1, "dqd", 4u, (uint64_t)0, 4096u);
	S(P9_TLOCK, 1, "dbdqqds", 4u, 1, 0u, (uint64_t)0, (uint64_t)10, 42u, "host");
	S(P9_TGETLOCK, 1, "dbqqds", 4u, 1, (uint64_t)0, (uint64_t)10, 42u, "host");
	S(P9_TLINK, 1, "dds", 4u, 5u, "h");
	S(P9_TMKDIR, 1, "dsdd", 4u, "d", 0755u, 5u);
	S(P9_TRENAMEAT, 1, "dsds", 4u, "a", 5u, "b");
	S(P9_TUNLINKAT, 1, "dsd", 4u, "a", 0x200u);
#undef S
	return n;
}

static int decode_copy(const uint8_t *msg, size_t len, struct p9_msg *m)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, msg, len);
	r = p9_decode(copy, len, MSIZE, m);
	free(copy);
	return r;
}

static void t_every_type_decodes(struct unit *u)
{
	struct sample s[40];
	struct p9_msg m;
	int n = samples(s);

	for (int i = 0; i < n; i++) {
		CHECK(u, s[i].len > 0);
		CHECK(u, decode_copy(s[i].buf, s[i].len, &m) == 0);
		CHECK(u, m.type == s[i].buf[4]);
		CHECK(u, m.size == s[i].len);
	}
}

static void t_fields(struct unit *u)
{
	uint8_t b[256];
	struct p9_msg m;
	size_t n;

	n = p9t_build(b, sizeof(b), P9_TWALK, 77, "ddwss", 3u, 4u, 2, "a", "bc");
	CHECK(u, p9_decode(b, n, MSIZE, &m) == 0);
	CHECK(u, m.tag == 77 && m.u.walk.fid == 3 && m.u.walk.newfid == 4);
	CHECK(u, m.u.walk.nwname == 2 && m.u.walk.wname[1].len == 2);
	CHECK(u, !memcmp(m.u.walk.wname[1].s, "bc", 2));

	n = p9t_build(b, sizeof(b), P9_TWRITE, 1, "dqdR", 9u, (uint64_t)1 << 40, 3u, (size_t)3,
		      "xyz");
	CHECK(u, p9_decode(b, n, MSIZE, &m) == 0);
	CHECK(u, m.u.write.offset == (uint64_t)1 << 40 && m.u.write.count == 3);
	CHECK(u, !memcmp(m.u.write.data, "xyz", 3));

	n = p9t_build(b, sizeof(b), P9_TLOCK, 1, "dbdqqds", 4u, 1, 1u, (uint64_t)5, (uint64_t)6,
		      42u, "host");
	CHECK(u, p9_decode(b, n, MSIZE, &m) == 0);
	CHECK(u, m.u.lock.type == 1 && m.u.lock.flags == 1 && m.u.lock.start == 5);
	CHECK(u, m.u.lock.length == 6 && m.u.lock.proc_id == 42);
	CHECK(u, m.u.lock.client_id.len == 4);

	/* Tfsync from an older client: no datasync. */
	n = p9t_build(b, sizeof(b), P9_TFSYNC, 1, "d", 4u);
	CHECK(u, p9_decode(b, n, MSIZE, &m) == 0 && m.u.fsync.datasync == 0);
}

/* Every prefix of every message, with size patched to match, is refused. */
static void t_truncations(struct unit *u)
{
	struct sample s[40];
	struct p9_msg m;
	int n = samples(s);

	for (int i = 0; i < n; i++) {
		size_t min = s[i].optional_tail ? s[i].len - 4 : s[i].len;

		for (size_t len = 0; len < s[i].len; len++) {
			uint8_t copy[512];
			int r;

			memcpy(copy, s[i].buf, s[i].len);
			if (len >= 4)
				p9_put32(copy, (uint32_t)len);
			r = decode_copy(copy, len, &m);
			if (len < P9_HDRSZ)
				CHECK(u, r == -EBADMSG);
			else if (len < min)
				CHECK(u, r == -EPROTO);
			else
				CHECK(u, r == 0);
		}
	}
}

static void t_framing(struct unit *u)
{
	uint8_t b[64];
	struct p9_msg m;
	size_t n = p9t_build(b, sizeof(b), P9_TCLUNK, 3, "d", 1u);

	CHECK(u, p9_decode(b, 0, MSIZE, &m) == -EBADMSG);
	CHECK(u, p9_decode(NULL, 20, MSIZE, &m) == -EBADMSG);
	CHECK(u, decode_copy(b, 6, &m) == -EBADMSG);
	/* size says more than the transport has */
	p9_put32(b, (uint32_t)n + 1);
	CHECK(u, decode_copy(b, n, &m) == -EBADMSG);
	p9_put32(b, 0xffffffffu);
	CHECK(u, decode_copy(b, n, &m) == -EBADMSG);
	/* size below the header */
	p9_put32(b, 6);
	CHECK(u, decode_copy(b, n, &m) == -EBADMSG);
	p9_put32(b, 0);
	CHECK(u, decode_copy(b, n, &m) == -EBADMSG);
	/* size shorter than the body: the body is cut at size */
	p9_put32(b, P9_HDRSZ + 2);
	CHECK(u, decode_copy(b, n, &m) == -EPROTO && m.tag == 3);
	/* bytes beyond size are not the message's */
	p9_put32(b, (uint32_t)n);
	CHECK(u, p9_decode(b, n + 5, MSIZE, &m) == 0);
	/* size above msize */
	CHECK(u, p9_decode(b, n, (uint32_t)n - 1, &m) == -EMSGSIZE && m.tag == 3);
}

/*
 * A Twrite split where its data starts (the data in the transport's buffers):
 * accepted only for a Twrite, only at P9_TWRITE_HDRSZ, and only with its count
 * inside the bytes held elsewhere.
 */
static void t_split_write(struct unit *u)
{
	uint8_t b[64];
	struct p9_msg m;
	size_t n = p9t_build(b, sizeof(b), P9_TWRITE, 4, "dqdR", 7u, (uint64_t)5, 3u, (size_t)3, "xyz");

	CHECK(u, n == P9_TWRITE_HDRSZ + 3);
	CHECK(u, p9_decode_split(b, P9_TWRITE_HDRSZ, 3, MSIZE, &m) == 0);
	CHECK(u, m.type == P9_TWRITE && m.tag == 4 && m.u.write.fid == 7 && m.u.write.offset == 5 &&
		     m.u.write.count == 3 && m.u.write.data == NULL);
	/* more held elsewhere than the size field counts: the rest is not ours */
	CHECK(u, p9_decode_split(b, P9_TWRITE_HDRSZ, 100, MSIZE, &m) == 0 && m.u.write.count == 3);
	/* the size field beyond both parts */
	CHECK(u, p9_decode_split(b, P9_TWRITE_HDRSZ, 2, MSIZE, &m) == -EBADMSG);
	/* a count beyond the data */
	p9_put32(b + 19, 4);
	CHECK(u, p9_decode_split(b, P9_TWRITE_HDRSZ, 3, MSIZE, &m) == -EPROTO && m.tag == 4);
	p9_put32(b + 19, 0xffffffffu);
	CHECK(u, p9_decode_split(b, P9_TWRITE_HDRSZ, 3, MSIZE, &m) == -EPROTO);
	p9_put32(b + 19, 3);
	/* split anywhere else */
	CHECK(u, p9_decode_split(b, P9_TWRITE_HDRSZ - 1, 4, MSIZE, &m) == -EBADMSG);
	CHECK(u, p9_decode_split(b, P9_TWRITE_HDRSZ + 1, 2, MSIZE, &m) == -EBADMSG);
	/* any other type split */
	n = p9t_build(b, sizeof(b), P9_TCLUNK, 3, "d", 1u);
	p9_put32(b, (uint32_t)n + 8);
	CHECK(u, p9_decode_split(b, n, 8, MSIZE, &m) == -EBADMSG);
	/* whole in msg, with nothing elsewhere: as p9_decode */
	p9_put32(b, (uint32_t)n);
	CHECK(u, p9_decode_split(b, n, 0, MSIZE, &m) == 0 && m.u.fid.fid == 1);
	/* a split message is still bounded by msize */
	n = p9t_build(b, sizeof(b), P9_TWRITE, 4, "dqdR", 7u, (uint64_t)5, 3u, (size_t)3, "xyz");
	p9_put32(b, (uint32_t)MSIZE + 1);
	p9_put32(b + 19, MSIZE + 1 - P9_TWRITE_HDRSZ);
	CHECK(u, p9_decode_split(b, P9_TWRITE_HDRSZ, MSIZE, MSIZE, &m) == -EMSGSIZE);
}

static void t_strings(struct unit *u)
{
	uint8_t b[64];
	struct p9_msg m;
	size_t n;

	/* A walk name whose length runs past the end. */
	n = p9t_build(b, sizeof(b), P9_TWALK, 1, "ddws", 0u, 1u, 1, "abc");
	p9_put16(b + P9_HDRSZ + 10, 4);
	CHECK(u, decode_copy(b, n, &m) == -EPROTO);
	p9_put16(b + P9_HDRSZ + 10, 0xffff);
	CHECK(u, decode_copy(b, n, &m) == -EPROTO);
	p9_put16(b + P9_HDRSZ + 10, 3);
	CHECK(u, decode_copy(b, n, &m) == 0);

	/* Strings may hold NULs and '/': the decoder passes them, the server judges. */
	n = p9t_build(b, sizeof(b), P9_TWALK, 1, "ddwS", 0u, 1u, 1, 3, "a\0/");
	CHECK(u, decode_copy(b, n, &m) == 0 && m.u.walk.wname[0].len == 3);
}

static void t_counts(struct unit *u)
{
	uint8_t b[1024];
	struct p9_msg m;
	size_t n;

	/* more walk names than the protocol allows */
	n = p9t_build(b, sizeof(b), P9_TWALK, 1, "ddwsssssssssssssssss", 0u, 1u, 17, "a", "a", "a",
		      "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a");
	CHECK(u, decode_copy(b, n, &m) == -EPROTO);
	p9_put16(b + P9_HDRSZ + 8, 16);
	CHECK(u, decode_copy(b, n, &m) == 0 && m.u.walk.nwname == 16);
	/* nwname says more names than there are */
	n = p9t_build(b, sizeof(b), P9_TWALK, 1, "ddws", 0u, 1u, 2, "a");
	CHECK(u, decode_copy(b, n, &m) == -EPROTO);

	/* Twrite count beyond the data, or huge */
	n = p9t_build(b, sizeof(b), P9_TWRITE, 1, "dqdR", 1u, (uint64_t)0, 4u, (size_t)3, "xyz");
	CHECK(u, decode_copy(b, n, &m) == -EPROTO);
	n = p9t_build(b, sizeof(b), P9_TWRITE, 1, "dqdR", 1u, (uint64_t)0, 0xffffffffu, (size_t)3,
		      "xyz");
	CHECK(u, decode_copy(b, n, &m) == -EPROTO);
	/* huge Tread counts decode; the server clamps them */
	n = p9t_build(b, sizeof(b), P9_TREAD, 1, "dqd", 1u, ~(uint64_t)0, 0xffffffffu);
	CHECK(u, decode_copy(b, n, &m) == 0 && m.u.read.count == 0xffffffffu);
}

static void t_types(struct unit *u)
{
	uint8_t b[64];
	struct p9_msg m;
	size_t n;

	for (int t = 0; t < 256; t++) {
		int r;

		n = p9t_build(b, sizeof(b), (uint8_t)t, 9, "dddd", 0u, 0u, 0u, 0u);
		r = decode_copy(b, n, &m);
		CHECK(u, r == 0 || r == -EPROTO || r == -EOPNOTSUPP);
		CHECK(u, m.tag == 9 && m.type == t);
		/* replies and 9P2000-only requests are not requests we serve */
		if (t & 1 || t == 112 || t == 114 || t == 124 || t == 126 || t == P9_TLERROR)
			CHECK(u, r == -EOPNOTSUPP);
	}
}

static void t_encoder(struct unit *u)
{
	uint8_t b[32];
	struct p9_wbuf w;

	p9w_init(&w, b, sizeof(b), P9_RREAD, 5);
	p9w_u32(&w, 1);
	CHECK(u, p9w_finish(&w) == 11 && p9_get32(b) == 11 && b[4] == P9_RREAD);
	CHECK(u, p9_get16(b + 5) == 5);

	p9w_init(&w, b, sizeof(b), P9_RREAD, 5);
	CHECK(u, p9w_reserve(&w, 26) == NULL);
	CHECK(u, p9w_finish(&w) == 0);
	p9w_init(&w, b, sizeof(b), P9_RREAD, 5);
	CHECK(u, p9w_reserve(&w, 25) != NULL);
	CHECK(u, p9w_room(&w) == 0 && p9w_finish(&w) == 32);
	p9w_init(&w, b, sizeof(b), P9_RREADLINK, 5);
	p9w_str(&w, "x", 70000);
	CHECK(u, p9w_finish(&w) == 0);
	p9w_init(&w, b, 3, P9_RREAD, 5);
	CHECK(u, p9w_finish(&w) == 0);

	CHECK(u, p9_lerror(b, 10, 1, 2) == 0);
	CHECK(u, p9_lerror(b, 11, 1, 2) == 11 && p9_get32(b + 7) == 2);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_every_type_decodes);
	RUN(&u, t_fields);
	RUN(&u, t_truncations);
	RUN(&u, t_framing);
	RUN(&u, t_split_write);
	RUN(&u, t_strings);
	RUN(&u, t_counts);
	RUN(&u, t_types);
	RUN(&u, t_encoder);
	return unit_done(&u);
}
