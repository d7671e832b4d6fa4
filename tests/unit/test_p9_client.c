/*
 * test_p9_client.c - the 9P2000.L client of src/p9/client.c. First every
 * call round-tripped through p9_handle() to an in-process server over a
 * scratch share (test_p9_util.h's, whose canaries must stay untouched), each
 * checked against what the host then sees; then hostile servers: a fake
 * transport answers each request with a crafted reply (wrong tag or type,
 * lying size fields, out-of-range error codes, counts beyond what was asked,
 * bad names, link targets, file types and times, other versions and msizes,
 * a dead connection), and the client must refuse each one without using it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "p9/client.h"
#include "test_p9_util.h"
#include "unit.h"

#define SRV_MSIZE 8192u
#define IOUNIT    (SRV_MSIZE - P9_TWRITE_HDRSZ)

/* --- an in-process server as the transport -------------------------------- */

struct loop {
	struct tp t;
	struct p9c_transport tr;
	struct p9c *c;
	uint32_t root;
	_Atomic unsigned calls;
	pthread_mutex_t lock; /* last */
	uint8_t last[64];     /* the start of the last request */
	size_t last_len;
};

static int loop_call(void *arg, const void *req, size_t len, void *resp, size_t cap, size_t *rlen)
{
	struct loop *l = arg;

	l->calls++;
	pthread_mutex_lock(&l->lock);
	l->last_len = len < sizeof(l->last) ? len : sizeof(l->last);
	memcpy(l->last, req, l->last_len);
	pthread_mutex_unlock(&l->lock);
	return p9_handle(l->t.c, req, len, resp, cap, rlen) ? -EIO : 0;
}

/* A server that agrees to at most SRV_MSIZE, a client asking `ask`, attached as fid root. */
static struct loop *lsetup(struct unit *u, uint32_t ask)
{
	struct p9_limits lim = {.max_msize = SRV_MSIZE};
	struct loop *l = calloc(1, sizeof(*l));
	struct p9_qid q = {0};

	if (!l || tp_init_lim(&l->t, NULL, &lim) != 0) {
		CHECK(u, !"scratch share set up");
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->tr = (struct p9c_transport){.call = loop_call, .arg = l};
	if (p9c_new(&l->tr, ask, &l->c) != 0 || p9c_fid_new(l->c, &l->root) != 0 ||
	    p9c_attach(l->c, l->root, "root", "", 0, &q) != 0 || q.type != P9_QTDIR) {
		CHECK(u, !"client connected and attached");
		p9c_free(l->c);
		l->c = NULL;
	}
	return l;
}

static void lteardown(struct unit *u, struct loop *l)
{
	if (!l)
		return;
	p9c_free(l->c);
	CHECK(u, tp_fini(&l->t) == 0); /* nothing outside the share touched */
	free(l);
}

/* A new fid walked from the root to path ("a/b", "" for a clone), or P9_NOFID. */
static uint32_t lwalk(struct loop *l, const char *path)
{
	const char *names[P9_MAXWELEM];
	char copy[256], *save = NULL;
	unsigned n = 0;
	uint32_t fid;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *tok = strtok_r(copy, "/", &save); tok && n < P9_MAXWELEM;
	     tok = strtok_r(NULL, "/", &save))
		names[n++] = tok;
	if (p9c_fid_new(l->c, &fid))
		return P9_NOFID;
	if (p9c_walk(l->c, l->root, fid, n, names, NULL)) {
		p9c_fid_put(l->c, fid);
		return P9_NOFID;
	}
	return fid;
}

static void lclunk(struct loop *l, uint32_t fid)
{
	if (p9c_clunk(l->c, fid) == 0)
		p9c_fid_put(l->c, fid);
}

