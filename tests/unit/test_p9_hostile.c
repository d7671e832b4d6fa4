/*
 * test_p9_hostile.c - a guest trying to get out of the share or to break
 * the server: ".." at the root, absolute symlinks and symlinks to "/", a
 * symlink swapped for a directory while other threads walk and open
 * through it, fids of removed and moved-away directories, huge counts and
 * offsets, reused and exhausted fids, malformed messages, duplicate tags,
 * the request limit, Tflush ordering and many threads on one connection.
 * Every case ends with tp_fini(): the canaries beside the share must be
 * untouched and nothing may have appeared outside it.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_p9_util.h"
#include "unit.h"

#define ROOT 0u

static struct tp *setup_lim(struct unit *u, const struct p9_limits *lim)
{
	struct tp *t = calloc(1, sizeof(*t));

	if (!t || tp_init_lim(t, NULL, lim) != 0) {
		CHECK(u, !"scratch share set up");
		return NULL;
	}
	return t;
}

static struct tp *setup(struct unit *u)
{
	return setup_lim(u, NULL);
}

static void teardown(struct unit *u, struct tp *t)
{
	if (t)
		CHECK(u, tp_fini(t) == 0);
	free(t);
}

/* Twalk with names given one by one (they may contain '/' or NULs). */
static int walk_names(struct tpc *cl, uint32_t fid, uint32_t newfid, int n, const char **names,
		      const int *lens)
{
	struct p9_wbuf w;
	size_t len;
	int r;

	p9w_init(&w, cl->req, TP_BUF, P9_TWALK, tpc_tag(cl));
	p9w_u32(&w, fid);
	p9w_u32(&w, newfid);
	p9w_u16(&w, (uint16_t)n);
	for (int i = 0; i < n; i++)
		p9w_str(&w, names[i], lens ? (size_t)lens[i] : strlen(names[i]));
	len = p9w_finish(&w);
	r = tpc_raw(cl, cl->req, len);
	return r < 0 ? r : (r == P9_RWALK ? rd16(cl) : -EPROTO);
}

static void t_dotdot_at_root(struct unit *u)
{
	struct tp *t = setup(u);
	const char *up[16];
	struct tp_attr root, a;
	struct tpc *cl;

	if (!t)
		return;
	cl = &t->cl;
	for (int i = 0; i < 16; i++)
		up[i] = "..";
	CHECK(u, tp_getattr(cl, ROOT, &root) == 0);
	CHECK(u, walk_names(cl, ROOT, 1, 16, up, NULL) == 16);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.qid.path == root.qid.path);
	/* and from there, what lies beside the share is not there */
	CHECK(u, tp_walk(cl, 1, 2, "outside") == -ENOENT);
	CHECK(u, tp_walk(cl, ROOT, 2, "../../outside/canary") == 2);
	CHECK(u, tp_clunk(cl, 2) == -EBADF);
	CHECK(u, mkdir(tp_path(t, "a"), 0755) == 0);
	CHECK(u, tp_walk(cl, ROOT, 3, "a/../../../..") == 5);
	CHECK(u, tp_getattr(cl, 3, &a) == 0 && a.qid.path == root.qid.path);
	/* ".." of a file */
	CHECK(u, tp_put_file(tp_path(t, "f"), "") == 0);
	CHECK(u, tp_walk(cl, ROOT, 4, "f/..") == 1);
	teardown(u, t);
}

static void t_bad_names(struct unit *u)
{
	static const char *bad[] = {"a/b", "/", ".", "", "a\0b", "/etc", "../x", "x/"};
	static const int lens[] = {3, 1, 1, 0, 3, 4, 4, 2};
	char longname[300];
	struct tp *t = setup(u);
	struct tpc *cl;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, mkdir(tp_path(t, "a"), 0755) == 0 && mkdir(tp_path(t, "a/b"), 0755) == 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *n = bad[i];
		int l = lens[i];

		CHECK(u, walk_names(cl, ROOT, 1, 1, &bad[i], &lens[i]) == -EINVAL);
		CHECK(u, tpc_rpc(cl, P9_TLCREATE, "dSddd", ROOT, l, n, P9_DOTL_RDWR, 0644u, 0u) ==
			     -EINVAL);
		CHECK(u, tpc_rpc(cl, P9_TMKDIR, "dSdd", ROOT, l, n, 0755u, 0u) == -EINVAL);
		CHECK(u,
		      tpc_rpc(cl, P9_TMKNOD, "dSdddd", ROOT, l, n, 0644u, 0u, 0u, 0u) == -EINVAL);
		CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dSsd", ROOT, l, n, "t", 0u) == -EINVAL);
		CHECK(u, tpc_rpc(cl, P9_TUNLINKAT, "dSd", ROOT, l, n, 0x200u) == -EINVAL);
		CHECK(u, tpc_rpc(cl, P9_TRENAMEAT, "dSds", ROOT, l, n, ROOT, "z") == -EINVAL);
		CHECK(u, tpc_rpc(cl, P9_TRENAMEAT, "dsdS", ROOT, "a", ROOT, l, n) == -EINVAL);
		CHECK(u, tpc_rpc(cl, P9_TLINK, "ddS", ROOT, ROOT, l, n) == -EINVAL);
	}
	CHECK(u, tpc_rpc(cl, P9_TUNLINKAT, "dsd", ROOT, "..", 0x200u) == -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TMKDIR, "dsdd", ROOT, "..", 0755u, 0u) == -EINVAL);
	memset(longname, 'n', 256);
	CHECK(u, tpc_rpc(cl, P9_TMKDIR, "dSdd", ROOT, 256, longname, 0755u, 0u) == -ENAMETOOLONG);
	CHECK(u, tpc_rpc(cl, P9_TMKDIR, "dSdd", ROOT, 255, longname, 0755u, 0u) == P9_RMKDIR);
	/* a symlink target may hold '/' but not NUL */
	CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dsSd", ROOT, "l", 3, "a\0b", 0u) == -EINVAL);
	/* nothing named "b" appeared at the root, "a/b" is as it was */
	CHECK(u, access(tp_path(t, "b"), F_OK) < 0 && access(tp_path(t, "a/b"), F_OK) == 0);
	CHECK(u, access(tp_path(t, "z"), F_OK) < 0);
	teardown(u, t);
}

