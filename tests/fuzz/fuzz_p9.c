// fuzz-link: src/p9/*.c src/hostfs/*.c
/*
 * fuzz_p9.c - libFuzzer target for the 9P2000.L decoder and server
 * (src/p9/) against a real scratch share. Crashes, sanitizer reports,
 * malformed replies and any change beside the share are findings (the
 * harness abort()s on the last two).
 *
 * Built and run by tests/fuzz/run.sh; a long run:
 *   tests/fuzz/run.sh 3600 fuzz_p9
 *
 * Each input: a flags byte, then messages.
 *   flags bit 0  serve the share with `metadata` (xattr-kept owners/modes)
 *   flags bits 4-5  ownership mode (hostfs.h, enum hfs_owners): 1 real (chmod,
 *                chown, mknod for real; devices are never opened), 2 VolFs
 *                (user.lxs.stat), else DrvFs as bit 0 says
 *   flags bit 1  raw: the rest is a byte stream of whole 9P messages, each
 *                framed by its own size field (a bad size ends the stream
 *                and is itself sent, to test framing)
 *         else   structured: records len[2] type[1] body[len]; the harness
 *                adds size and tag, so most messages are well framed
 *   flags bit 2  small reply buffers (from 11 bytes up), to exercise
 *                replies that do not fit
 *   flags bit 3  split: a message longer than a Twrite header goes as the
 *                virtio transport sends writes, its first P9_TWRITE_HDRSZ
 *                bytes as the request and the rest in two buffers of its
 *                bulk (p9_handle_bulk), whatever its type; every Tread gets
 *                a bulk of two reply buffers too
 * Every input first runs through p9_decode() as a whole, then on a fresh
 * connection (msize 64 KiB, 64 fids, 8 requests) that has done Tversion,
 * attached fid 0 to the root and cloned it to fid 1.
 *
 * The share lives under /tmp/lxs-fuzz-p9.XXXXXX/share, with a canary
 * file beside it, created once per process; it is rebuilt when it holds
 * too much. With LXS_FUZZ_SEED_DIR set to an empty directory, seed inputs
 * (valid sessions of each operation) are written there first.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "p9/p9.h"
#include "test_p9_util.h"

#define MSIZE       (64u << 10)
#define RESP        (MSIZE + 64)
#define MAX_FILES   2000
#define MAX_BYTES   (256ull << 20)
#define CHECK_EVERY 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer gives its callbacks no context, so the harness state is file-wide. */
static struct {
	char base[64], share[96], canary[112];
	struct p9_server *srv[4]; /* DrvFs, DrvFs with metadata, real, VolFs */
	uint8_t *resp;
	unsigned long runs;
	unsigned long files;
	unsigned long long bytes;
} H;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_p9: %s\n", what);
	abort();
}

static void populate(void)
{
	char p[160];

#define P(rel) (snprintf(p, sizeof(p), "%s/%s", H.share, rel), p)
	tp_put_file(P("a"), "hello, world\n");
	mkdir(P("d"), 0755);
	mkdir(P("d/e"), 0755);
	tp_put_file(P("d/f"), "inner file\n");
	symlink("/", P("root"));
	symlink("../canary", P("up"));
	symlink(H.base, P("base"));
	mkfifo(P("p"), 0644);
	setxattr(P("a"), "user.seed", "v", 1, 0);
#undef P
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static int count_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	H.files++;
	H.bytes += (unsigned long long)st->st_blocks * 512;
	return 0;
}