static void t_version(struct unit *u)
{
	struct p9_limits lim = {.max_msize = SRV_MSIZE};
	struct loop *l = calloc(1, sizeof(*l));
	struct p9c *c = NULL;

	if (!l || tp_init_lim(&l->t, NULL, &lim) != 0) {
		CHECK(u, !"scratch share set up");
		free(l);
		return;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->tr = (struct p9c_transport){.call = loop_call, .arg = l};
	/* the server agrees to less than asked: the client takes its msize */
	CHECK(u, p9c_new(&l->tr, 65536, &c) == 0);
	CHECK(u, l->calls == 1 && l->last[4] == P9_TVERSION && p9_get16(l->last + 5) == P9_NOTAG);
	CHECK(u, p9_get32(l->last + P9_HDRSZ) == 65536);
	CHECK(u, p9_get16(l->last + P9_HDRSZ + 4) == 8 && !memcmp(l->last + 13, "9P2000.L", 8));
	CHECK(u, c && p9c_msize(c) == SRV_MSIZE && p9c_iounit(c) == IOUNIT);
	CHECK(u, c && !p9c_dead(c));
	p9c_free(c);
	c = NULL;
	/* below the protocol's least, the client asks for that least */
	CHECK(u, p9c_new(&l->tr, 100, &c) == 0);
	CHECK(u, p9_get32(l->last + P9_HDRSZ) == P9_MIN_MSIZE);
	CHECK(u, c && p9c_msize(c) == P9_MIN_MSIZE && p9c_iounit(c) == P9_MIN_MSIZE - 23);
	p9c_free(c);
	c = NULL;
	/* exactly what the server allows */
	CHECK(u, p9c_new(&l->tr, SRV_MSIZE, &c) == 0 && c && p9c_msize(c) == SRV_MSIZE);
	p9c_free(c);
	CHECK(u, tp_fini(&l->t) == 0);
	free(l);
}

static void t_attach_walk(struct unit *u)
{
	struct loop *l = lsetup(u, 65536);
	const char *names[P9_MAXWELEM + 1];
	struct p9_qid q[3];
	uint32_t fid, fid2;
	unsigned calls;

	if (!l || !l->c)
		goto out;
	CHECK(u, mkdir(tp_path(&l->t, "d"), 0755) == 0);
	CHECK(u, mkdir(tp_path(&l->t, "d/e"), 0755) == 0);
	CHECK(u, tp_put_file(tp_path(&l->t, "d/e/f"), "x") == 0);
	CHECK(u, p9c_fid_new(l->c, &fid) == 0 && fid != l->root);
	/* a full walk: a qid per name */
	names[0] = "d", names[1] = "e", names[2] = "f";
	memset(q, 0xff, sizeof(q));
	CHECK(u, p9c_walk(l->c, l->root, fid, 3, names, q) == 0);
	CHECK(u, q[0].type == P9_QTDIR && q[1].type == P9_QTDIR && q[2].type == P9_QTFILE);
	CHECK(u, q[0].path != q[1].path && q[1].path != q[2].path);
	CHECK(u, p9c_clunk(l->c, fid) == 0);
	/* a partial walk: -ENOENT, and newfid was not made */
	names[1] = "nope";
	CHECK(u, p9c_walk(l->c, l->root, fid, 3, names, q) == -ENOENT);
	CHECK(u, p9c_clunk(l->c, fid) == -EBADF);
	/* nothing walked at all (the server's Rlerror) */
	names[0] = "none";
	CHECK(u, p9c_walk(l->c, l->root, fid, 1, names, NULL) == -ENOENT);
	CHECK(u, p9c_clunk(l->c, fid) == -EBADF);
	/* a clone, and a walk from it */
	CHECK(u, p9c_walk(l->c, l->root, fid, 0, NULL, NULL) == 0);
	CHECK(u, p9c_fid_new(l->c, &fid2) == 0 && fid2 != fid);
	names[0] = "d";
	CHECK(u, p9c_walk(l->c, fid, fid2, 1, names, q) == 0 && q[0].type == P9_QTDIR);
	CHECK(u, p9c_clunk(l->c, fid2) == 0 && p9c_clunk(l->c, fid) == 0);
	/* more names than a Twalk holds: refused before anything is sent */
	for (int i = 0; i <= P9_MAXWELEM; i++)
		names[i] = "d";
	calls = l->calls;
	CHECK(u, p9c_walk(l->c, l->root, fid, P9_MAXWELEM + 1, names, NULL) == -EINVAL);
	CHECK(u, l->calls == calls);
	/* a name too long for msize */
	{
		char *big = malloc(SRV_MSIZE);

		if (big) {
			memset(big, 'a', SRV_MSIZE - 1);
			big[SRV_MSIZE - 1] = '\0';
			names[0] = big;
			CHECK(u, p9c_walk(l->c, l->root, fid, 1, names, NULL) == -ENAMETOOLONG);
			CHECK(u, l->calls == calls);
			free(big);
		}
	}
out:
	lteardown(u, l);
}

static void t_getattr_setattr(struct unit *u)
{
	struct loop *l = lsetup(u, 65536);
	struct p9c_attr a;
	struct p9c_setattr s;
	struct stat st;
	uint32_t fid;

	if (!l || !l->c)
		goto out;
	CHECK(u, tp_put_file(tp_path(&l->t, "f"), "12345") == 0);
	fid = lwalk(l, "f");
	CHECK(u, fid != P9_NOFID);
	memset(&a, 0, sizeof(a));
	CHECK(u, p9c_getattr(l->c, fid, P9_GETATTR_ALL, &a) == 0);
	CHECK(u, lstat(tp_path(&l->t, "f"), &st) == 0);
	CHECK(u, S_ISREG(a.mode) && a.size == 5 && a.nlink == 1 && a.qid.type == P9_QTFILE);
	CHECK(u, a.mtime_sec == (uint64_t)st.st_mtim.tv_sec &&
		     a.mtime_nsec == (uint64_t)st.st_mtim.tv_nsec);
	CHECK(u, (a.valid & P9_GETATTR_BASIC) == P9_GETATTR_BASIC);
	/* truncate, and set the mtime */
	memset(&s, 0, sizeof(s));
	s.valid = P9_SETATTR_SIZE | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
	s.size = 2;
	s.mtime_sec = 1000000000;
	s.mtime_nsec = 5;
	CHECK(u, p9c_setattr(l->c, fid, &s) == 0);
	CHECK(u, lstat(tp_path(&l->t, "f"), &st) == 0 && st.st_size == 2);
	CHECK(u, st.st_mtim.tv_sec == 1000000000 && st.st_mtim.tv_nsec == 5);
	CHECK(u, p9c_getattr(l->c, fid, P9_GETATTR_ALL, &a) == 0);
	CHECK(u, a.size == 2 && a.mtime_sec == 1000000000 && a.mtime_nsec == 5);
	/* the root is a directory */
	CHECK(u, p9c_getattr(l->c, l->root, P9_GETATTR_ALL, &a) == 0 && S_ISDIR(a.mode));
	lclunk(l, fid);
	/* a fid that is not there */
	CHECK(u, p9c_getattr(l->c, 999, P9_GETATTR_ALL, &a) == -EBADF);
out:
	lteardown(u, l);
}

static void t_open_read_write(struct unit *u)
{
	struct loop *l = lsetup(u, 65536);
	enum { BIG = 20000 };
	uint8_t *out = malloc(BIG), *in = malloc(BIG);
	struct p9_qid q;
	struct stat st;
	char buf[64];
	uint32_t fid;
	long n;

	if (!l || !l->c || !out || !in)
		goto out;
	for (int i = 0; i < BIG; i++)
		out[i] = (uint8_t)(i * 7 + i / 251);
	/* lcreate turns a clone of the folder into the new file, open */
	fid = lwalk(l, "");
	CHECK(u, fid != P9_NOFID);
	memset(&q, 0xff, sizeof(q));
	CHECK(u, p9c_lcreate(l->c, fid, "new", P9_DOTL_RDWR, 0644, 0, &q) == 0);
	CHECK(u, q.type == P9_QTFILE);
	CHECK(u, lstat(tp_path(&l->t, "new"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK(u, p9c_write(l->c, fid, 0, "hello", 5) == 5);
	CHECK(u, p9c_read(l->c, fid, 1, buf, sizeof(buf)) == 4 && !memcmp(buf, "ello", 4));
	/* larger than iounit: one call moves at most iounit, and asks for no more */
	n = p9c_write(l->c, fid, 0, out, BIG);
	CHECK(u, n == IOUNIT);
	CHECK(u, l->last[4] == P9_TWRITE && p9_get32(l->last + 19) == IOUNIT);
	CHECK(u, lstat(tp_path(&l->t, "new"), &st) == 0 && st.st_size == IOUNIT);
	lclunk(l, fid);
	/* lopen of a walked file */
	fid = lwalk(l, "new");
	CHECK(u, fid != P9_NOFID);
	CHECK(u, p9c_lopen(l->c, fid, P9_DOTL_RDONLY, &q) == 0 && q.type == P9_QTFILE);
	memset(in, 0, BIG);
	n = p9c_read(l->c, fid, 0, in, BIG);
	CHECK(u, n == IOUNIT && !memcmp(in, out, IOUNIT));
	CHECK(u, l->last[4] == P9_TREAD && p9_get32(l->last + 19) == IOUNIT);
	CHECK(u, p9c_read(l->c, fid, 100, in, 10) == 10 && !memcmp(in, out + 100, 10));
	CHECK(u, p9c_read(l->c, fid, IOUNIT, in, 10) == 0);
	/* opened read-only: no writing */
	CHECK(u, p9c_write(l->c, fid, 0, "x", 1) == -EBADF);
	lclunk(l, fid);
	/* lcreate of what exists, exclusively */
	fid = lwalk(l, "");
	CHECK(u, p9c_lcreate(l->c, fid, "new", P9_DOTL_RDWR | P9_DOTL_CREATE | P9_DOTL_EXCL, 0644,
			     0, &q) == -EEXIST);
	lclunk(l, fid);
out:
	free(out);
	free(in);
	lteardown(u, l);
}

static void t_readdir(struct unit *u)
{
	enum { N = 500 };
	struct loop *l = lsetup(u, 65536);
	static char seen[N];
	char *buf = malloc(20000);
	int dots = 0, dotdots = 0, others = 0, bad = 0;
	unsigned calls = 0;
	uint64_t off = 0;
	uint32_t fid;
	char p[64];

	if (!l || !l->c || !buf)
		goto out;
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "entry-%03d", i);
		CHECK(u, tp_put_file(tp_path(&l->t, p), "") == 0);
	}
	fid = lwalk(l, "");
	CHECK(u, fid != P9_NOFID && p9c_lopen(l->c, fid, P9_DOTL_RDONLY, NULL) == 0);
	for (;;) {
		long n = p9c_readdir(l->c, fid, off, buf, 20000);
		struct p9c_dirent d;
		size_t pos = 0;
		int r;

		calls++;
		CHECK(u, n >= 0 && n <= IOUNIT);
		CHECK(u, p9_get32(l->last + 19) == IOUNIT); /* the count asked, clamped */
		if (n <= 0 || calls > 1000)
			break;
		while ((r = p9c_dirent_next(buf, (size_t)n, &pos, &d)) == 1) {
			int i;

			off = d.offset;
			if (!strcmp(d.name, "."))
				dots++;
			else if (!strcmp(d.name, ".."))
				dotdots++;
			else if (sscanf(d.name, "entry-%d", &i) == 1 && i >= 0 && i < N &&
				 d.type == DT_REG)
				seen[i]++;
			else
				others++;
		}
		CHECK(u, r == 0 && pos == (size_t)n);
	}
	for (int i = 0; i < N; i++)
		bad |= seen[i] != 1;
	CHECK(u, !bad && dots == 1 && dotdots == 1 && others == 0);
	CHECK(u, calls > 2); /* more than one reply's worth, then the end */
	lclunk(l, fid);
out:
	free(buf);
	lteardown(u, l);
}

static void t_create_kinds(struct unit *u)
{
	struct loop *l = lsetup(u, 65536);
	struct stat st, st2;
	struct p9_qid q;
	char buf[64];
	uint32_t fid, dfid;

	if (!l || !l->c)
		goto out;
	/* mkdir */
	memset(&q, 0, sizeof(q));
	CHECK(u, p9c_mkdir(l->c, l->root, "d", 0755, 0, &q) == 0 && q.type == P9_QTDIR);
	CHECK(u, lstat(tp_path(&l->t, "d"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(u, p9c_mkdir(l->c, l->root, "d", 0755, 0, &q) == -EEXIST);
	/* symlink and readlink */
	CHECK(u, p9c_symlink(l->c, l->root, "l", "target/x", 0, &q) == 0);
	CHECK(u, q.type == P9_QTSYMLINK);
	CHECK(u,
	      readlink(tp_path(&l->t, "l"), buf, sizeof(buf)) == 8 && !memcmp(buf, "target/x", 8));
	fid = lwalk(l, "l");
	CHECK(u, fid != P9_NOFID);
	memset(buf, 'X', sizeof(buf));
	CHECK(u, p9c_readlink(l->c, fid, buf, sizeof(buf)) == 8 && !strcmp(buf, "target/x"));
	memset(buf, 'X', sizeof(buf));
	CHECK(u, p9c_readlink(l->c, fid, buf, 9) == 8 && !strcmp(buf, "target/x"));
	memset(buf, 'X', sizeof(buf));
	CHECK(u, p9c_readlink(l->c, fid, buf, 8) == -ENAMETOOLONG && buf[0] == 'X');
	lclunk(l, fid);
	CHECK(u, p9c_readlink(l->c, l->root, buf, sizeof(buf)) == -EINVAL);
	/* mknod of a FIFO */
	CHECK(u, p9c_mknod(l->c, l->root, "p", S_IFIFO | 0644, 0, 0, 0, &q) == 0);
	CHECK(u, lstat(tp_path(&l->t, "p"), &st) == 0 && S_ISFIFO(st.st_mode));
	/* link */
	CHECK(u, tp_put_file(tp_path(&l->t, "f"), "x") == 0);
	fid = lwalk(l, "f");
	dfid = lwalk(l, "d");
	CHECK(u, fid != P9_NOFID && dfid != P9_NOFID);
	CHECK(u, p9c_link(l->c, dfid, fid, "f2") == 0);
	CHECK(u, lstat(tp_path(&l->t, "f"), &st) == 0 && st.st_nlink == 2);
	CHECK(u, lstat(tp_path(&l->t, "d/f2"), &st2) == 0 && st2.st_ino == st.st_ino);
	CHECK(u, p9c_link(l->c, dfid, fid, "f2") == -EEXIST);
	CHECK(u, p9c_link(l->c, dfid, fid, "a/b") == -EINVAL);
	lclunk(l, fid);
	lclunk(l, dfid);
out:
	lteardown(u, l);
}

static void t_unlink_rename(struct unit *u)
{
	struct loop *l = lsetup(u, 65536);
	struct stat st;
	uint32_t a, b;

	if (!l || !l->c)
		goto out;
	CHECK(u, mkdir(tp_path(&l->t, "a"), 0755) == 0 && mkdir(tp_path(&l->t, "b"), 0755) == 0);
	CHECK(u, tp_put_file(tp_path(&l->t, "a/x"), "data") == 0);
	a = lwalk(l, "a");
	b = lwalk(l, "b");
	CHECK(u, a != P9_NOFID && b != P9_NOFID);
	/* renameat across folders */
	CHECK(u, p9c_renameat(l->c, a, "x", b, "y") == 0);
	CHECK(u, lstat(tp_path(&l->t, "a/x"), &st) < 0 && errno == ENOENT);
	CHECK(u, lstat(tp_path(&l->t, "b/y"), &st) == 0 && st.st_size == 4);
	CHECK(u, p9c_renameat(l->c, a, "x", b, "z") == -ENOENT);
	/* unlinkat of a file, then of a folder: only with AT_REMOVEDIR */
	CHECK(u, p9c_unlinkat(l->c, b, "y", 0) == 0);
	CHECK(u, lstat(tp_path(&l->t, "b/y"), &st) < 0 && errno == ENOENT);
	CHECK(u, p9c_unlinkat(l->c, b, "y", 0) == -ENOENT);
	lclunk(l, a);
	lclunk(l, b);
	CHECK(u, p9c_unlinkat(l->c, l->root, "a", 0) == -EISDIR);
	CHECK(u, lstat(tp_path(&l->t, "a"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(u, p9c_unlinkat(l->c, l->root, "a", P9_DOTL_AT_REMOVEDIR) == 0);
	CHECK(u, lstat(tp_path(&l->t, "a"), &st) < 0 && errno == ENOENT);
	CHECK(u, lstat(tp_path(&l->t, "b"), &st) == 0);
out:
	lteardown(u, l);
}

static void t_statfs_fsync(struct unit *u)
{
	struct loop *l = lsetup(u, 65536);
	struct p9c_statfs s;
	struct statfs hs;
	uint32_t fid;

	if (!l || !l->c)
		goto out;
	memset(&s, 0, sizeof(s));
	CHECK(u, p9c_statfs(l->c, l->root, &s) == 0);
	CHECK(u, statfs(l->t.share, &hs) == 0);
	CHECK(u, s.bsize == (uint32_t)hs.f_bsize && s.blocks == (uint64_t)hs.f_blocks);
	CHECK(u, s.namelen == (uint32_t)hs.f_namelen && s.type == (uint32_t)hs.f_type);
	CHECK(u, tp_put_file(tp_path(&l->t, "f"), "x") == 0);
	fid = lwalk(l, "f");
	CHECK(u, fid != P9_NOFID && p9c_lopen(l->c, fid, P9_DOTL_RDWR, NULL) == 0);
	CHECK(u, p9c_write(l->c, fid, 1, "y", 1) == 1);
	CHECK(u, p9c_fsync(l->c, fid, false) == 0);
	CHECK(u, l->last[4] == P9_TFSYNC && p9_get32(l->last + 11) == 0);
	CHECK(u, p9c_fsync(l->c, fid, true) == 0);
	CHECK(u, l->last[4] == P9_TFSYNC && p9_get32(l->last + 11) == 1);
	lclunk(l, fid);
	CHECK(u, p9c_fsync(l->c, 999, false) == -EBADF);
out:
	lteardown(u, l);
}

static void t_xattr(struct unit *u)
{
	struct loop *l = lsetup(u, 65536);
	char buf[256];
	uint64_t size = 0;
	uint32_t fid, x;
	long n;

	if (!l || !l->c)
		goto out;
	CHECK(u, tp_put_file(tp_path(&l->t, "f"), "") == 0);
	fid = lwalk(l, "f");
	CHECK(u, fid != P9_NOFID);
	/* set: xattrcreate on a clone, write the value, clunk commits */
	x = lwalk(l, "f");
	CHECK(u, x != P9_NOFID);
	CHECK(u, p9c_xattrcreate(l->c, x, "user.client", 5, 0) == 0);
	CHECK(u, p9c_write(l->c, x, 0, "hel", 3) == 3 && p9c_write(l->c, x, 3, "lo", 2) == 2);
	CHECK(u, getxattr(tp_path(&l->t, "f"), "user.client", buf, sizeof(buf)) < 0);
	CHECK(u, p9c_clunk(l->c, x) == 0);
	p9c_fid_put(l->c, x);
	CHECK(u, getxattr(tp_path(&l->t, "f"), "user.client", buf, sizeof(buf)) == 5 &&
		     !memcmp(buf, "hello", 5));
	/* get */
	CHECK(u, p9c_fid_new(l->c, &x) == 0);
	CHECK(u, p9c_xattrwalk(l->c, fid, x, "user.client", &size) == 0 && size == 5);
	memset(buf, 0, sizeof(buf));
	CHECK(u, p9c_read(l->c, x, 0, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5));
	CHECK(u, p9c_read(l->c, x, 5, buf, sizeof(buf)) == 0);
	lclunk(l, x);
	CHECK(u, p9c_xattrwalk(l->c, fid, x, "user.none", &size) == -ENODATA);
	/* list */
	CHECK(u, setxattr(tp_path(&l->t, "f"), "user.other", "1", 1, 0) == 0);
	CHECK(u, p9c_xattrwalk(l->c, fid, x, "", &size) == 0);
	CHECK(u, size == sizeof("user.client") + sizeof("user.other"));
	memset(buf, 0, sizeof(buf));
	n = p9c_read(l->c, x, 0, buf, sizeof(buf));
	CHECK(u, n == (long)size);
	CHECK(u, (!strcmp(buf, "user.client") && !strcmp(buf + 12, "user.other")) ||
		     (!strcmp(buf, "user.other") && !strcmp(buf + 11, "user.client")));
	lclunk(l, x);
	lclunk(l, fid);
out:
	lteardown(u, l);
}

struct worker {
	struct loop *l;
	uint32_t fid;
	int bad;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char buf[64];

	for (int i = 0; i < 300; i++) {
		struct p9c_attr a;
		long n = p9c_read(w->l->c, w->fid, (uint64_t)(i % 10), buf, 4);

		w->bad += n != 4 || memcmp(buf, "0123456789abc" + i % 10, 4) != 0;
		w->bad += p9c_getattr(w->l->c, w->fid, P9_GETATTR_ALL, &a) != 0 || a.size != 13;
	}
	return NULL;
}

/* Threads at once on one client: each call its own tag and buffers. */
static void t_threads(struct unit *u)
{
	enum { N = 4 };
	struct loop *l = lsetup(u, 65536);
	struct worker w[N];
	pthread_t th[N];
	int started = 0, bad = 0;

	if (!l || !l->c)
		goto out;
	CHECK(u, tp_put_file(tp_path(&l->t, "f"), "0123456789abc") == 0);
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker){.l = l, .fid = lwalk(l, "f")};
		CHECK(u,
		      w[i].fid != P9_NOFID && p9c_lopen(l->c, w[i].fid, P9_DOTL_RDONLY, NULL) == 0);
	}
	for (int i = 0; i < N; i++)
		started += pthread_create(&th[i], NULL, worker_run, &w[i]) == 0;
	CHECK(u, started == N);
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
	}
	CHECK(u, bad == 0);
	for (int i = 0; i < N; i++)
		lclunk(l, w[i].fid);
out:
	lteardown(u, l);
}

/* --- a fake transport: each request gets a crafted reply ------------------ */

#define FAKE_CAP 65536

struct fake {
	struct p9c_transport tr;
	uint8_t reply[FAKE_CAP];
	size_t len;    /* of the reply */
	size_t claim;  /* when not 0, the length reported instead of len */
	bool keep_tag; /* the reply's tag as built, not the request's */
	int tag_delta; /* else the request's plus this */
	int err;       /* returned instead of a reply */
	unsigned calls;
	uint8_t req[FAKE_CAP];
	size_t req_len;
};

static int fake_call(void *arg, const void *req, size_t len, void *resp, size_t cap, size_t *rlen)
{
	struct fake *f = arg;

	f->calls++;
	f->req_len = len < FAKE_CAP ? len : FAKE_CAP;
	memcpy(f->req, req, f->req_len);
	if (f->err)
		return f->err;
	if (f->len > cap)
		return -EMSGSIZE;
	memcpy(resp, f->reply, f->len);
	if (!f->keep_tag && f->len >= P9_HDRSZ && len >= P9_HDRSZ)
		p9_put16((uint8_t *)resp + 5,
			 (uint16_t)(p9_get16((const uint8_t *)req + 5) + f->tag_delta));
	*rlen = f->claim ? f->claim : f->len;
	return 0;
}

/* The next reply: type and body by test_p9_util.h's format letters. */
static void fake_reply(struct fake *f, uint8_t type, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	f->len = p9t_vbuild(f->reply, FAKE_CAP, type, 0, fmt, ap);
	va_end(ap);
	f->claim = 0;
	f->keep_tag = false;
	f->tag_delta = 0;
	f->err = 0;
}

/* A client over f that agreed to msize 8192. */
static struct p9c *fake_client(struct unit *u, struct fake *f)
{
	struct p9c *c = NULL;

	memset(f, 0, sizeof(*f));
	f->tr = (struct p9c_transport){.call = fake_call, .arg = f};
	fake_reply(f, P9_RVERSION, "ds", SRV_MSIZE, P9_VERSION_L);
	if (p9c_new(&f->tr, SRV_MSIZE, &c) != 0 || !c) {
		CHECK(u, !"client over the fake transport");
		return NULL;
	}
	return c;
}

static void t_fids(struct unit *u)
{
	static struct fake f;
	struct p9c *c = fake_client(u, &f);
	uint32_t a, b, x, last = 0;
	unsigned n = 2;
	int err = 0;

	if (!c)
		return;
	CHECK(u, p9c_fid_new(c, &a) == 0 && p9c_fid_new(c, &b) == 0 && a != b);
	p9c_fid_put(c, a);
	CHECK(u, p9c_fid_new(c, &x) == 0 && x == a); /* a returned fid is reused */
	p9c_fid_put(c, b);
	p9c_fid_put(c, a);
	CHECK(u, p9c_fid_new(c, &x) == 0 && x == a && p9c_fid_new(c, &x) == 0 && x == b);
	/* all in use: -EMFILE, until one comes back */
	while (n < 2 * P9C_MAX_FIDS && !(err = p9c_fid_new(c, &x))) {
		n++;
		last = x;
	}
	CHECK(u, err == -EMFILE && n == P9C_MAX_FIDS);
	p9c_fid_put(c, last);
	p9c_fid_put(c, last); /* a second put is ignored: the fid goes to one user only */
	p9c_fid_put(c, P9C_MAX_FIDS + 5); /* never handed out */
	CHECK(u, p9c_fid_new(c, &x) == 0 && x == last && p9c_fid_new(c, &x) == -EMFILE);
	CHECK(u, f.calls == 1); /* fids are the client's own: nothing sent */
	p9c_free(c);
}

static void t_bad_frames(struct unit *u)
{
	static struct fake f;
	struct p9c *c = fake_client(u, &f);

	if (!c)
		return;
	/* the well-formed reply, to show the cases below fail for their flaw */
	fake_reply(&f, P9_RCLUNK, "");
	CHECK(u, p9c_clunk(c, 1) == 0);
	CHECK(u, f.req[4] == P9_TCLUNK && p9_get16(f.req + 5) != P9_NOTAG);
	/* another request's tag */
	f.tag_delta = 1;
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	f.tag_delta = -1;
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	f.tag_delta = 0;
	CHECK(u, p9c_clunk(c, 1) == 0);
	f.keep_tag = true;
	p9_put16(f.reply + 5, P9_NOTAG);
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	/* another request's reply type, or a T-message */
	fake_reply(&f, P9_RFLUSH, "");
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	fake_reply(&f, P9_TCLUNK, "d", 1u);
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	fake_reply(&f, P9_RLOPEN, "bdqd", 0, 0u, (uint64_t)1, 0u);
	CHECK(u, p9c_getattr(c, 1, P9_GETATTR_ALL, &(struct p9c_attr){0}) == -EPROTO);
	/* a size field that is not the length delivered */
	fake_reply(&f, P9_RCLUNK, "");
	f.len = 8; /* one byte more than the size field says */
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	fake_reply(&f, P9_RCLUNK, "");
	p9_put32(f.reply, 8); /* says one more than delivered */
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	p9_put32(f.reply, 0);
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	p9_put32(f.reply, 0xffffffffu);
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	/* shorter than a header, nothing at all, more than msize */
	fake_reply(&f, P9_RCLUNK, "");
	f.len = 6;
	p9_put32(f.reply, 6);
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	f.len = 0;
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	fake_reply(&f, P9_RCLUNK, "");
	f.claim = SRV_MSIZE + 1;
	p9_put32(f.reply, SRV_MSIZE + 1);
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	/* a reply too short for its fields */
	fake_reply(&f, P9_RATTACH, "bd", P9_QTDIR, 0u);
	CHECK(u, p9c_attach(c, 0, "u", "", 0, NULL) == -EPROTO);
	fake_reply(&f, P9_RLOPEN, "bdq", 0, 0u, (uint64_t)1);
	CHECK(u, p9c_lopen(c, 1, 0, NULL) == -EPROTO);
	fake_reply(&f, P9_RSTATFS, "ddqqqqqq", 1u, 4096u, (uint64_t)1, (uint64_t)1, (uint64_t)1,
		   (uint64_t)1, (uint64_t)1, (uint64_t)1);
	CHECK(u, p9c_statfs(c, 1, &(struct p9c_statfs){0}) == -EPROTO);
	fake_reply(&f, P9_RXATTRWALK, "d", 5u);
	CHECK(u, p9c_xattrwalk(c, 1, 2, "user.x", &(uint64_t){0}) == -EPROTO);
	/* and the same whole */
	fake_reply(&f, P9_RXATTRWALK, "q", (uint64_t)5);
	{
		uint64_t size = 0;

		CHECK(u, p9c_xattrwalk(c, 1, 2, "user.x", &size) == 0 && size == 5);
	}
	CHECK(u, !p9c_dead(c));
	p9c_free(c);
}

static void t_lerror(struct unit *u)
{
	static struct fake f;
	struct p9c *c = fake_client(u, &f);

	if (!c)
		return;
	fake_reply(&f, P9_RLERROR, "d", (uint32_t)ENOENT);
	CHECK(u, p9c_clunk(c, 1) == -ENOENT);
	fake_reply(&f, P9_RLERROR, "d", 4095u);
	CHECK(u, p9c_clunk(c, 1) == -4095);
	fake_reply(&f, P9_RLERROR, "d", 1u);
	CHECK(u, p9c_clunk(c, 1) == -EPERM);
	/* codes out of 1..4095 are EIO */
	fake_reply(&f, P9_RLERROR, "d", 0u);
	CHECK(u, p9c_clunk(c, 1) == -EIO);
	fake_reply(&f, P9_RLERROR, "d", 4096u);
	CHECK(u, p9c_clunk(c, 1) == -EIO);
	fake_reply(&f, P9_RLERROR, "d", 0x80000000u);
	CHECK(u, p9c_clunk(c, 1) == -EIO);
	fake_reply(&f, P9_RLERROR, "d", 0xffffffffu);
	CHECK(u, p9c_read(c, 1, 0, (char[8]){0}, 8) == -EIO);
	/* with no room for the code */
	fake_reply(&f, P9_RLERROR, "w", 2);
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	fake_reply(&f, P9_RLERROR, "");
	CHECK(u, p9c_clunk(c, 1) == -EPROTO);
	p9c_free(c);
}

static void t_counts(struct unit *u)
{
	static struct fake f;
	static uint8_t data[SRV_MSIZE], buf[SRV_MSIZE + 16];
	struct p9c *c = fake_client(u, &f);

	if (!c)
		return;
	memset(data, 'd', sizeof(data));
	/* Rread: more than asked, or more than the message holds */
	memset(buf, 'X', sizeof(buf));
	fake_reply(&f, P9_RREAD, "dR", 11u, (size_t)11, data);
	CHECK(u, p9c_read(c, 1, 0, buf, 10) == -EPROTO && buf[0] == 'X');
	fake_reply(&f, P9_RREAD, "dR", 5u, (size_t)3, data);
	CHECK(u, p9c_read(c, 1, 0, buf, 10) == -EPROTO && buf[0] == 'X');
	fake_reply(&f, P9_RREAD, "dR", 10u, (size_t)10, data);
	CHECK(u, p9c_read(c, 1, 0, buf, 10) == 10 && buf[9] == 'd' && buf[10] == 'X');
	CHECK(u, f.req[4] == P9_TREAD && p9_get32(f.req + 19) == 10);
	fake_reply(&f, P9_RREAD, "dR", 3u, (size_t)3, data);
	CHECK(u, p9c_read(c, 1, 0, buf, 10) == 3);
	/* asked for more than iounit: asks for iounit, and no more comes back */
	fake_reply(&f, P9_RREAD, "dR", IOUNIT + 1, (size_t)IOUNIT + 1, data);
	CHECK(u, p9c_read(c, 1, 0, buf, sizeof(buf)) == -EPROTO);
	CHECK(u, p9_get32(f.req + 19) == IOUNIT);
	fake_reply(&f, P9_RREAD, "dR", IOUNIT, (size_t)IOUNIT, data);
	CHECK(u, p9c_read(c, 1, 0, buf, sizeof(buf)) == IOUNIT);
	/* Rreaddir the same */
	fake_reply(&f, P9_RREADDIR, "dR", 101u, (size_t)101, data);
	CHECK(u, p9c_readdir(c, 1, 0, buf, 100) == -EPROTO);
	CHECK(u, f.req[4] == P9_TREADDIR && p9_get32(f.req + 19) == 100);
	fake_reply(&f, P9_RREADDIR, "d", 0xffffffffu);
	CHECK(u, p9c_readdir(c, 1, 0, buf, sizeof(buf)) == -EPROTO);
	/* Rwrite: more written than sent */
	fake_reply(&f, P9_RWRITE, "d", 6u);
	CHECK(u, p9c_write(c, 1, 0, data, 5) == -EPROTO);
	fake_reply(&f, P9_RWRITE, "d", 0xffffffffu);
	CHECK(u, p9c_write(c, 1, 0, data, sizeof(data)) == -EPROTO);
	CHECK(u, f.req[4] == P9_TWRITE && p9_get32(f.req + 19) == IOUNIT && f.req_len == SRV_MSIZE);
	fake_reply(&f, P9_RWRITE, "w", 5);
	CHECK(u, p9c_write(c, 1, 0, data, 5) == -EPROTO);
	fake_reply(&f, P9_RWRITE, "d", 4u);
	CHECK(u, p9c_write(c, 1, 0, data, 5) == 4);
	p9c_free(c);
}

#define QID(t) (t), 0u, (uint64_t)7

static void t_walk_qids(struct unit *u)
{
	static struct fake f;
	const char *names[2] = {"a", "b"};
	struct p9_qid *q = malloc(2 * sizeof(*q)); /* exactly two: ASan sees a third */
	struct p9c *c = fake_client(u, &f);

	if (!c || !q)
		goto out;
	/* more qids than names */
	fake_reply(&f, P9_RWALK, "wbdqbdq", 2, QID(P9_QTDIR), QID(P9_QTDIR));
	CHECK(u, p9c_walk(c, 0, 1, 1, names, q) == -EPROTO);
	fake_reply(&f, P9_RWALK, "wbdqbdqbdq", 3, QID(P9_QTDIR), QID(P9_QTDIR), QID(P9_QTDIR));
	CHECK(u, p9c_walk(c, 0, 1, 2, names, q) == -EPROTO);
	fake_reply(&f, P9_RWALK, "w", 1);
	CHECK(u, p9c_walk(c, 0, 1, 0, NULL, NULL) == -EPROTO);
	/* fewer qids than the count says */
	fake_reply(&f, P9_RWALK, "wbdqbd", 2, QID(P9_QTDIR), P9_QTDIR, 0u);
	CHECK(u, p9c_walk(c, 0, 1, 2, names, q) == -EPROTO);
	/* fewer qids than names: a partial walk */
	fake_reply(&f, P9_RWALK, "wbdq", 1, QID(P9_QTDIR));
	CHECK(u, p9c_walk(c, 0, 1, 2, names, q) == -ENOENT);
	fake_reply(&f, P9_RWALK, "w", 0);
	CHECK(u, p9c_walk(c, 0, 1, 1, names, q) == -ENOENT);
	/* all */
	fake_reply(&f, P9_RWALK, "wbdqbdq", 2, QID(P9_QTDIR), P9_QTFILE, 3u, (uint64_t)9);
	CHECK(u, p9c_walk(c, 0, 1, 2, names, q) == 0);
	CHECK(u, q[0].type == P9_QTDIR && q[1].type == P9_QTFILE && q[1].version == 3 &&
		     q[1].path == 9);
	CHECK(u, f.req[4] == P9_TWALK && p9_get16(f.req + 15) == 2);
	fake_reply(&f, P9_RWALK, "w", 0);
	CHECK(u, p9c_walk(c, 0, 1, 0, NULL, NULL) == 0);
out:
	free(q);
	p9c_free(c);
}

/* One readdir entry into b at *len. */
static void dirent_put(uint8_t *b, size_t *len, uint64_t off, uint8_t type, const void *name,
		       size_t nlen)
{
	b[*len] = P9_QTFILE;
	p9_put32(b + *len + 1, 0);
	p9_put64(b + *len + 5, 42);
	p9_put64(b + *len + 13, off);
	b[*len + 21] = type;
	p9_put16(b + *len + 22, (uint16_t)nlen);
	memcpy(b + *len + 24, name, nlen);
	*len += 24 + nlen;
}

static void t_dirents(struct unit *u)
{
	static struct fake f;
	static uint8_t b[2048];
	char name[300];
	struct p9c_dirent d;
	struct p9c *c;
	size_t len = 0, pos = 0;

	/* good ones, then the end */
	dirent_put(b, &len, 1, DT_REG, "one", 3);
	dirent_put(b, &len, 2, DT_DIR, "two", 3);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == 1 && !strcmp(d.name, "one") &&
		     d.offset == 1 && d.type == DT_REG && d.qid.path == 42 && pos == 27);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == 1 && !strcmp(d.name, "two") &&
		     d.offset == 2 && d.type == DT_DIR && pos == len);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == 0 && pos == len);
	/* a name with '/', with a NUL, empty */
	len = pos = 0;
	dirent_put(b, &len, 1, DT_REG, "a/b", 3);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == -EPROTO && pos == 0);
	len = 0;
	dirent_put(b, &len, 1, DT_REG, "/", 1);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == -EPROTO);
	len = 0;
	dirent_put(b, &len, 1, DT_REG, "a\0b", 3);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == -EPROTO);
	len = 0;
	dirent_put(b, &len, 1, DT_REG, "a\0", 2);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == -EPROTO);
	len = 0;
	dirent_put(b, &len, 1, DT_REG, "", 0);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == -EPROTO);
	/* a good one, then a bad one: the good one is read */
	len = 0;
	dirent_put(b, &len, 1, DT_REG, "ok", 2);
	dirent_put(b, &len, 2, DT_REG, "x/", 2);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == 1 && !strcmp(d.name, "ok"));
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == -EPROTO && pos == 26);
	/* truncated: in its name, in its name's length, in its qid */
	len = pos = 0;
	dirent_put(b, &len, 1, DT_REG, "name", 4);
	CHECK(u, p9c_dirent_next(b, len - 1, &pos, &d) == -EPROTO && pos == 0);
	CHECK(u, p9c_dirent_next(b, 23, &pos, &d) == -EPROTO);
	CHECK(u, p9c_dirent_next(b, 5, &pos, &d) == -EPROTO);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == 1 && pos == len);
	/* the longest name that fits struct p9c_dirent, and one more */
	memset(name, 'n', sizeof(name));
	len = pos = 0;
	dirent_put(b, &len, 1, DT_REG, name, 255);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == 1 && strlen(d.name) == 255);
	len = pos = 0;
	dirent_put(b, &len, 1, DT_REG, name, 256);
	CHECK(u, p9c_dirent_next(b, len, &pos, &d) == -EPROTO);
	/* through Rreaddir: the bytes come back whole, their entries are checked */
	c = fake_client(u, &f);
	if (!c)
		return;
	len = pos = 0;
	dirent_put(b, &len, 1, DT_REG, "good", 4);
	dirent_put(b, &len, 2, DT_REG, "ba/d", 4);
	fake_reply(&f, P9_RREADDIR, "dR", (uint32_t)len, len, b);
	{
		uint8_t got[512];
		long n = p9c_readdir(c, 1, 0, got, sizeof(got));

		CHECK(u, n == (long)len);
		CHECK(u, n > 0 && p9c_dirent_next(got, (size_t)n, &pos, &d) == 1 &&
			     !strcmp(d.name, "good"));
		CHECK(u, n > 0 && p9c_dirent_next(got, (size_t)n, &pos, &d) == -EPROTO);
	}
	p9c_free(c);
}