static void t_symlinks_never_followed(struct unit *u)
{
	struct tp *t = setup(u);
	char buf[64], canary[160];
	struct stat before, after;
	struct tp_attr a;
	struct tpc *cl;

	if (!t)
		return;
	cl = &t->cl;
	snprintf(canary, sizeof(canary), "%s/canary", t->outside);
	CHECK(u, stat(canary, &before) == 0);
	CHECK(u, symlink("/", tp_path(t, "toroot")) == 0);
	CHECK(u, symlink(t->outside, tp_path(t, "out")) == 0);
	CHECK(u, symlink(canary, tp_path(t, "file")) == 0);
	CHECK(u, symlink("../outside/canary", tp_path(t, "rel")) == 0);

	/* a symlink is a leaf: nothing is walked through it */
	CHECK(u, tp_walk(cl, ROOT, 1, "toroot/etc/passwd") == 1);
	CHECK(u, tp_walk(cl, ROOT, 1, "out/canary") == 1);
	CHECK(u, tp_walk(cl, ROOT, 1, "toroot") == 1 && tp_getattr(cl, 1, &a) == 0);
	CHECK(u, S_ISLNK(a.mode) && a.qid.type == P9_QTSYMLINK);
	CHECK(u, tp_walk(cl, 1, 2, "etc") == -ENOTDIR);
	CHECK(u, tp_walk(cl, 1, 2, "..") == -ENOTDIR);
	/* nor opened, created in, or linked through */
	CHECK(u, tp_lopen(cl, 1, P9_DOTL_RDONLY) == -ELOOP);
	CHECK(u, tp_mkdir(cl, 1, "x", 0755) == -ENOTDIR);
	CHECK(u, tp_lcreate(cl, 1, "x", P9_DOTL_RDWR, 0644) == -ENOTDIR);
	CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dssd", 1u, "x", "y", 0u) == -ENOTDIR);
	CHECK(u, tpc_rpc(cl, P9_TREADLINK, "d", 1u) == P9_RREADLINK);
	CHECK(u, rdstr(cl, buf, sizeof(buf)) == 1 && !strcmp(buf, "/"));

	CHECK(u, tp_walk(cl, ROOT, 3, "file") == 1);
	CHECK(u, tp_lopen(cl, 3, P9_DOTL_RDWR) == -ELOOP);
	/* attributes are the link's: truncation refused, times set on the link */
	CHECK(u,
	      tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 3u, P9_SETATTR_SIZE, 0u, 0u, 0u, (uint64_t)0,
		      (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0) == -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 3u,
			 P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET | P9_SETATTR_ATIME |
			     P9_SETATTR_ATIME_SET,
			 0u, 0u, 0u, (uint64_t)0, (uint64_t)1, (uint64_t)0, (uint64_t)1,
			 (uint64_t)0) == P9_RSETATTR);
	/* xattrs are never the target's */
	CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", 3u, 4u, "") == P9_RXATTRWALK && rd64(cl) == 0);
	CHECK(u, tp_walk(cl, 3, 5, "") == 0);
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 5u, "user.x", (uint64_t)1, 0u) ==
		     P9_RXATTRCREATE);
	CHECK(u, tp_write(cl, 5, 0, "x", 1) == 1 && tp_clunk(cl, 5) == -EOPNOTSUPP);
	/* a hard link is to the symlink itself */
	CHECK(u, tpc_rpc(cl, P9_TLINK, "dds", ROOT, 3u, "hl") == P9_RLINK);
	CHECK(u, lstat(tp_path(t, "hl"), &after) == 0 && S_ISLNK(after.st_mode));
	/* rename and remove move and remove the link */
	CHECK(u, tpc_rpc(cl, P9_TRENAMEAT, "dsds", ROOT, "rel", ROOT, "rel2") == P9_RRENAMEAT);
	CHECK(u, tpc_rpc(cl, P9_TUNLINKAT, "dsd", ROOT, "rel2", 0u) == P9_RUNLINKAT);
	CHECK(u, tpc_rpc(cl, P9_TREMOVE, "d", 3u) == P9_RREMOVE);
	/* creating over a symlink name replaces nothing and opens nothing */
	CHECK(u, tp_walk(cl, ROOT, 6, "") == 0);
	CHECK(u, tp_lcreate(cl, 6, "out", P9_DOTL_RDWR | P9_DOTL_TRUNC, 0644) == -EEXIST);
	CHECK(u, tp_lcreate(cl, 6, "hl", P9_DOTL_RDWR | P9_DOTL_TRUNC, 0644) == -EEXIST);

	CHECK(u, stat(canary, &after) == 0 && after.st_mtime == before.st_mtime);
	CHECK(u, after.st_nlink == 1 && after.st_size == 6);
	teardown(u, t);
}

/* --- the swap race -------------------------------------------------------- */

struct race {
	struct tp *t;
	atomic_bool stop;
	atomic_int wins, losses, bad;
	unsigned slot;
};

static void *swapper(void *arg)
{
	struct race *r = arg;
	char d[160], s[160];

	snprintf(d, sizeof(d), "%s/d", r->t->share);
	snprintf(s, sizeof(s), "%s/s", r->t->share);
	while (!atomic_load(&r->stop))
		renameat2(AT_FDCWD, d, AT_FDCWD, s, RENAME_EXCHANGE);
	return NULL;
}

