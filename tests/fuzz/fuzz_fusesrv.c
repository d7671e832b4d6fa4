// fuzz-link: src/fusesrv/*.c src/hostfs/*.c src/common/clock.c
/*
 * fuzz_fusesrv.c - libFuzzer target for the FUSE server (src/fusesrv)
 * over a real scratch share, as the virtio-fs device drives it: one
 * session per input, INIT done first (so that every opcode is reached),
 * then the input's requests, each in buffers split where the input says
 * and copied to exact-size allocations (so ASan sees any access past one).
 *
 * Findings besides crashes, sanitizer reports, leaks and hangs: a result
 * of fsrv_handle other than -EBADMSG, -ENOBUFS, 0 for a FORGET or a
 * reply's length; a reply whose header disagrees with that length, names
 * another unique, carries an error outside 1..511 or an error with a body,
 * or is longer than the buffers; any change to the canary beside the share.
 *
 * Each input: a flags byte, then records.
 *   flags bit 0  `metadata` (owners and modes in xattrs)
 *   flags bit 1  read-only share
 *   flags bit 2  small limits (8 nodes, 4 handles, max_write 8 KiB)
 *   flags bits 4-5  owners: 1 real, 2 VolFs, else DrvFs
 *   flags bit 3  raw headers: each record's header length comes from the
 *                input instead of being the request's own
 * Record: len[2] opcode[1] node[1] fh[1] split[1] room[2] (hlen[4] when
 * raw) args[len].
 *   node  bit 7 clear: the (node % 16)th nodeid a reply gave (0: the
 *         root); set: a forged one, node * 0x10001 with the high bits
 *   fh    bit 7 set: the (fh % 16)th fh a reply gave is written over the
 *         opcode's fh field in args (so that I/O reaches real handles)
 *   split low nibble: cuts of the request's buffer, high nibble: of the
 *         reply's, at positions drawn from the split byte
 *   room  the reply buffers' size (0: 32 KiB)
 *
 * The share lives under /tmp/lxs-fuzz-fusesrv.XXXXXX/share with the
 * canary beside it, made once per process and emptied and made again when
 * it holds too many files or blocks. A guest may fill whatever a share's
 * disk holds, so the harness bounds what the input can make it write:
 * files stop at 64 MiB (RLIMIT_FSIZE, SIGXFSZ ignored: EFBIG), and the
 * two requests that allocate without growing a file or write what they do
 * not carry, FALLOCATE (KEEP_SIZE) and COPY_FILE_RANGE, have their offset
 * and length cut to a few MiB. With LXS_FUZZ_SEED_DIR set to an empty
 * folder, seeds (a session of each kind of operation) are written there
 * first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fusesrv/fusesrv.h"
#include "hostfs/hostfs.h"

#define FUZZ_NAME "fuzz_fusesrv"
#include "fuzz_util.h"

#define ROOM        (32u << 10)
#define MAX_RECORDS 64
#define MAX_CUTS    15
#define REMEMBER    16
#define MAX_FILES   2000
#define MAX_BLOCKS  (256ull << 20) / 512 /* 256 MiB of the disk */
#define MAX_FSIZE   (64u << 20)
#define CUT_LEN     (4u << 20) /* FALLOCATE and COPY_FILE_RANGE lengths */
#define CUT_OFF     (64u << 20)
#define CHECK_EVERY 16

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer gives its callbacks no context, so the harness state is file-wide. */
static struct {
	char base[64], share[96], canary[112];
	struct hostfs *h;
	unsigned long runs;
} H;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_fusesrv: %s\n", what);
	abort();
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	close(fd);
}

static void populate(void)
{
	char p[160];

#define P(rel) (snprintf(p, sizeof(p), "%s/%s", H.share, rel), p)
	put_file(P("a"), "0123456789abcdef");
	mkdir(P("d"), 0755);
	put_file(P("d/e"), "e");
	symlink("/", P("root"));
	symlink("/etc", P("etc"));
	symlink("../canary", P("up"));
	mkfifo(P("p"), 0644);
	link(P("a"), P("h"));
#undef P
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(p);
	return 0;
}