/* One Rlxswatch record into b at *len. */
static void wrec_put(uint8_t *b, size_t *len, uint8_t kind, uint64_t ino, uint64_t dir,
		     const void *name, size_t nlen)
{
	b[*len] = kind;
	p9_put64(b + *len + 1, ino);
	p9_put64(b + *len + 9, dir);
	p9_put16(b + *len + 17, (uint16_t)nlen);
	memcpy(b + *len + P9_WATCH_RECSZ, name, nlen);
	*len += P9_WATCH_RECSZ + nlen;
}

/* Rlxswatch (p9/watch.h): flags, count and records, each checked before anything is used. */
static void t_watch(struct unit *u)
{
	static struct fake f;
	static uint8_t b[2048], got[SRV_MSIZE];
	struct p9c_watch_rec r;
	struct p9c *c = fake_client(u, &f);
	size_t len = 0, glen, pos = 0;
	uint32_t flags;
	char name[300];

	if (!c)
		return;
	/* good: a name, contents, attributes */
	wrec_put(b, &len, P9_WATCH_NAME, 0, 5, "x", 1);
	wrec_put(b, &len, P9_WATCH_DATA, 9, 0, "", 0);
	wrec_put(b, &len, P9_WATCH_ATTR, 10, 0, "", 0);
	fake_reply(&f, P9_RLXSWATCH, "dwR", P9_WATCH_ARMED, 3, len, b);
	CHECK(u, p9c_watch(c, got, sizeof(got), &flags, &glen) == 0 && flags == P9_WATCH_ARMED &&
		     glen == len);
	CHECK(u, f.req_len == P9_HDRSZ && f.req[4] == P9_TLXSWATCH);
	CHECK(u, p9c_watch_next(got, glen, &pos, &r) == 1 && r.kind == P9_WATCH_NAME &&
		     r.dir == 5 && !strcmp(r.name, "x"));
	CHECK(u, p9c_watch_next(got, glen, &pos, &r) == 1 && r.kind == P9_WATCH_DATA &&
		     r.ino == 9 && !r.name[0]);
	CHECK(u,
	      p9c_watch_next(got, glen, &pos, &r) == 1 && r.kind == P9_WATCH_ATTR && r.ino == 10);
	CHECK(u, p9c_watch_next(got, glen, &pos, &r) == 0);
	/* nothing but LOST */
	fake_reply(&f, P9_RLXSWATCH, "dw", P9_WATCH_LOST, 0);
	CHECK(u, p9c_watch(c, got, sizeof(got), &flags, &glen) == 0 && flags == P9_WATCH_LOST &&
		     glen == 0);
	/* a count past the records, short of them; flags nobody defined; no count at all */
	fake_reply(&f, P9_RLXSWATCH, "dwR", 0, 4, len, b);
	CHECK(u, p9c_watch(c, got, sizeof(got), &flags, &glen) == -EPROTO);
	fake_reply(&f, P9_RLXSWATCH, "dwR", 0, 2, len, b);
	CHECK(u, p9c_watch(c, got, sizeof(got), &flags, &glen) == -EPROTO);
	fake_reply(&f, P9_RLXSWATCH, "dwR", 0x80u, 3, len, b);
	CHECK(u, p9c_watch(c, got, sizeof(got), &flags, &glen) == -EPROTO);
	fake_reply(&f, P9_RLXSWATCH, "d", 0);
	CHECK(u, p9c_watch(c, got, sizeof(got), &flags, &glen) == -EPROTO);
	/* records no server may send */
	static const struct {
		uint8_t kind;
		const char *name;
		size_t nlen;
	} bad[] = {
	    {P9_WATCH_NAME, "", 0},
	    {P9_WATCH_NAME, ".", 1},
	    {P9_WATCH_NAME, "..", 2},
	    {P9_WATCH_NAME, "a/b", 3},
	    {P9_WATCH_NAME, "a\0b", 3},
	    {P9_WATCH_ATTR, "x", 1},
	    {P9_WATCH_DATA, "x", 1},
	    {0, "", 0},
	    {4, "", 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = 0;
		wrec_put(b, &len, bad[i].kind, 1, 2, bad[i].name, bad[i].nlen);
		fake_reply(&f, P9_RLXSWATCH, "dwR", 0, 1, len, b);
		CHECK(u, p9c_watch(c, got, sizeof(got), &flags, &glen) == -EPROTO);
		pos = 0;
		CHECK(u, p9c_watch_next(b, len, &pos, &r) == -EPROTO && pos == 0);
	}
	/* the longest name, and one more; a record cut short */
	memset(name, 'n', sizeof(name));
	len = pos = 0;
	wrec_put(b, &len, P9_WATCH_NAME, 0, 2, name, P9_WATCH_NAME_MAX);
	CHECK(u, p9c_watch_next(b, len, &pos, &r) == 1 && strlen(r.name) == P9_WATCH_NAME_MAX);
	len = pos = 0;
	wrec_put(b, &len, P9_WATCH_NAME, 0, 2, name, P9_WATCH_NAME_MAX + 1);
	CHECK(u, p9c_watch_next(b, len, &pos, &r) == -EPROTO);
	CHECK(u, p9c_watch_next(b, 10, &pos, &r) == -EPROTO);
	/* a server that does not watch */
	fake_reply(&f, P9_RLERROR, "d", (uint32_t)EOPNOTSUPP);
	CHECK(u, p9c_watch(c, got, sizeof(got), &flags, &glen) == -EOPNOTSUPP);
	p9c_free(c);
}

static void t_readlink_hostile(struct unit *u)
{
	static struct fake f;
	struct p9c *c = fake_client(u, &f);
	char buf[16];

	if (!c)
		return;
	memset(buf, 'X', sizeof(buf));
	fake_reply(&f, P9_RREADLINK, "S", 3, "a\0b");
	CHECK(u, p9c_readlink(c, 1, buf, sizeof(buf)) == -EPROTO && buf[0] == 'X');
	fake_reply(&f, P9_RREADLINK, "S", 1, "");
	CHECK(u, p9c_readlink(c, 1, buf, sizeof(buf)) == -EPROTO && buf[0] == 'X');
	fake_reply(&f, P9_RREADLINK, "s", "");
	CHECK(u, p9c_readlink(c, 1, buf, sizeof(buf)) == -EPROTO && buf[0] == 'X');
	/* a length past the message */
	fake_reply(&f, P9_RREADLINK, "wR", 10, (size_t)3, "abc");
	CHECK(u, p9c_readlink(c, 1, buf, sizeof(buf)) == -EPROTO && buf[0] == 'X');
	fake_reply(&f, P9_RREADLINK, "b", 1);
	CHECK(u, p9c_readlink(c, 1, buf, sizeof(buf)) == -EPROTO && buf[0] == 'X');
	/* too long for the buffer */
	fake_reply(&f, P9_RREADLINK, "s", "abcdefghijklmnop");
	CHECK(u, p9c_readlink(c, 1, buf, sizeof(buf)) == -ENAMETOOLONG && buf[0] == 'X');
	fake_reply(&f, P9_RREADLINK, "s", "abc");
	CHECK(u, p9c_readlink(c, 1, buf, 3) == -ENAMETOOLONG && buf[0] == 'X');
	CHECK(u, p9c_readlink(c, 1, buf, 4) == 3 && !strcmp(buf, "abc"));
	fake_reply(&f, P9_RREADLINK, "s", "../x/y");
	CHECK(u, p9c_readlink(c, 1, buf, sizeof(buf)) == 6 && !strcmp(buf, "../x/y"));
	p9c_free(c);
}

/* Rgetattr with this mode and times' nanoseconds; short: cut before ctime_nsec. */
static void getattr_reply(struct fake *f, uint32_t mode, uint64_t ansec, uint64_t mnsec,
			  uint64_t cnsec, bool short_)
{
	if (short_)
		fake_reply(f, P9_RGETATTR, "qbdqdddqqqqqqqqqq", (uint64_t)P9_GETATTR_BASIC, QID(0),
			   mode, 1u, 2u, (uint64_t)1, (uint64_t)0, (uint64_t)3, (uint64_t)4096,
			   (uint64_t)1, (uint64_t)10, ansec, (uint64_t)20, mnsec, (uint64_t)30);
	else
		fake_reply(f, P9_RGETATTR, "qbdqdddqqqqqqqqqqqqqqq", (uint64_t)P9_GETATTR_BASIC,
			   QID(0), mode, 1u, 2u, (uint64_t)1, (uint64_t)0, (uint64_t)3,
			   (uint64_t)4096, (uint64_t)1, (uint64_t)10, ansec, (uint64_t)20, mnsec,
			   (uint64_t)30, cnsec, (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0);
}

static void t_getattr_hostile(struct unit *u)
{
	static const uint32_t good[] = {S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR,
					S_IFBLK, S_IFIFO, S_IFSOCK};
	static const uint32_t bad[] = {0, 0030000, 0050000, 0070000, 0110000, 0170000};
	static struct fake f;
	struct p9c *c = fake_client(u, &f);
	struct p9c_attr a;
	int ok = 1;

	if (!c)
		return;
	memset(&a, 0, sizeof(a));
	getattr_reply(&f, S_IFREG | 0644, 999999999, 0, 1, false);
	CHECK(u, p9c_getattr(c, 1, P9_GETATTR_ALL, &a) == 0);
	CHECK(u, a.mode == (S_IFREG | 0644) && a.uid == 1 && a.gid == 2 && a.size == 3 &&
		     a.atime_sec == 10 && a.atime_nsec == 999999999 && a.mtime_sec == 20 &&
		     a.ctime_sec == 30 && a.ctime_nsec == 1 && a.valid == P9_GETATTR_BASIC);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		getattr_reply(&f, good[i] | 0755, 0, 0, 0, false);
		ok &= p9c_getattr(c, 1, P9_GETATTR_ALL, &a) == 0;
	}
	CHECK(u, ok);
	/* no file type, or one that is none */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		getattr_reply(&f, bad[i] | 0755, 0, 0, 0, false);
		ok &= p9c_getattr(c, 1, P9_GETATTR_ALL, &a) == -EPROTO;
	}
	CHECK(u, ok);
	/* nanoseconds of a second or more */
	getattr_reply(&f, S_IFREG, 1000000000, 0, 0, false);
	CHECK(u, p9c_getattr(c, 1, P9_GETATTR_ALL, &a) == -EPROTO);
	getattr_reply(&f, S_IFREG, 0, 1000000000, 0, false);
	CHECK(u, p9c_getattr(c, 1, P9_GETATTR_ALL, &a) == -EPROTO);
	getattr_reply(&f, S_IFREG, 0, 0, UINT64_MAX, false);
	CHECK(u, p9c_getattr(c, 1, P9_GETATTR_ALL, &a) == -EPROTO);
	/* cut short */
	getattr_reply(&f, S_IFREG, 0, 0, 0, true);
	CHECK(u, p9c_getattr(c, 1, P9_GETATTR_ALL, &a) == -EPROTO);
	p9c_free(c);
}