static void *walker(void *arg)
{
	struct race *r = arg;
	uint32_t base = r->slot * 10u;
	struct tpc cl;
	char buf[16];

	if (tpc_init(&cl, r->t, r->slot))
		return NULL;
	while (!atomic_load(&r->stop)) {
		uint32_t f1 = base + 1, f2 = base + 2;
		int n;

		/* walk + open + read + write + truncate */
		n = tp_walk(&cl, ROOT, f1, "d/canary");
		if (n == 2) {
			if (tp_lopen(&cl, f1, P9_DOTL_RDWR) == 0) {
				n = tp_read(&cl, f1, 0, sizeof(buf) - 1, buf);
				if (n != 6 || memcmp(buf, "INSIDE", 6))
					atomic_fetch_add(&r->bad, 1);
				tp_write(&cl, f1, 0, "INSIDE", 6);
				tpc_rpc(&cl, P9_TSETATTR, "dddddqqqqq", f1, P9_SETATTR_SIZE, 0u, 0u,
					0u, (uint64_t)6, (uint64_t)0, (uint64_t)0, (uint64_t)0,
					(uint64_t)0);
			}
			tp_clunk(&cl, f1);
			atomic_fetch_add(&r->wins, 1);
		} else {
			if (n >= 0)
				tp_clunk(&cl, f1);
			atomic_fetch_add(&r->losses, 1);
		}
		/* walk to the directory, then create and make things in it */
		if (tp_walk(&cl, ROOT, f2, "d") == 1) {
			tpc_rpc(&cl, P9_TMKDIR, "dsdd", f2, "made", 0755u, 0u);
			tpc_rpc(&cl, P9_TUNLINKAT, "dsd", f2, "made", 0x200u);
			tpc_rpc(&cl, P9_TXATTRWALK, "dds", f2, f2 + 1, "");
			tp_clunk(&cl, f2 + 1);
			if (tp_lcreate(&cl, f2, "canary", P9_DOTL_RDWR, 0644) == 0)
				tp_write(&cl, f2, 0, "INSIDE", 6);
			tp_clunk(&cl, f2);
		}
	}
	tpc_fini(&cl);
	return NULL;
}

static void t_symlink_swap_race(struct unit *u)
{
	struct tp *t = setup(u);
	struct race r = {.t = t};
	struct race r2;
	pthread_t sw, w1, w2;
	char buf[16];

	if (!t)
		return;
	CHECK(u, mkdir(tp_path(t, "d"), 0755) == 0);
	CHECK(u, tp_put_file(tp_path(t, "d/canary"), "INSIDE") == 0);
	CHECK(u, symlink(t->outside, tp_path(t, "s")) == 0);
	r.slot = 1;
	r2 = r;
	r2.slot = 2;
	atomic_init(&r.stop, false);
	atomic_init(&r2.stop, false);
	pthread_create(&sw, NULL, swapper, &r);
	pthread_create(&w1, NULL, walker, &r);
	pthread_create(&w2, NULL, walker, &r2);
	sleep(2);
	atomic_store(&r2.stop, true);
	atomic_store(&r.stop, true);
	pthread_join(w1, NULL);
	pthread_join(w2, NULL);
	pthread_join(sw, NULL);
	/* both sides of the race happened, and the inside file only was seen */
	CHECK(u, r.wins + r2.wins > 0 && r.losses + r2.losses > 0);
	CHECK(u, r.bad == 0 && r2.bad == 0);
	CHECK(u, tp_get_file(tp_path(t, "d/canary"), buf, sizeof(buf)) == 6 ||
		     tp_get_file(tp_path(t, "s/canary"), buf, sizeof(buf)) == 6);
	teardown(u, t);
}

/* --- removed and moved directories ---------------------------------------- */

static void t_removed_dir_fid(struct unit *u)
{
	struct tp *t = setup(u);
	struct tpc *cl;
	struct tp_attr a;
	int n;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, mkdir(tp_path(t, "gone"), 0755) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "gone") == 1 && tp_walk(cl, 1, 2, "") == 0);
	CHECK(u, tp_lopen(cl, 2, P9_DOTL_RDONLY) == 0);
	CHECK(u, rmdir(tp_path(t, "gone")) == 0);
	/* everything fails cleanly */
	CHECK(u, tp_walk(cl, 1, 3, "x") == -ENOENT);
	CHECK(u, tp_mkdir(cl, 1, "x", 0755) == -ENOENT);
	CHECK(u, tp_lcreate(cl, 1, "x", P9_DOTL_RDWR, 0644) == -ENOENT);
	CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dssd", 1u, "x", "y", 0u) == -ENOENT);
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 1u, "x", 0644u, 0u, 0u, 0u) == -ENOENT);
	CHECK(u, tpc_rpc(cl, P9_TRENAMEAT, "dsds", ROOT, "nothing", 1u, "x") == -ENOENT);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && S_ISDIR(a.mode));
	n = tpc_rpc(cl, P9_TREADDIR, "dqd", 2u, (uint64_t)0, 4096u);
	CHECK(u, n == -ENOENT || (n == P9_RREADDIR && rd32(cl) == 0));
	CHECK(u, tpc_rpc(cl, P9_TREMOVE, "d", 1u) != P9_RREMOVE);
	CHECK(u, tp_clunk(cl, 1) == -EBADF); /* Tremove clunks even when it fails */
	CHECK(u, tp_clunk(cl, 2) == 0);
	/* the same name made anew is a different directory */
	CHECK(u, mkdir(tp_path(t, "gone"), 0755) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "gone") == 1 && tp_mkdir(cl, 1, "x", 0755) == 0);
	teardown(u, t);
}

static void t_moved_out(struct unit *u)
{
	struct tp *t = setup(u);
	char away[160];
	struct tpc *cl;

	if (!t)
		return;
	cl = &t->cl;
	snprintf(away, sizeof(away), "%s/away", t->base);
	CHECK(u, mkdir(tp_path(t, "m"), 0755) == 0 && mkdir(tp_path(t, "m/n"), 0755) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "m/n") == 2 && tp_walk(cl, ROOT, 2, "m") == 1);
	/* the host moves the tree out of the share under the guest's fids */
	CHECK(u, rename(tp_path(t, "m"), away) == 0);
	/* ".." would now lead out of the share: refused */
	CHECK(u, tp_walk(cl, 1, 3, "..") == -EACCES);
	CHECK(u, tp_walk(cl, 1, 3, "../..") == -EACCES);
	CHECK(u, tp_walk(cl, 2, 3, "..") == -EACCES);
	/*
	 * A remove whose name must be found by looking above. (What the guest
	 * already holds it keeps using, like an open descriptor: m/n itself
	 * is still the guest's to change.)
	 */
	CHECK(u, tp_walk(cl, 2, 4, "") == 0 && tpc_rpc(cl, P9_TREMOVE, "d", 4u) == -EACCES);
	CHECK(u, rename(away, tp_path(t, "m")) == 0);
	CHECK(u, tp_walk(cl, 1, 3, "../..") == 2);
	teardown(u, t);
}

/* --- numbers -------------------------------------------------------------- */