static void cleanup(void)
{
	for (int i = 0; i < 4; i++)
		p9_server_free(H.srv[i]);
	free(H.resp);
	if (H.base[0]) {
		nftw(H.base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		rmdir(H.base);
	}
}

/* Nothing beside the share may change: the canary and the base's listing. */
static void check_outside(void)
{
	static const char *const names[] = {"share", "canary"};
	char buf[32];

	if (tp_get_file(H.canary, buf, sizeof(buf)) != 6 || strcmp(buf, "CANARY"))
		die("the canary beside the share changed");
	if (tp_dir_is(H.base, names, 2))
		die("something appeared beside the share");
}

static void maybe_reset(void)
{
	H.files = 0;
	H.bytes = 0;
	nftw(H.share, count_cb, 16, FTW_PHYS);
	if (H.files > MAX_FILES || H.bytes > MAX_BYTES) {
		nftw(H.share, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		populate();
	}
}

/* --- seeds ---------------------------------------------------------------- */

struct seed {
	uint8_t buf[4096];
	size_t len;
};

/* Append one structured record: the body of a message built by format. */
static void rec(struct seed *s, uint8_t type, const char *fmt, ...)
{
	uint8_t msg[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = p9t_vbuild(msg, sizeof(msg), type, 0, fmt, ap);
	va_end(ap);
	if (!n || s->len + 3 + (n - P9_HDRSZ) > sizeof(s->buf))
		return;
	p9_put16(s->buf + s->len, (uint16_t)(n - P9_HDRSZ));
	s->buf[s->len + 2] = type;
	memcpy(s->buf + s->len + 3, msg + P9_HDRSZ, n - P9_HDRSZ);
	s->len += 3 + (n - P9_HDRSZ);
}

static void write_seeds(const char *dir)
{
	struct seed s[20];
	char path[512];
	int n = 0;

	memset(s, 0, sizeof(s));
	/* read a file */
	s[n].buf[0] = 0, s[n].len = 1;
	rec(&s[n], P9_TWALK, "ddws", 1u, 2u, 1, "a");
	rec(&s[n], P9_TLOPEN, "dd", 2u, 0u);
	rec(&s[n], P9_TREAD, "dqd", 2u, (uint64_t)0, 100u);
	rec(&s[n], P9_TGETATTR, "dq", 2u, P9_GETATTR_ALL);
	rec(&s[n], P9_TCLUNK, "d", 2u);
	n++;
	/* create, write, rename, remove */
	s[n].buf[0] = 0, s[n].len = 1;
	rec(&s[n], P9_TWALK, "ddw", 1u, 2u, 0);
	rec(&s[n], P9_TLCREATE, "dsddd", 2u, "new", 0102u, 0644u, 0u);
	rec(&s[n], P9_TWRITE, "dqdR", 2u, (uint64_t)0, 5u, (size_t)5, "data\n");
	rec(&s[n], P9_TFSYNC, "dd", 2u, 0u);
	rec(&s[n], P9_TRENAMEAT, "dsds", 1u, "new", 1u, "newer");
	rec(&s[n], P9_TUNLINKAT, "dsd", 1u, "newer", 0u);
	n++;
	/* directories */
	s[n].buf[0] = 0, s[n].len = 1;
	rec(&s[n], P9_TMKDIR, "dsdd", 1u, "dir", 0755u, 0u);
	rec(&s[n], P9_TWALK, "ddws", 1u, 3u, 1, "d");
	rec(&s[n], P9_TLOPEN, "dd", 3u, 0u);
	rec(&s[n], P9_TREADDIR, "dqd", 3u, (uint64_t)0, 200u);
	rec(&s[n], P9_TREADDIR, "dqd", 3u, (uint64_t)0, 8192u);
	rec(&s[n], P9_TUNLINKAT, "dsd", 1u, "dir", 0x200u);
	n++;
	/* links and walks with ".." */
	s[n].buf[0] = 0, s[n].len = 1;
	rec(&s[n], P9_TSYMLINK, "dssd", 1u, "sl", "/etc/passwd", 0u);
	rec(&s[n], P9_TWALK, "ddwss", 1u, 4u, 2, "root", "etc");
	rec(&s[n], P9_TWALK, "ddwsss", 1u, 5u, 3, "..", "d", "..");
	rec(&s[n], P9_TWALK, "ddws", 1u, 6u, 1, "sl");
	rec(&s[n], P9_TREADLINK, "d", 6u);
	rec(&s[n], P9_TLINK, "dds", 1u, 6u, "hard");
	rec(&s[n], P9_TREMOVE, "d", 6u);
	n++;
	/* attributes and metadata */
	s[n].buf[0] = 1, s[n].len = 1;
	rec(&s[n], P9_TWALK, "ddws", 1u, 2u, 1, "a");
	rec(&s[n], P9_TSETATTR, "dddddqqqqq", 2u, 0x7fu, 0600u, 5u, 6u, (uint64_t)3, (uint64_t)1,
	    (uint64_t)2, (uint64_t)3, (uint64_t)4);
	rec(&s[n], P9_TGETATTR, "dq", 2u, P9_GETATTR_ALL);
	rec(&s[n], P9_TMKNOD, "dsdddd", 1u, "dev", 020644u, 1u, 3u, 0u);
	rec(&s[n], P9_TSTATFS, "d", 2u);
	n++;
	/* xattrs */
	s[n].buf[0] = 0, s[n].len = 1;
	rec(&s[n], P9_TXATTRWALK, "dds", 1u, 2u, "");
	rec(&s[n], P9_TREAD, "dqd", 2u, (uint64_t)0, 100u);
	rec(&s[n], P9_TWALK, "ddws", 1u, 3u, 1, "a");
	rec(&s[n], P9_TXATTRCREATE, "dsqd", 3u, "user.x", (uint64_t)2, 0u);
	rec(&s[n], P9_TWRITE, "dqdR", 3u, (uint64_t)0, 2u, (size_t)2, "hi");
	rec(&s[n], P9_TCLUNK, "d", 3u);
	rec(&s[n], P9_TXATTRWALK, "dds", 1u, 4u, "user.seed");
	n++;
	/* locks and flush */
	s[n].buf[0] = 0, s[n].len = 1;
	rec(&s[n], P9_TWALK, "ddws", 1u, 2u, 1, "a");
	rec(&s[n], P9_TLOPEN, "dd", 2u, 2u);
	rec(&s[n], P9_TLOCK, "dbdqqds", 2u, 1, 0u, (uint64_t)0, (uint64_t)0, 1u, "g");
	rec(&s[n], P9_TGETLOCK, "dbqqds", 2u, 0, (uint64_t)0, (uint64_t)0, 1u, "g");
	rec(&s[n], P9_TFLUSH, "w", 3);
	rec(&s[n], P9_TVERSION, "ds", 8192u, "9P2000.L");
	n++;
	/* a directory reached by "..": its name must be searched for */
	s[n].buf[0] = 0, s[n].len = 1;
	rec(&s[n], P9_TMKDIR, "dsdd", 1u, "x", 0755u, 0u);
	rec(&s[n], P9_TMKDIR, "dsdd", 1u, "y", 0755u, 0u);
	rec(&s[n], P9_TWALK, "ddwsss", 1u, 2u, 3, "d", "e", "..");
	rec(&s[n], P9_TRENAME, "dds", 2u, 1u, "dd");
	rec(&s[n], P9_TWALK, "ddwsss", 1u, 3u, 3, "x", "..", "y");
	rec(&s[n], P9_TWALK, "ddwss", 3u, 4u, 2, "..", "x");
	rec(&s[n], P9_TREMOVE, "d", 4u);
	rec(&s[n], P9_TREMOVE, "d", 3u);
	n++;
	/* raw framing */
	s[n].buf[0] = 2;
	s[n].len =
	    1 + p9t_build(s[n].buf + 1, sizeof(s[n].buf) - 1, P9_TWALK, 5, "ddws", 0u, 7u, 1, "d");
	n++;
	/* the read, the write and the xattr sessions again, split as virtio sends them */
	for (size_t k = 0; k < 3; k++) {
		s[n] = s[(const int[]){0, 1, 5}[k]];
		s[n++].buf[0] |= 8;
	}
	/* the attribute and xattr sessions in the real and the VolFs modes */
	for (size_t k = 0; k < 4; k++) {
		s[n] = s[k < 2 ? 4 : 5];
		s[n++].buf[0] = (uint8_t)((k % 2 ? 2 : 1) << 4);
	}

	for (int i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%02d", dir, i);
		f = fopen(path, "wb");
		if (!f)
			continue;
		fwrite(s[i].buf, 1, s[i].len, f);
		fclose(f);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hfs_opts o;
	const char *seeds = getenv("LXS_FUZZ_SEED_DIR");

	(void)argc;
	(void)argv;
	if (seeds && *seeds && tp_dir_is(seeds, NULL, 0) == 0)
		write_seeds(seeds);

	snprintf(H.base, sizeof(H.base), "/tmp/lxs-fuzz-p9.XXXXXX");
	if (!mkdtemp(H.base))
		die("mkdtemp");
	snprintf(H.share, sizeof(H.share), "%s/share", H.base);
	snprintf(H.canary, sizeof(H.canary), "%s/canary", H.base);
	if (mkdir(H.share, 0755) < 0 || tp_put_file(H.canary, "CANARY"))
		die("scratch share");
	populate();
	atexit(cleanup);
	hfs_opts_default(&o);
	if (p9_server_open(H.share, &o, &H.srv[0]))
		die("server");
	o.metadata = true;
	if (p9_server_open(H.share, &o, &H.srv[1]))
		die("metadata server");
	o.metadata = false;
	o.owners = HFS_OWNERS_REAL;
	if (p9_server_open(H.share, &o, &H.srv[2]))
		die("real server");
	o.owners = HFS_OWNERS_VOLFS;
	if (p9_server_open(H.share, &o, &H.srv[3]))
		die("VolFs server");
	H.resp = malloc(RESP);
	if (!H.resp)
		die("memory");
	return 0;
}

/* An exact-size copy of n bytes (so ASan sees over-reads), or NULL. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);

	if (copy)
		memcpy(copy, p, n);
	return copy;
}

/*
 * Send one message (in exact-size copies). split: as flags bit 3 says. A
 * read's data in its bulk counts toward the reply's length, not its buffer.
 */
static void send1(struct p9_conn *c, const uint8_t *msg, size_t len, size_t cap, bool split)
{
	size_t rlen = 0, hl = len, rest = 0, half = 0;
	uint8_t *copy, *tail[2] = {NULL, NULL}, rdata[2][600];
	struct p9_bulk bulk = {0};
	struct iovec iov[2];
	int err;

	if (split && len > P9_TWRITE_HDRSZ) {
		hl = P9_TWRITE_HDRSZ;
		rest = len - hl;
		half = rest / 3;
		tail[0] = dup_exact(msg + hl, half);
		tail[1] = dup_exact(msg + hl + half, rest - half);
		iov[0] = (struct iovec){tail[0], half};
		iov[1] = (struct iovec){tail[1], rest - half};
		bulk = (struct p9_bulk){.iov = iov, .iovcnt = 2, .len = rest};
	} else if (split && len >= P9_HDRSZ && msg[4] == P9_TREAD) {
		iov[0] = (struct iovec){rdata[0], sizeof(rdata[0])};
		iov[1] = (struct iovec){rdata[1], sizeof(rdata[1])};
		bulk = (struct p9_bulk){.iov = iov, .iovcnt = 2};
	}
	copy = dup_exact(msg, hl);
	if (!copy || (rest && (!tail[0] || !tail[1])))
		goto out;
	err = p9_handle_bulk(c, copy, hl, H.resp, cap, bulk.iovcnt ? &bulk : NULL, &rlen);
	if (err == 0) {
		/* A reply is always well formed and addressed to the request. */
		if (rlen < P9_HDRSZ || rlen - bulk.got > cap || p9_get32(H.resp) != rlen)
			die("malformed reply");
		if (bulk.got > sizeof(rdata) || (bulk.got && (bulk.len || H.resp[4] != P9_RREAD)))
			die("bulk data where there may be none");
		if (p9_get16(H.resp + 5) != p9_get16(copy + 5))
			die("reply to the wrong tag");
		if (H.resp[4] != P9_RLERROR && H.resp[4] != copy[4] + 1)
			die("reply of the wrong type");
	} else if (err != -EBADMSG && err != -ENOBUFS) {
		die("unexpected p9_handle error");
	}
out:
	free(copy);
	free(tail[0]);
	free(tail[1]);
}

static void prelude(struct p9_conn *c)
{
	uint8_t m[128];
	size_t n;

	n = p9t_build(m, sizeof(m), P9_TVERSION, P9_NOTAG, "ds", MSIZE, P9_VERSION_L);
	send1(c, m, n, RESP, false);
	n = p9t_build(m, sizeof(m), P9_TATTACH, 1, "ddssd", 0u, P9_NOFID, "", "", 0u);
	send1(c, m, n, RESP, false);
	n = p9t_build(m, sizeof(m), P9_TWALK, 1, "ddw", 0u, 1u, 0);
	send1(c, m, n, RESP, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p9_limits lim = {.max_msize = MSIZE, .max_fids = 64, .max_requests = 8};
	struct p9_conn *c;
	struct p9_msg m;
	uint8_t flags, mode, *msg;
	size_t pos = 1, cap = RESP;
	uint16_t tag = 100;

	p9_decode(data, size, MSIZE, &m);
	if (size > P9_TWRITE_HDRSZ)
		p9_decode_split(data, P9_TWRITE_HDRSZ, size - P9_TWRITE_HDRSZ, MSIZE, &m);
	if (size < 1)
		return 0;
	flags = data[0];
	mode = (flags >> 4) & 3;
	if (p9_conn_new(H.srv[mode == 1 ? 2 : mode == 2 ? 3 : flags & 1], &lim, &c))
		die("p9_conn_new");
	prelude(c);
	msg = malloc(MSIZE + 16);
	if (!msg)
		die("memory");
	while (pos < size) {
		size_t len;

		if (flags & 4)
			cap = P9_LERRORSZ + data[pos] * 4u;
		if (flags & 2) {
			/* raw: the message frames itself */
			len = size - pos;
			if (len >= 4) {
				uint32_t sz = p9_get32(data + pos);

				if (sz >= P9_HDRSZ && sz <= len)
					len = sz;
			}
			send1(c, data + pos, len, cap, flags & 8);
		} else {
			/* structured: len[2] type[1] body */
			size_t body;

			if (size - pos < 3)
				break;
			body = p9_get16(data + pos);
			if (body > size - pos - 3)
				body = size - pos - 3;
			if (body > MSIZE - P9_HDRSZ)
				body = MSIZE - P9_HDRSZ;
			len = P9_HDRSZ + body;
			p9_put32(msg, (uint32_t)len);
			msg[4] = data[pos + 2];
			p9_put16(msg + 5, tag++);
			memcpy(msg + P9_HDRSZ, data + pos + 3, body);
			send1(c, msg, len, cap, flags & 8);
			len = 3 + body;
		}
		pos += len;
	}
	free(msg);
	p9_conn_free(c);

	if (++H.runs % CHECK_EVERY == 0) {
		check_outside();
		maybe_reset();
	}
	return 0;
}