/* p9c_new against a fake whose Rversion is built by fmt. */
static int version_with(struct fake *f, uint32_t ask, struct p9c **c, uint8_t type, const char *fmt,
			...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->tr = (struct p9c_transport){.call = fake_call, .arg = f};
	va_start(ap, fmt);
	f->len = p9t_vbuild(f->reply, FAKE_CAP, type, 0, fmt, ap);
	va_end(ap);
	*c = NULL;
	return p9c_new(&f->tr, ask, c);
}

static void t_version_hostile(struct unit *u)
{
	static struct fake f;
	struct p9c *c = NULL;

	/* what a good one looks like */
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "ds", 8192u, "9P2000.L") == 0);
	CHECK(u, c && p9c_msize(c) == 8192);
	CHECK(u, f.req[4] == P9_TVERSION && p9_get16(f.req + 5) == P9_NOTAG);
	CHECK(u, p9_get32(f.req + 7) == 8192 && p9_get16(f.req + 11) == 8);
	p9c_free(c);
	CHECK(u, version_with(&f, 65536, &c, P9_RVERSION, "ds", 4096u, "9P2000.L") == 0);
	CHECK(u, c && p9c_msize(c) == 4096 && p9c_iounit(c) == 4096 - 23);
	p9c_free(c);
	/* another version */
	CHECK(u,
	      version_with(&f, 8192, &c, P9_RVERSION, "ds", 8192u, "unknown") == -EPROTONOSUPPORT);
	CHECK(u,
	      version_with(&f, 8192, &c, P9_RVERSION, "ds", 8192u, "9P2000.u") == -EPROTONOSUPPORT);
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "ds", 8192u, "9P2000.L.x") ==
		     -EPROTONOSUPPORT);
	CHECK(u,
	      version_with(&f, 8192, &c, P9_RVERSION, "ds", 8192u, "9P2000") == -EPROTONOSUPPORT);
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "dS", 8192u, 9, "9P2000.L\0") ==
		     -EPROTONOSUPPORT);
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "ds", 8192u, "") == -EPROTONOSUPPORT);
	/* an msize above what was asked, or below the least */
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "ds", 8193u, "9P2000.L") == -EPROTO);
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "ds", 0xffffffffu, "9P2000.L") == -EPROTO);
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "ds", 4095u, "9P2000.L") == -EPROTO);
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "ds", 0u, "9P2000.L") == -EPROTO);
	/* not an Rversion, a tag that is not NOTAG, truncated */
	CHECK(u, version_with(&f, 8192, &c, P9_RATTACH, "ds", 8192u, "9P2000.L") == -EPROTO);
	CHECK(u, version_with(&f, 8192, &c, P9_RLERROR, "d", (uint32_t)EINVAL) == -EINVAL);
	memset(&f, 0, sizeof(f));
	f.tr = (struct p9c_transport){.call = fake_call, .arg = &f};
	f.len = p9t_build(f.reply, FAKE_CAP, P9_RVERSION, 0, "ds", 8192u, "9P2000.L");
	f.keep_tag = true;
	CHECK(u, p9c_new(&f.tr, 8192, &c) == -EPROTO);
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "dw", 8192u, 8) == -EPROTO);
	CHECK(u, version_with(&f, 8192, &c, P9_RVERSION, "wR", 8192, (size_t)1, "x") == -EPROTO);
	/* no reply at all */
	memset(&f, 0, sizeof(f));
	f.tr = (struct p9c_transport){.call = fake_call, .arg = &f};
	f.err = -ENOTCONN;
	CHECK(u, p9c_new(&f.tr, 8192, &c) == -ENOTCONN);
	f.err = -EIO;
	CHECK(u, p9c_new(&f.tr, 8192, &c) == -EIO);
}