static void t_huge_numbers(struct unit *u)
{
	struct tp *t = setup(u);
	struct tpc *cl;
	char *big;
	int n;

	if (!t)
		return;
	cl = &t->cl;
	big = calloc(1, 2u << 20);
	CHECK(u, big != NULL);
	if (!big)
		goto out;
	memset(big, 'b', 2u << 20);
	{
		FILE *f = fopen(tp_path(t, "big"), "w");

		CHECK(u, f && fwrite(big, 1, 2u << 20, f) == 2u << 20);
		if (f)
			fclose(f);
	}
	CHECK(u, tp_walk(cl, ROOT, 1, "big") == 1 && tp_lopen(cl, 1, P9_DOTL_RDWR) == 0);
	/* counts are cut to what msize allows */
	CHECK(u, tp_read(cl, 1, 0, 0xffffffffu, NULL) == (int)(TP_MSIZE - P9_IOHDRSZ));
	/* offsets past off_t, at its end */
	CHECK(u, tp_read(cl, 1, (uint64_t)1 << 63, 10, NULL) == -EINVAL);
	CHECK(u, tp_read(cl, 1, ~(uint64_t)0, 10, NULL) == -EINVAL);
	n = tp_read(cl, 1, ((uint64_t)1 << 63) - 1, 10, NULL);
	CHECK(u, n == 0 || n == -EINVAL); /* the host's verdict on offset + count */
	CHECK(u, tp_write(cl, 1, (uint64_t)1 << 63, "x", 1) == -EINVAL);
	n = tp_write(cl, 1, ((uint64_t)1 << 63) - 1, "x", 1);
	CHECK(u, n == -EFBIG || n == -EINVAL);
	CHECK(u,
	      tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 1u, P9_SETATTR_SIZE, 0u, 0u, 0u, ~(uint64_t)0,
		      (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0) == -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 1u, P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET,
			 0u, 0u, 0u, (uint64_t)0, (uint64_t)0, (uint64_t)0, ~(uint64_t)0,
			 ~(uint64_t)0) == -EINVAL);
	/* readdir offsets and counts */
	CHECK(u, tp_walk(cl, ROOT, 2, "") == 0 && tp_lopen(cl, 2, P9_DOTL_RDONLY) == 0);
	CHECK(u, tpc_rpc(cl, P9_TREADDIR, "dqd", 2u, ~(uint64_t)0, 4096u) == -EINVAL);
	n = tpc_rpc(cl, P9_TREADDIR, "dqd", 2u, (uint64_t)1 << 62, 0xffffffffu);
	CHECK(u, n == P9_RREADDIR || n < 0);
	CHECK(u, tpc_rpc(cl, P9_TREADDIR, "dqd", 2u, (uint64_t)0, 0xffffffffu) == P9_RREADDIR);
	CHECK(u, rd32(cl) > 0);
	/* an msize beyond the server's limit is cut to it; counts then meet the
	 * transport's buffer (TP_BUF), not the msize */
	CHECK(u, tpc_rpc(cl, P9_TVERSION, "ds", 0xffffffffu, P9_VERSION_L) == P9_RVERSION);
	CHECK(u, rd32(cl) == P9_DEFAULT_MSIZE);
	CHECK(u, tp_version_attach(cl, 0xffffffffu) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "big") == 1 && tp_lopen(cl, 1, P9_DOTL_RDONLY) == 0);
	CHECK(u, tp_read(cl, 1, 0, 0xffffffffu, NULL) == (int)(TP_BUF - P9_IOHDRSZ));
	/* xattr and lock sizes */
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", ROOT, "user.x", ~(uint64_t)0, 0u) == -E2BIG);
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", 1u, 0, 0u, ~(uint64_t)0, ~(uint64_t)0, 0u, "") ==
		     -EINVAL);
	/* a walk of the most names allowed */
	CHECK(u, tp_walk(cl, ROOT, 3, "../../../../../../../../../../../../../../../..") == 16);
out:
	free(big);
	teardown(u, t);
}

static void t_fid_reuse(struct unit *u)
{
	struct tp *t = setup(u);
	struct tp_attr a, b;
	struct tpc *cl;
	char buf[8];

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_put_file(tp_path(t, "f"), "f") == 0 && tp_put_file(tp_path(t, "g"), "g") == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1 && tp_lopen(cl, 1, P9_DOTL_RDONLY) == 0);
	CHECK(u, tp_clunk(cl, 1) == 0);
	/* a clunked fid is gone for every operation */
	CHECK(u, tp_read(cl, 1, 0, 1, buf) == -EBADF);
	CHECK(u, tp_getattr(cl, 1, &a) == -EBADF);
	CHECK(u, tp_walk(cl, 1, 2, "") == -EBADF);
	CHECK(u, tp_clunk(cl, 1) == -EBADF);
	CHECK(u, tpc_rpc(cl, P9_TREMOVE, "d", 1u) == -EBADF);
	/* the number can be used again, for something else */
	CHECK(u, tp_walk(cl, ROOT, 1, "g") == 1 && tp_lopen(cl, 1, P9_DOTL_RDONLY) == 0);
	CHECK(u, tp_read(cl, 1, 0, 1, buf) == 1 && buf[0] == 'g');
	CHECK(u, tp_walk(cl, ROOT, 2, "f") == 1 && tp_getattr(cl, 2, &a) == 0);
	CHECK(u, tp_getattr(cl, 1, &b) == 0 && a.qid.path != b.qid.path);
	/* NOFID is never a fid */
	CHECK(u, tp_walk(cl, ROOT, P9_NOFID, "f") == -EBADF);
	CHECK(u, tpc_rpc(cl, P9_TATTACH, "ddssd", P9_NOFID, P9_NOFID, "", "", 0u) == -EBADF);
	CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", ROOT, 2u, "") == -EEXIST);
	teardown(u, t);
}