static unsigned long files;
static unsigned long long blocks;
static int count_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)p;
	(void)flag;
	(void)ftw;
	blocks += (unsigned long long)st->st_blocks;
	return ++files > MAX_FILES || blocks > MAX_BLOCKS;
}

static void check_canary(void)
{
	char buf[16] = {0};
	int fd = open(H.canary, O_RDONLY);

	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 6 && !memcmp(buf, "CANARY", 6));
	close(fd);
	/* Keep the share small: a fuzzer making files forever would slow every walk. */
	files = 0;
	blocks = 0;
	if (nftw(H.share, count_cb, 16, FTW_PHYS) != 0) {
		nftw(H.share, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		populate();
	}
}

static void cleanup(void)
{
	hfs_free(H.h);
	nftw(H.base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(H.base);
}

/* --- seeds ---------------------------------------------------------------- */

struct seed {
	uint8_t buf[4096];
	size_t len;
};

/* One record; args is the opcode's arguments, a name or two after them. */
static void rec(struct seed *s, uint32_t op, uint8_t node, uint8_t fh, const void *args,
		size_t alen, const char *name1, const char *name2)
{
	uint8_t a[1024];
	size_t n = alen;

	if (alen)
		memcpy(a, args, alen);
	if (name1) {
		memcpy(a + n, name1, strlen(name1) + 1);
		n += strlen(name1) + 1;
	}
	if (name2) {
		memcpy(a + n, name2, strlen(name2) + 1);
		n += strlen(name2) + 1;
	}
	if (s->len + 8 + n > sizeof(s->buf))
		return;
	s->buf[s->len] = (uint8_t)n;
	s->buf[s->len + 1] = (uint8_t)(n >> 8);
	s->buf[s->len + 2] = (uint8_t)op;
	s->buf[s->len + 3] = node;
	s->buf[s->len + 4] = fh;
	s->buf[s->len + 5] = 0x21; /* a cut in each */
	s->buf[s->len + 6] = 0;
	s->buf[s->len + 7] = 0;
	memcpy(s->buf + s->len + 8, a, n);
	s->len += 8 + n;
}

#define FH(i) (uint8_t)(0x80 | (i))

static void write_seeds(const char *dir)
{
	struct fuse_open_in oi = {.flags = O_RDWR};
	struct fuse_read_in ri = {.size = 4096};
	struct fuse_write_in wi = {.size = 4};
	struct fuse_release_in rl = {0};
	struct fuse_create_in ci = {.flags = O_CREAT | O_RDWR, .mode = S_IFREG | 0644};
	struct fuse_mkdir_in mi = {.mode = 0755};
	struct fuse_getattr_in gi = {0};
	struct fuse_setattr_in si = {.valid = FATTR_SIZE | FATTR_MODE, .size = 3, .mode = 0600};
	struct fuse_rename2_in r2 = {.newdir = 1, .flags = RENAME_EXCHANGE};
	struct fuse_setxattr_in sx = {.size = 2};
	struct fuse_getxattr_in gx = {.size = 0};
	struct fuse_mknod_in mn = {.mode = S_IFIFO | 0644};
	struct fuse_link_in li = {0};
	struct fuse_lseek_in ls = {.whence = SEEK_DATA};
	struct fuse_fallocate_in fa = {.length = 100};
	struct fuse_copy_file_range_in cr = {.len = 5};
	struct fuse_forget_in fo = {.nlookup = 1};
	struct seed s[10];
	char name[16];
	int n = 0;

	memset(s, 0, sizeof(s));
	/* read and write a file */
	s[n].len = 1;
	rec(&s[n], FUSE_LOOKUP, 0, 0, NULL, 0, "a", NULL);
	rec(&s[n], FUSE_GETATTR, 1, 0, &gi, sizeof(gi), NULL, NULL);
	rec(&s[n], FUSE_OPEN, 1, 0, &oi, sizeof(oi), NULL, NULL);
	rec(&s[n], FUSE_READ, 0, FH(0), &ri, sizeof(ri), NULL, NULL);
	{
		uint8_t w[sizeof(wi) + 4];

		memcpy(w, &wi, sizeof(wi));
		memcpy(w + sizeof(wi), "data", 4);
		rec(&s[n], FUSE_WRITE, 0, FH(0), w, sizeof(w), NULL, NULL);
	}
	rec(&s[n], FUSE_LSEEK, 1, FH(0), &ls, sizeof(ls), NULL, NULL);
	rec(&s[n], FUSE_RELEASE, 0, FH(0), &rl, sizeof(rl), NULL, NULL);
	rec(&s[n], FUSE_FORGET, 1, 0, &fo, sizeof(fo), NULL, NULL);
	n++;
	/* create, set attributes, fallocate, copy */
	s[n].len = 1;
	rec(&s[n], FUSE_CREATE, 0, 0, &ci, sizeof(ci), "new", NULL);
	rec(&s[n], FUSE_SETATTR, 1, 0, &si, sizeof(si), NULL, NULL);
	rec(&s[n], FUSE_FALLOCATE, 1, FH(0), &fa, sizeof(fa), NULL, NULL);
	rec(&s[n], FUSE_COPY_FILE_RANGE, 1, FH(0), &cr, sizeof(cr), NULL, NULL);
	rec(&s[n], FUSE_UNLINK, 0, 0, NULL, 0, "new", NULL);
	n++;
	/* folders */
	s[n].len = 1;
	rec(&s[n], FUSE_MKDIR, 0, 0, &mi, sizeof(mi), "dir", NULL);
	rec(&s[n], FUSE_OPENDIR, 0, 0, &oi, sizeof(oi), NULL, NULL);
	rec(&s[n], FUSE_READDIRPLUS, 0, FH(0), &ri, sizeof(ri), NULL, NULL);
	rec(&s[n], FUSE_READDIR, 0, FH(0), &ri, sizeof(ri), NULL, NULL);
	rec(&s[n], FUSE_RELEASEDIR, 0, FH(0), &rl, sizeof(rl), NULL, NULL);
	rec(&s[n], FUSE_RMDIR, 0, 0, NULL, 0, "dir", NULL);
	n++;
	/* names: symlinks, links, renames, "..", bad names */
	s[n].len = 1;
	rec(&s[n], FUSE_SYMLINK, 0, 0, NULL, 0, "sl", "/etc/passwd");
	rec(&s[n], FUSE_READLINK, 1, 0, NULL, 0, NULL, NULL);
	rec(&s[n], FUSE_LOOKUP, 0, 0, NULL, 0, "etc", NULL);
	rec(&s[n], FUSE_LOOKUP, 2, 0, NULL, 0, "passwd", NULL);
	rec(&s[n], FUSE_LOOKUP, 0, 0, NULL, 0, "..", NULL);
	rec(&s[n], FUSE_LOOKUP, 0, 0, NULL, 0, "a/b", NULL);
	rec(&s[n], FUSE_LOOKUP, 0, 0, NULL, 0, "a", NULL);
	li.oldnodeid = 0; /* patched below by nothing: a forged one */
	rec(&s[n], FUSE_LINK, 0, 0, &li, sizeof(li), "l2", NULL);
	rec(&s[n], FUSE_RENAME2, 0, 0, &r2, sizeof(r2), "a", "h");
	rec(&s[n], FUSE_MKNOD, 0, 0, &mn, sizeof(mn), "fifo", NULL);
	n++;
	/* xattrs */
	s[n].len = 1;
	{
		uint8_t x[sizeof(sx) + 16];

		memcpy(x, &sx, 8);
		memcpy(x + 8, "user.x\0hi", 9);
		rec(&s[n], FUSE_LOOKUP, 0, 0, NULL, 0, "a", NULL);
		rec(&s[n], FUSE_SETXATTR, 1, 0, x, 17, NULL, NULL);
	}
	rec(&s[n], FUSE_GETXATTR, 1, 0, &gx, sizeof(gx), "user.x", NULL);
	rec(&s[n], FUSE_LISTXATTR, 1, 0, &gx, sizeof(gx), NULL, NULL);
	rec(&s[n], FUSE_REMOVEXATTR, 1, 0, NULL, 0, "user.x", NULL);
	rec(&s[n], FUSE_STATFS, 0, 0, NULL, 0, NULL, NULL);
	n++;
	/* the same with metadata, read-only, small limits, real and VolFs owners */
	for (int k = 0; k < 5; k++) {
		s[n] = s[k];
		s[n++].buf[0] = (uint8_t[]){1, 2, 4, 0x10, 0x21}[k];
	}
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%02d", i);
		fz_write_seed(dir, name, s[i].buf, s[i].len);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = fz_seed_dir();

	(void)argc;
	(void)argv;
	if (seeds)
		write_seeds(seeds);
	snprintf(H.base, sizeof(H.base), "/tmp/lxs-fuzz-fusesrv.XXXXXX");
	if (!mkdtemp(H.base))
		die("mkdtemp");
	snprintf(H.share, sizeof(H.share), "%s/share", H.base);
	snprintf(H.canary, sizeof(H.canary), "%s/canary", H.base);
	if (mkdir(H.share, 0755) < 0)
		die("scratch share");
	put_file(H.canary, "CANARY");
	populate();
	if (hfs_open(H.share, &H.h) < 0)
		die("share");
	/* The disk is not the input's to fill (see the top); SIGXFSZ in TestOneInput. */
	if (setrlimit(RLIMIT_FSIZE, &(struct rlimit){MAX_FSIZE, MAX_FSIZE}) < 0)
		die("RLIMIT_FSIZE");
	atexit(cleanup);
	return 0;
}

/* --- one input ------------------------------------------------------------- */

struct run {
	struct fsrv *s;
	uint64_t unique;
	uint64_t nodes[REMEMBER], fhs[REMEMBER];
	unsigned nnodes, nfhs;
};

/* Where each opcode's arguments hold an fh, or -1. */
static int fh_offset(uint32_t op)
{
	switch (op) {
	case FUSE_READ:
	case FUSE_WRITE:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_LSEEK:
	case FUSE_FALLOCATE:
	case FUSE_COPY_FILE_RANGE:
		return 0;
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		return 8;
	default:
		return -1;
	}
}

/* Cut a 64-bit field of args at off to below max, if the args hold it. */
static void cut(uint8_t *args, size_t alen, size_t off, uint64_t max)
{
	uint64_t v;

	if (alen < off + 8)
		return;
	memcpy(&v, args + off, 8);
	v %= max;
	memcpy(args + off, &v, 8);
}

/* What an input may make the disk hold (see the top). */
static void bound(uint32_t op, uint8_t *args, size_t alen)
{
	if (op == FUSE_FALLOCATE) {
		cut(args, alen, offsetof(struct fuse_fallocate_in, offset), CUT_OFF);
		cut(args, alen, offsetof(struct fuse_fallocate_in, length), CUT_LEN);
	} else if (op == FUSE_COPY_FILE_RANGE) {
		cut(args, alen, offsetof(struct fuse_copy_file_range_in, off_out), CUT_OFF);
		cut(args, alen, offsetof(struct fuse_copy_file_range_in, len), CUT_LEN);
	}
}

static void remember(uint64_t *list, unsigned *n, uint64_t id)
{
	list[*n % REMEMBER] = id;
	(*n)++;
}

/* Split len bytes of buf into up to cuts+1 exact-size pieces; the count. */
static unsigned split(const uint8_t *buf, size_t len, unsigned cuts, uint8_t seed, struct iovec *v)
{
	size_t at[MAX_CUTS + 2];
	unsigned n = 0, k = 0;

	at[k++] = 0;
	for (unsigned i = 0; i < cuts; i++)
		at[k++] = len ? (size_t)(seed * 131u + i * 977u) % (len + 1) : 0;
	at[k++] = len;
	/* sorted, so that the pieces are in order (insertion sort: k is small) */
	for (unsigned i = 1; i < k; i++)
		for (unsigned j = i; j > 0 && at[j - 1] > at[j]; j--) {
			size_t x = at[j];

			at[j] = at[j - 1];
			at[j - 1] = x;
		}
	for (unsigned i = 0; i + 1 < k; i++) {
		size_t plen = at[i + 1] - at[i];
		uint8_t *p = malloc(plen ? plen : 1);

		if (!p)
			die("memory");
		if (buf)
			memcpy(p, buf + at[i], plen);
		v[n].iov_base = p;
		v[n++].iov_len = plen;
	}
	return n;
}

static void free_pieces(struct iovec *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i].iov_base);
}