static void t_dead(struct unit *u)
{
	static struct fake f;
	struct p9c *c = fake_client(u, &f);
	unsigned calls;

	if (!c)
		return;
	/* another transport error is the call's alone */
	f.err = -EIO;
	CHECK(u, p9c_clunk(c, 1) == -EIO && !p9c_dead(c));
	f.err = -EINTR;
	CHECK(u, p9c_clunk(c, 1) == -EINTR && !p9c_dead(c));
	fake_reply(&f, P9_RCLUNK, "");
	CHECK(u, p9c_clunk(c, 1) == 0 && !p9c_dead(c));
	/* the server's own ENOTCONN is an I/O error of that call: only the transport says gone */
	fake_reply(&f, P9_RLERROR, "d", (uint32_t)ENOTCONN);
	CHECK(u, p9c_clunk(c, 1) == -EIO && !p9c_dead(c));
	fake_reply(&f, P9_RCLUNK, "");
	CHECK(u, p9c_clunk(c, 1) == 0);
	/* ENOTCONN: this call and every later one, with nothing more sent */
	f.err = -ENOTCONN;
	CHECK(u, p9c_clunk(c, 1) == -ENOTCONN && p9c_dead(c));
	fake_reply(&f, P9_RCLUNK, "");
	calls = f.calls;
	CHECK(u, p9c_clunk(c, 1) == -ENOTCONN);
	CHECK(u, p9c_getattr(c, 1, P9_GETATTR_ALL, &(struct p9c_attr){0}) == -ENOTCONN);
	CHECK(u, p9c_read(c, 1, 0, (char[8]){0}, 8) == -ENOTCONN);
	CHECK(u, p9c_walk(c, 0, 1, 0, NULL, NULL) == -ENOTCONN);
	CHECK(u, p9c_readlink(c, 1, (char[8]){0}, 8) == -ENOTCONN);
	CHECK(u, f.calls == calls && p9c_dead(c));
	p9c_free(c);
}

int main(void)
{
	struct unit u = {0};

	umask(022);
	RUN(&u, t_version);
	RUN(&u, t_attach_walk);
	RUN(&u, t_getattr_setattr);
	RUN(&u, t_open_read_write);
	RUN(&u, t_readdir);
	RUN(&u, t_create_kinds);
	RUN(&u, t_unlink_rename);
	RUN(&u, t_statfs_fsync);
	RUN(&u, t_xattr);
	RUN(&u, t_threads);
	RUN(&u, t_fids);
	RUN(&u, t_bad_frames);
	RUN(&u, t_lerror);
	RUN(&u, t_counts);
	RUN(&u, t_walk_qids);
	RUN(&u, t_dirents);
	RUN(&u, t_watch);
	RUN(&u, t_readlink_hostile);
	RUN(&u, t_getattr_hostile);
	RUN(&u, t_version_hostile);
	RUN(&u, t_dead);
	return unit_done(&u);
}