static void t_fid_limit(struct unit *u)
{
	struct p9_limits lim = {.max_fids = 8};
	struct tp *t = setup_lim(u, &lim);
	struct tpc *cl;

	if (!t)
		return;
	cl = &t->cl;
	for (uint32_t i = 1; i < 8; i++)
		CHECK(u, tp_walk(cl, ROOT, i, "") == 0);
	CHECK(u, tp_walk(cl, ROOT, 8, "") == -EMFILE);
	CHECK(u, tpc_rpc(cl, P9_TATTACH, "ddssd", 8u, P9_NOFID, "", "", 0u) == -EMFILE);
	CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", ROOT, 8u, "") == -EMFILE);
	/* replacing in place does not need a new one */
	CHECK(u, tp_walk(cl, 3, 3, "") == 0);
	CHECK(u, tp_clunk(cl, 5) == 0 && tp_walk(cl, ROOT, 8, "") == 0);
	CHECK(u, tp_walk(cl, ROOT, 9, "") == -EMFILE);
	teardown(u, t);
}

/* --- malformed messages ------------------------------------------------------ */

static void t_malformed(struct unit *u)
{
	struct tp *t = setup(u);
	uint8_t msg[64], resp[64];
	size_t n, rlen;
	struct tpc *cl;

	if (!t)
		return;
	cl = &t->cl;
	n = p9t_build(msg, sizeof(msg), P9_TGETATTR, 5, "dq", ROOT, P9_GETATTR_ALL);
	/* shorter than a header, or lying about its size: no reply at all */
	for (size_t len = 0; len < P9_HDRSZ; len++)
		CHECK(u, p9_handle(t->c, msg, len, resp, sizeof(resp), &rlen) == -EBADMSG);
	CHECK(u, p9_handle(t->c, NULL, 100, resp, sizeof(resp), &rlen) == -EBADMSG);
	p9_put32(msg, (uint32_t)n + 1);
	CHECK(u, p9_handle(t->c, msg, n, resp, sizeof(resp), &rlen) == -EBADMSG);
	p9_put32(msg, 3);
	CHECK(u, p9_handle(t->c, msg, n, resp, sizeof(resp), &rlen) == -EBADMSG);
	/* shorter than its body: an error reply */
	p9_put32(msg, (uint32_t)n - 1);
	CHECK(u, tpc_raw(cl, msg, n) == -EPROTO);
	CHECK(u, p9_get16(cl->resp + 5) == 5); /* to the right tag */
	/* no room for a reply */
	p9_put32(msg, (uint32_t)n);
	CHECK(u, p9_handle(t->c, msg, n, resp, 10, &rlen) == -ENOBUFS);
	CHECK(u, p9_handle(t->c, msg, n, NULL, 100, &rlen) == -ENOBUFS);
	/* a reply that does not fit becomes an error that does */
	CHECK(u, p9_handle(t->c, msg, n, resp, 20, &rlen) == 0);
	CHECK(u, rlen == P9_LERRORSZ && resp[4] == P9_RLERROR && p9_get32(resp + 7) == EMSGSIZE);
	/* a string running past the end */
	n = p9t_build(msg, sizeof(msg), P9_TWALK, 6, "ddws", ROOT, 1u, 1, "abc");
	p9_put16(msg + 17, 200);
	CHECK(u, tpc_raw(cl, msg, n) == -EPROTO);
	CHECK(u, tp_clunk(cl, 1) == -EBADF);
	/* unknown types and replies sent as requests */
	n = p9t_build(msg, sizeof(msg), 200, 7, "d", 0u);
	CHECK(u, tpc_raw(cl, msg, n) == -EOPNOTSUPP);
	n = p9t_build(msg, sizeof(msg), P9_RREAD, 7, "d", 0u);
	CHECK(u, tpc_raw(cl, msg, n) == -EOPNOTSUPP);
	n = p9t_build(msg, sizeof(msg), P9_TLERROR, 7, "d", 0u);
	CHECK(u, tpc_raw(cl, msg, n) == -EOPNOTSUPP);
	/* bigger than msize */
	CHECK(u, tpc_rpc(cl, P9_TVERSION, "ds", P9_MIN_MSIZE, P9_VERSION_L) == P9_RVERSION);
	CHECK(u, tp_version_attach(cl, P9_MIN_MSIZE) == 0);
	{
		uint8_t *big = calloc(1, 8192), *data = calloc(1, 5000);

		n = p9t_build(big, 8192, P9_TWRITE, 8, "dqdR", ROOT, (uint64_t)0, 5000u,
			      (size_t)5000, data);
		CHECK(u, tpc_raw(cl, big, n) == -EMSGSIZE);
		free(big);
		free(data);
	}
	/* the connection still works */
	CHECK(u, tp_walk(cl, ROOT, 1, "") == 0);
	teardown(u, t);
}

/* --- outstanding requests, duplicate tags, flush ------------------------------ */

struct log {
	pthread_mutex_t lock;
	uint16_t tags[16];
	uint8_t types[16];
	int n;
	sem_t entered, release;
};

struct call {
	struct log *log;
	bool block;
	uint8_t resp[256];
	atomic_bool done;
};

static void record(void *arg, void *resp, size_t len)
{
	struct call *c = arg;
	struct log *l = c->log;
	uint8_t *r = resp;

	pthread_mutex_lock(&l->lock);
	if (l->n < 16 && len >= P9_HDRSZ) {
		l->tags[l->n] = p9_get16(r + 5);
		l->types[l->n] = r[4];
		l->n++;
	}
	pthread_mutex_unlock(&l->lock);
	atomic_store(&c->done, true);
	if (c->block) {
		/* The request stays outstanding until this returns. */
		sem_post(&l->entered);
		sem_wait(&l->release);
	}
}

struct serve_arg {
	struct tp *t;
	uint8_t msg[64];
	size_t len;
	struct call *call;
};

static void *serve_thread(void *arg)
{
	struct serve_arg *a = arg;

	p9_serve(a->t->c, a->msg, a->len, a->call->resp, sizeof(a->call->resp), record, a->call);
	return NULL;
}