/* Gather the reply out of its pieces into buf (at most cap bytes). */
static size_t gather(const struct iovec *v, unsigned n, uint8_t *buf, size_t cap)
{
	size_t got = 0;

	for (unsigned i = 0; i < n && got < cap; i++) {
		size_t take = v[i].iov_len < cap - got ? v[i].iov_len : cap - got;

		memcpy(buf + got, v[i].iov_base, take);
		got += take;
	}
	return got;
}

static void one(struct run *r, uint32_t op, uint64_t nodeid, const uint8_t *args, size_t alen,
		uint8_t cuts, size_t room, bool raw, uint32_t hlen)
{
	static uint8_t req[(64u << 10) + 512], reply[256];
	struct fuse_in_header ih = {.opcode = op, .nodeid = nodeid, .uid = 1000, .gid = 1000};
	struct iovec in[MAX_CUTS + 2], out[MAX_CUTS + 2];
	struct fuse_out_header oh;
	unsigned nin, nout;
	size_t len = sizeof(ih) + alen, got;
	ssize_t res;

	ih.unique = ++r->unique;
	ih.len = raw ? hlen : (uint32_t)len;
	memcpy(req, &ih, sizeof(ih));
	memcpy(req + sizeof(ih), args, alen);
	nin = split(req, len, cuts & 15, cuts, in);
	nout = split(NULL, room, cuts >> 4, (uint8_t)(cuts * 7), out);
	res = fsrv_handle(r->s, in, nin, out, nout);

	CHECK(res == -EBADMSG || res == -ENOBUFS || res >= 0);
	if (res == -EBADMSG)
		CHECK(raw || len < sizeof(ih));
	if (res == -ENOBUFS)
		CHECK(room < sizeof(oh));
	if (res == 0)
		CHECK(op == FUSE_FORGET || op == FUSE_BATCH_FORGET);
	if (res > 0) {
		CHECK((size_t)res >= sizeof(oh) && (size_t)res <= room);
		got = gather(out, nout, reply, sizeof(reply));
		CHECK(got >= sizeof(oh));
		memcpy(&oh, reply, sizeof(oh));
		CHECK(oh.len == (uint32_t)res && oh.unique == ih.unique);
		CHECK(oh.error <= 0 && oh.error > -512);
		CHECK(oh.error == 0 || oh.len == sizeof(oh));
		if (oh.error == 0) {
			uint64_t id;
			size_t body = (size_t)res - sizeof(oh);

			if ((op == FUSE_LOOKUP || op == FUSE_MKDIR || op == FUSE_MKNOD ||
			     op == FUSE_SYMLINK || op == FUSE_LINK || op == FUSE_CREATE) &&
			    body >= sizeof(struct fuse_entry_out) && got >= sizeof(oh) + 8) {
				memcpy(&id, reply + sizeof(oh), 8);
				/* Node 0 only as LOOKUP's answer for an absent name. */
				CHECK(id != 0 || op == FUSE_LOOKUP);
				if (id)
					remember(r->nodes, &r->nnodes, id);
			}
			if ((op == FUSE_OPEN || op == FUSE_OPENDIR) && got >= sizeof(oh) + 8) {
				memcpy(&id, reply + sizeof(oh), 8);
				remember(r->fhs, &r->nfhs, id);
			}
			if (op == FUSE_CREATE &&
			    got >= sizeof(oh) + sizeof(struct fuse_entry_out) + 8) {
				memcpy(&id, reply + sizeof(oh) + sizeof(struct fuse_entry_out), 8);
				remember(r->fhs, &r->nfhs, id);
			}
		}
	}
	free_pieces(in, nin);
	free_pieces(out, nout);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {.p = data, .n = size};
	struct fsrv_config cfg = {0};
	struct fuse_init_in init = {.major = 7, .minor = 41, .flags = 0xffffffffu};
	struct run r = {0};
	uint8_t flags = fz_u8(&f), args[(64u << 10) + 256];

	/* Here, not at initialisation: libFuzzer takes SIGXFSZ for itself in between. */
	if (H.runs == 0)
		signal(SIGXFSZ, SIG_IGN);
	hfs_opts_default(&cfg.opts);
	cfg.opts.metadata = flags & 1;
	cfg.opts.owners = (flags >> 4 & 3) == 1   ? HFS_OWNERS_REAL
			  : (flags >> 4 & 3) == 2 ? HFS_OWNERS_VOLFS
						  : HFS_OWNERS_DRVFS;
	cfg.read_only = flags & 2;
	cfg.watch = flags & 64; /* the session's own changes come back as events */
	cfg.max_nodes = 1024;   /* a smaller table to set up per input: more runs */
	if (flags & 4) {
		cfg.max_nodes = 8;
		cfg.max_handles = 4;
		cfg.max_write = 8192;
	}
	if (fsrv_new(H.h, &cfg, &r.s) < 0)
		die("session");
	one(&r, FUSE_INIT, 0, (const uint8_t *)&init, sizeof(init), 0, ROOM, false, 0);

	for (int i = 0; i < MAX_RECORDS && fz_left(&f); i++) {
		size_t alen = fz_u16(&f);
		uint32_t op = fz_u8(&f);
		uint8_t node = fz_u8(&f), fh = fz_u8(&f), cuts = fz_u8(&f);
		size_t room = fz_u16(&f);
		uint32_t hlen = (flags & 8) ? fz_u32(&f) : 0;
		uint64_t nodeid;
		int at;

		if (alen > sizeof(args))
			alen = sizeof(args);
		for (size_t k = 0; k < alen; k++)
			args[k] = fz_u8(&f);
		if (node & 0x80)
			nodeid = (uint64_t)(node & 0x7f) * 0x10001u | (uint64_t)node << 56;
		else if (node % REMEMBER == 0 || !r.nnodes)
			nodeid = FUSE_ROOT_ID;
		else
			nodeid = r.nodes[(node % REMEMBER) %
					 (r.nnodes < REMEMBER ? r.nnodes : REMEMBER)];
		at = fh_offset(op);
		if ((fh & 0x80) && r.nfhs && at >= 0 && alen >= (size_t)at + 8) {
			uint64_t id = r.fhs[(fh & 0x7f) % (r.nfhs < REMEMBER ? r.nfhs : REMEMBER)];

			memcpy(args + at, &id, 8);
			if (op == FUSE_COPY_FILE_RANGE && alen >= 32)
				memcpy(args + 24, &id, 8); /* fh_out too */
		}
		bound(op, args, alen);
		one(&r, op, nodeid, args, alen, cuts, room ? room : ROOM, flags & 8, hlen);
	}
	if (cfg.watch) {
		/* What the host's events became: each a notification, never a reply. */
		uint8_t note[FSRV_NOTIFY_MAX];
		struct fuse_out_header nh;
		ssize_t len;

		CHECK(fsrv_watch_read(r.s) >= 0);
		while ((len = fsrv_notify_next(r.s, note, sizeof(note))) > 0) {
			memcpy(&nh, note, sizeof(nh));
			CHECK(nh.unique == 0 && nh.len == (uint32_t)len &&
			      (nh.error == FUSE_NOTIFY_INVAL_INODE ||
			       nh.error == FUSE_NOTIFY_INVAL_ENTRY));
		}
		CHECK(len == 0);
	}
	fsrv_free(r.s);
	if (++H.runs % CHECK_EVERY == 0)
		check_canary();
	return 0;
}