static void t_flush_order_and_limits(struct unit *u)
{
	struct p9_limits lim = {.max_requests = 3};
	struct tp *t = setup_lim(u, &lim);
	struct log l = {.n = 0};
	struct call slow = {.log = &l, .block = true}, f1 = {.log = &l}, f2 = {.log = &l};
	struct call dup = {.log = &l}, extra = {.log = &l};
	struct serve_arg sa;
	uint8_t msg[64];
	pthread_t th;
	size_t n;

	if (!t)
		return;
	pthread_mutex_init(&l.lock, NULL);
	sem_init(&l.entered, 0, 0);
	sem_init(&l.release, 0, 0);
	/* tag 60100 is served by another thread and stays outstanding */
	sa.t = t;
	sa.call = &slow;
	sa.len = p9t_build(sa.msg, sizeof(sa.msg), P9_TGETATTR, 60100, "dq", ROOT, P9_GETATTR_ALL);
	pthread_create(&th, NULL, serve_thread, &sa);
	sem_wait(&l.entered);
	/* others are not held up by it */
	CHECK(u, tp_walk(&t->cl, ROOT, 1, "") == 0);
	/* Tflush of it, and a Tflush of that flush: both wait */
	n = p9t_build(msg, sizeof(msg), P9_TFLUSH, 60101, "w", 60100);
	CHECK(u, p9_serve(t->c, msg, n, f1.resp, sizeof(f1.resp), record, &f1) == 0);
	n = p9t_build(msg, sizeof(msg), P9_TFLUSH, 60102, "w", 60101);
	CHECK(u, p9_serve(t->c, msg, n, f2.resp, sizeof(f2.resp), record, &f2) == 0);
	CHECK(u, !atomic_load(&f1.done) && !atomic_load(&f2.done));
	/* a tag still outstanding cannot be reused; past the limit, try again */
	n = p9t_build(msg, sizeof(msg), P9_TGETATTR, 60100, "dq", ROOT, P9_GETATTR_ALL);
	CHECK(u, p9_serve(t->c, msg, n, dup.resp, sizeof(dup.resp), record, &dup) == 0);
	CHECK(u, atomic_load(&dup.done) && dup.resp[4] == P9_RLERROR);
	CHECK(u, p9_get32(dup.resp + 7) == EBUSY);
	n = p9t_build(msg, sizeof(msg), P9_TGETATTR, 60103, "dq", ROOT, P9_GETATTR_ALL);
	CHECK(u, p9_serve(t->c, msg, n, extra.resp, sizeof(extra.resp), record, &extra) == 0);
	CHECK(u, atomic_load(&extra.done) && p9_get32(extra.resp + 7) == EAGAIN);
	/* let 60100 finish: its reply is out, then Rflush 60101, then 60102 */
	sem_post(&l.release);
	pthread_join(th, NULL);
	CHECK(u, l.n == 5);
	CHECK(u, l.tags[0] == 60100 && l.types[0] == P9_RGETATTR);
	CHECK(u, l.tags[1] == 60100 && l.types[1] == P9_RLERROR);
	CHECK(u, l.tags[2] == 60103 && l.types[2] == P9_RLERROR);
	CHECK(u, l.tags[3] == 60101 && l.types[3] == P9_RFLUSH);
	CHECK(u, l.tags[4] == 60102 && l.types[4] == P9_RFLUSH);
	CHECK(u, p9_get32(f1.resp) == P9_HDRSZ && p9_get32(f2.resp) == P9_HDRSZ);
	/* all slots free again */
	for (int i = 0; i < 5; i++)
		CHECK(u, tp_walk(&t->cl, ROOT, 2, "") == 0 && tp_clunk(&t->cl, 2) == 0);
	/* p9_handle waits for a deferred Rflush too: flush a tag being served */
	slow.block = true;
	sa.len = p9t_build(sa.msg, sizeof(sa.msg), P9_TGETATTR, 60200, "dq", ROOT, P9_GETATTR_ALL);
	pthread_create(&th, NULL, serve_thread, &sa);
	sem_wait(&l.entered);
	sem_post(&l.release); /* released before we flush: may or may not still be out */
	CHECK(u, tpc_rpc(&t->cl, P9_TFLUSH, "w", 60200) == P9_RFLUSH);
	pthread_join(th, NULL);
	sem_destroy(&l.entered);
	sem_destroy(&l.release);
	pthread_mutex_destroy(&l.lock);
	teardown(u, t);
}

/*
 * Tflush requests naming each other's tags, sent at once from several
 * threads (rings of two and three), and a flush of itself: every one must
 * be answered and leave its slot free. The cycle can only form if each
 * thread takes its slot before any looks for the tag it flushes, so the
 * threads are held at their third mutex lock (p9_serve takes the
 * connection's lock to read msize, then for the slot, then, before the fix,
 * again to find the flushed tag) until all have reached it or returned.
 */
int pthread_mutex_lock(pthread_mutex_t *m);

static _Thread_local int ring_locks = -1; /* -1: not a ring thread */
static atomic_int ring_arrived, ring_size;

static void ring_arrive(void)
{
	atomic_fetch_add(&ring_arrived, 1);
	while (atomic_load(&ring_arrived) < atomic_load(&ring_size))
		sched_yield();
}

/* The library's calls come here (the executable's definition wins). */
int pthread_mutex_lock(pthread_mutex_t *m)
{
	static int (*real)(pthread_mutex_t *);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pthread_mutex_lock");
	if (ring_locks >= 0 && ++ring_locks == 3)
		ring_arrive();
	return real(m);
}

struct ring_arg {
	struct tp *t;
	pthread_barrier_t *go;
	uint16_t tag, oldtag;
	struct call call;
};

static void *ring_thread(void *arg)
{
	struct ring_arg *a = arg;
	uint8_t msg[64];
	size_t n = p9t_build(msg, sizeof(msg), P9_TFLUSH, a->tag, "w", a->oldtag);

	pthread_barrier_wait(a->go);
	ring_locks = 0;
	p9_serve(a->t->c, msg, n, a->call.resp, sizeof(a->call.resp), record, &a->call);
	if (ring_locks < 3)
		ring_arrive();
	ring_locks = -1;
	return NULL;
}

static void t_flush_cycles(struct unit *u)
{
	struct p9_limits lim = {.max_requests = 4};
	struct tp *t = setup_lim(u, &lim);
	struct log l = {.n = 0};
	struct ring_arg a[3];
	pthread_barrier_t go;
	pthread_t th[3];
	int missing = 0;

	if (!t)
		return;
	pthread_mutex_init(&l.lock, NULL);
	for (int round = 0; round < 20 && !missing; round++) {
		int k = 2 + round % 2;

		atomic_store(&ring_arrived, 0);
		atomic_store(&ring_size, k);
		pthread_barrier_init(&go, NULL, (unsigned)k);
		for (int i = 0; i < k; i++) {
			a[i] = (struct ring_arg){.t = t, .go = &go, .tag = (uint16_t)(500 + i)};
			a[i].oldtag = (uint16_t)(500 + (i + 1) % k);
			a[i].call.log = &l;
			pthread_create(&th[i], NULL, ring_thread, &a[i]);
		}
		for (int i = 0; i < k; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&go);
		/* p9_serve has returned in every thread: nothing may be left waiting */
		for (int i = 0; i < k; i++)
			if (!atomic_load(&a[i].call.done) || a[i].call.resp[4] != P9_RFLUSH)
				missing++;
		l.n = 0;
	}
	CHECK(u, missing == 0);
	/* a flush of itself is answered at once */
	{
		uint8_t msg[64], resp[64];
		size_t n = p9t_build(msg, sizeof(msg), P9_TFLUSH, 700, "w", 700), rlen = 0;

		CHECK(u, p9_handle(t->c, msg, n, resp, sizeof(resp), &rlen) == 0);
		CHECK(u, rlen == P9_HDRSZ && resp[4] == P9_RFLUSH);
	}
	/* no slot leaked: as many requests as the limit still go through */
	for (int i = 0; i < 8; i++)
		CHECK(u, tp_walk(&t->cl, ROOT, 2, "") == 0 && tp_clunk(&t->cl, 2) == 0);
	pthread_mutex_destroy(&l.lock);
	teardown(u, t);
}

/* --- the descriptor budget ------------------------------------------------------ */

static int open_fds(void);

/*
 * Past a connection's descriptor budget a walk to a new file or a create
 * gets EMFILE, past the process's ENFILE; clones and opens of a fid that
 * alone holds its file cost nothing more; clunks give descriptors back.
 */
static void t_fd_budget(struct unit *u)
{
	struct p9_limits lim = {.max_fds = 4};
	struct tp *t = setup_lim(u, &lim);
	char name[16], buf[8];
	int before;

	if (!t)
		return;
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		CHECK(u, tp_put_file(tp_path(t, name), "data") == 0);
	}
	before = open_fds();
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		CHECK(u, tp_walk(&t->cl, ROOT, 10u + (uint32_t)i, name) == 1);
	}
	CHECK(u, open_fds() == before + 4);
	CHECK(u, tp_walk(&t->cl, ROOT, 14, "f4") == -EMFILE);
	CHECK(u, tp_walk(&t->cl, ROOT, 1, "") == 0); /* the root is the server's */
	CHECK(u, tp_lcreate(&t->cl, 1, "new", P9_DOTL_RDWR, 0644) == -EMFILE);
	CHECK(u, access(tp_path(t, "new"), F_OK) < 0 && errno == ENOENT);
	/* one descriptor per open fid, and opening at the budget works */
	CHECK(u, tp_lopen(&t->cl, 10, P9_DOTL_RDONLY) == 0);
	CHECK(u, tp_read(&t->cl, 10, 0, sizeof(buf), buf) == 4 && !memcmp(buf, "data", 4));
	CHECK(u, open_fds() == before + 4);
	/* a clone shares its file; opening the clone needs one more */
	CHECK(u, tp_walk(&t->cl, 11, 15, "") == 0);
	CHECK(u, tp_lopen(&t->cl, 15, P9_DOTL_RDONLY) == -EMFILE);
	CHECK(u, tp_clunk(&t->cl, 12) == 0);
	CHECK(u, tp_lopen(&t->cl, 15, P9_DOTL_RDONLY) == 0);
	CHECK(u, open_fds() == before + 4);
	CHECK(u, tp_clunk(&t->cl, 15) == 0 && tp_clunk(&t->cl, 13) == 0);
	CHECK(u, open_fds() == before + 2);
	CHECK(u, tp_walk(&t->cl, ROOT, 14, "f4") == 1);
	/* the process's budget: this connection holds the only 3 counted */
	hfs_set_fd_budget(3);
	CHECK(u, tp_walk(&t->cl, ROOT, 16, "f5") == -ENFILE);
	CHECK(u, tp_lopen(&t->cl, 14, P9_DOTL_RDONLY) == 0); /* no more needed */
	hfs_set_fd_budget(0);
	CHECK(u, tp_walk(&t->cl, ROOT, 16, "f5") == 1);
	CHECK(u, tp_clunk(&t->cl, 11) == 0);
	CHECK(u, tp_lcreate(&t->cl, 1, "new", P9_DOTL_RDWR, 0644) == 0);
	CHECK(u, open_fds() == before + 4);
	for (uint32_t fid = 1; fid <= 16; fid++)
		tp_clunk(&t->cl, fid);
	CHECK(u, open_fds() == before);
	teardown(u, t);
}

/* --- the host's /proc ---------------------------------------------------------- */

/* A client of a server rooted at host path root (not a scratch share). */
static int host_client(struct tp *x, const char *root)
{
	int err;

	memset(x, 0, sizeof(*x));
	if ((err = p9_server_open(root, NULL, &x->srv)))
		return err;
	if ((err = p9_conn_new(x->srv, NULL, &x->c)) || (err = tpc_init(&x->cl, x, 0)))
		return err;
	return tp_version_attach(&x->cl, TP_MSIZE);
}

static void host_client_free(struct tp *x)
{
	tpc_fini(&x->cl);
	p9_conn_free(x->c);
	p9_server_free(x->srv);
}

/*
 * No share reaches this process's /proc/<pid>/ (mem, fd/, root, ...), by
 * any name: its pid, self, thread-self, through "..", through a symlink
 * (never followed; the guest must walk the names refused here), or as a
 * share root. The rest of /proc is still served.
 */
static void t_proc_magic(struct unit *u)
{
	struct tp *t = setup(u), x;
	char pid[32], path[256];
	struct p9_server *srv = NULL;

	if (!t)
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	CHECK(u, symlink("/proc/self", tp_path(t, "selflink")) == 0);
	CHECK(u, host_client(&x, "/") == 0);
	CHECK(u, tp_walk(&x.cl, ROOT, 1, "proc") == 1);
	CHECK(u, tp_walk(&x.cl, 1, 2, "self") == -EACCES);
	CHECK(u, tp_walk(&x.cl, 1, 2, "thread-self") == -EACCES);
	CHECK(u, tp_walk(&x.cl, 1, 2, pid) == -EACCES);
	CHECK(u, tp_walk(&x.cl, 1, 2, "1") == -EACCES);
	snprintf(path, sizeof(path), "proc/%s/mem", pid);
	CHECK(u, tp_walk(&x.cl, ROOT, 2, path) == 1);
	CHECK(u, tp_walk(&x.cl, ROOT, 2, "proc/self/fd") == 1);
	CHECK(u, tp_walk(&x.cl, ROOT, 2, "proc/../proc/thread-self/mem") == 3);
	CHECK(u, tp_walk(&x.cl, ROOT, 2, "proc/meminfo") == 2 && tp_clunk(&x.cl, 2) == 0);
	CHECK(u, tp_walk(&x.cl, ROOT, 2, "proc/sys/kernel") == 3 && tp_clunk(&x.cl, 2) == 0);
	/* the symlink is a leaf: nothing is reached through it */
	snprintf(path, sizeof(path), "%s/selflink/mem", t->share + 1);
	CHECK(u, tp_walk(&x.cl, ROOT, 2, path) == 4); /* tmp, lxs-p9-X, share, selflink */
	CHECK(u, tp_clunk(&x.cl, 1) == 0);
	host_client_free(&x);

	CHECK(u, host_client(&x, "/proc") == 0);
	CHECK(u, tp_walk(&x.cl, ROOT, 1, "self") == -EACCES);
	snprintf(path, sizeof(path), "%s/environ", pid);
	CHECK(u, tp_walk(&x.cl, ROOT, 1, path) == -EACCES);
	CHECK(u, tp_walk(&x.cl, ROOT, 1, "sys/..") == 2 && tp_clunk(&x.cl, 1) == 0);
	CHECK(u, tp_walk(&x.cl, ROOT, 1, "..") == 1 && tp_walk(&x.cl, 1, 2, "self") == -EACCES);
	host_client_free(&x);

	/* a share rooted inside the per-process part, or a link to it, is refused */
	CHECK(u, p9_server_open("/proc/self", NULL, &srv) == -EACCES);
	CHECK(u, p9_server_open("/proc/self/fd", NULL, &srv) == -EACCES);
	CHECK(u, p9_server_open(tp_path(t, "selflink"), NULL, &srv) == -EACCES);
	CHECK(u, unlink(tp_path(t, "selflink")) == 0);
	teardown(u, t);
}

/* --- many threads on one connection -------------------------------------- */

struct worker {
	struct tp *t;
	int id;
	atomic_int *errors;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint32_t dir = 1000u + (uint32_t)w->id * 10u, f = dir + 1;
	char name[32], buf[64], want[64];
	struct tpc cl;

	if (tpc_init(&cl, w->t, (unsigned)w->id + 1))
		return NULL;
	snprintf(want, sizeof(want), "thread %d data", w->id);
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "w%d-%d", w->id, i);
		if (tp_walk(&cl, ROOT, dir, "") != 0 ||
		    tp_lcreate(&cl, dir, name, P9_DOTL_RDWR, 0644) != 0 ||
		    tp_write(&cl, dir, 0, want, (uint32_t)strlen(want)) != (int)strlen(want) ||
		    tp_read(&cl, dir, 0, sizeof(buf), buf) != (int)strlen(want) ||
		    memcmp(buf, want, strlen(want)) || tp_clunk(&cl, dir) != 0 ||
		    tp_walk(&cl, ROOT, f, name) != 1 ||
		    tpc_rpc(&cl, P9_TREMOVE, "d", f) != P9_RREMOVE)
			atomic_fetch_add(w->errors, 1);
	}
	tpc_fini(&cl);
	return NULL;
}

/* Threads that clunk and reuse one fid while others read through it. */
static void *churn(void *arg)
{
	struct worker *w = arg;
	struct tpc cl;
	char buf[16];

	if (tpc_init(&cl, w->t, (unsigned)w->id + 1))
		return NULL;
	for (int i = 0; i < 300; i++) {
		if (w->id == 0) {
			tp_walk(&cl, ROOT, 77, "shared");
			tp_lopen(&cl, 77, P9_DOTL_RDONLY);
		} else if (w->id == 1) {
			tp_clunk(&cl, 77);
		} else {
			tp_read(&cl, 77, 0, sizeof(buf), buf);
			tpc_rpc(&cl, P9_TREADDIR, "dqd", 77u, (uint64_t)0, 4096u);
			tp_walk(&cl, 77, 77, "");
			tp_getattr(&cl, 77, (struct tp_attr[1]){});
		}
	}
	tpc_fini(&cl);
	return NULL;
}

static void t_threads(struct unit *u)
{
	struct tp *t = setup(u);
	struct worker w[6];
	pthread_t th[6];
	atomic_int errors;

	if (!t)
		return;
	atomic_init(&errors, 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.t = t, .id = i, .errors = &errors};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK(u, atomic_load(&errors) == 0);
	CHECK(u, tp_put_file(tp_path(t, "shared"), "shared") == 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.t = t, .id = i, .errors = &errors};
		pthread_create(&th[i], NULL, churn, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK(u, tp_walk(&t->cl, ROOT, 1, "") == 0);
	teardown(u, t);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int fds_at_start;

/* Every case above freed its server and connection: no descriptor may remain. */
static void t_no_fd_leak(struct unit *u)
{
	CHECK(u, fds_at_start > 0 && open_fds() == fds_at_start);
}

int main(void)
{
	struct unit u = {0};

	umask(022);
	fds_at_start = open_fds();
	RUN(&u, t_dotdot_at_root);
	RUN(&u, t_bad_names);
	RUN(&u, t_symlinks_never_followed);
	RUN(&u, t_symlink_swap_race);
	RUN(&u, t_removed_dir_fid);
	RUN(&u, t_moved_out);
	RUN(&u, t_huge_numbers);
	RUN(&u, t_fid_reuse);
	RUN(&u, t_fid_limit);
	RUN(&u, t_malformed);
	RUN(&u, t_flush_order_and_limits);
	RUN(&u, t_flush_cycles);
	RUN(&u, t_proc_magic);
	RUN(&u, t_fd_budget);
	RUN(&u, t_threads);
	RUN(&u, t_no_fd_leak);
	return unit_done(&u);
}
