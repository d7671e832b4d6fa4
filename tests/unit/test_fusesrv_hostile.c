/*
 * test_fusesrv_hostile.c - a guest driver that lies: names that are not
 * single entries, symlinks out of the share (standing and swapped in
 * mid-walk), hard links in from outside, forged and stale nodeids and
 * fhs, headers and arguments that disagree with their buffers, sizes and
 * offsets past the limits, reply buffers too small. Each gets an error
 * reply (or, for a request that is not one, a transport error), nothing
 * outside the share is reached, and no buffer is overrun (ASan).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "test_fusesrv_util.h"
#include "unit.h"

#define ROOT FUSE_ROOT_ID

static struct tf *setup(struct unit *u)
{
	struct tf *t = calloc(1, sizeof(*t));

	if (!t || tf_init(t, NULL) != 0) {
		CHECK(u, !"scratch share set up");
		if (t && t->base[0])
			tf_fini(t);
		free(t);
		return NULL;
	}
	return t;
}

static void teardown(struct unit *u, struct tf *t)
{
	if (t)
		CHECK(u, tf_fini(t) == 0);
	free(t);
}

static void t_bad_names(struct unit *u)
{
	char longname[NAME_MAX + 2];
	struct fuse_entry_out e;
	struct fuse_mkdir_in mi = {.mode = 0755};
	struct fuse_rename_in ri = {.newdir = ROOT};
	struct tf *t = setup(u);

	if (!t)
		return;
	CHECK(u, mkdir(tf_path(t, "a"), 0755) == 0 && tf_put_file(tf_path(t, "a/b"), "x") == 0);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	/* ".." of the root is the root; "." and the rest are no names */
	CHECK(u, tf_lookup(t, ROOT, "..", &e) == 0 && e.nodeid == ROOT);
	CHECK(u, tf_lookup(t, ROOT, ".", NULL) == -EINVAL);
	CHECK(u, tf_lookup(t, ROOT, "", NULL) == -EINVAL);
	CHECK(u, tf_lookup(t, ROOT, "a/b", NULL) == -EINVAL);
	CHECK(u, tf_lookup(t, ROOT, "/etc", NULL) == -EINVAL);
	CHECK(u, tf_lookup(t, ROOT, longname, NULL) == -ENAMETOOLONG);
	/* embedded NUL, and no NUL at all */
	CHECK(u, tf_call(t, FUSE_LOOKUP, ROOT, "a\0b", (size_t)4, NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_LOOKUP, ROOT, "a", (size_t)1, NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_LOOKUP, ROOT, NULL) == -EINVAL);
	/* the same rules when making and removing */
	CHECK(u, tf_call(t, FUSE_MKDIR, ROOT, &mi, sizeof(mi), TF_S(".."), NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_MKDIR, ROOT, &mi, sizeof(mi), TF_S("x/y"), NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_MKDIR, ROOT, &mi, sizeof(mi), "q", (size_t)1, NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_UNLINK, ROOT, TF_S("a/b"), NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_RMDIR, ROOT, TF_S(".."), NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_SYMLINK, ROOT, TF_S("s"), "tgt", (size_t)3, NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_RENAME, ROOT, &ri, sizeof(ri), TF_S("a"), TF_S("../z"), NULL) ==
		     -EINVAL);
	CHECK(u, tf_call(t, FUSE_RENAME, ROOT, &ri, sizeof(ri), TF_S("a"), NULL) == -EINVAL);
	CHECK(u, access(tf_path(t, "a/b"), F_OK) == 0);
	teardown(u, t);
}

static void t_symlinks_out(struct unit *u)
{
	struct fuse_entry_out e;
	struct fuse_create_in ci = {.flags = O_CREAT | O_RDWR, .mode = S_IFREG | 0644};
	struct tf *t = setup(u);
	uint64_t fh;
	char outside[160];

	if (!t)
		return;
	snprintf(outside, sizeof(outside), "%s/outside", t->base);
	CHECK(u, symlink("/", tf_path(t, "root")) == 0);
	CHECK(u, symlink("/etc", tf_path(t, "etc")) == 0);
	CHECK(u, symlink(outside, tf_path(t, "out")) == 0);
	/* the link itself, never its target */
	CHECK(u, tf_lookup(t, ROOT, "etc", &e) == 0 && S_ISLNK(e.attr.mode));
	CHECK(u, tf_call(t, FUSE_READLINK, e.nodeid, NULL) == 4 && !memcmp(t->body, "/etc", 4));
	CHECK(u, tf_lookup(t, e.nodeid, "passwd", NULL) == -ENOTDIR);
	CHECK(u, tf_open(t, FUSE_OPEN, e.nodeid, O_RDONLY, &fh, NULL) < 0);
	CHECK(u, tf_readdir(t, FUSE_READDIR, e.nodeid, 0, 4096) == -ENOTDIR);
	CHECK(u, tf_lookup(t, ROOT, "out", &e) == 0 && S_ISLNK(e.attr.mode));
	CHECK(u, tf_lookup(t, e.nodeid, "canary", NULL) == -ENOTDIR);
	CHECK(u,
	      tf_call(t, FUSE_CREATE, e.nodeid, &ci, sizeof(ci), TF_S("canary"), NULL) == -ENOTDIR);
	CHECK(u, tf_call(t, FUSE_UNLINK, e.nodeid, TF_S("canary"), NULL) == -ENOTDIR);
	CHECK(u, tf_lookup(t, ROOT, "root", &e) == 0 && S_ISLNK(e.attr.mode));
	CHECK(u, tf_lookup(t, e.nodeid, "..", NULL) == -ENOTDIR);
	/* CREATE onto a symlink's name does not write through it */
	ci.flags = O_CREAT | O_RDWR;
	CHECK(u, tf_call(t, FUSE_CREATE, ROOT, &ci, sizeof(ci), TF_S("out"), NULL) < 0);
	teardown(u, t);
}

struct swapper {
	char dir[512], link[512], tmp[512];
	atomic_bool stop;
};

/* Swap a folder and a symlink to /etc in and out under one name. */
static void *swap_loop(void *arg)
{
	struct swapper *w = arg;

	while (!atomic_load(&w->stop)) {
		renameat2(AT_FDCWD, w->link, AT_FDCWD, w->dir, RENAME_EXCHANGE);
		renameat2(AT_FDCWD, w->link, AT_FDCWD, w->dir, RENAME_EXCHANGE);
	}
	return NULL;
}

static void t_symlink_swap_race(struct unit *u)
{
	struct tf *t = setup(u);
	struct swapper w = {0};
	struct fuse_entry_out e;
	pthread_t th;
	int escapes = 0, found = 0;

	if (!t)
		return;
	snprintf(w.dir, sizeof(w.dir), "%s", tf_path(t, "d"));
	snprintf(w.link, sizeof(w.link), "%s", tf_path(t, "swap"));
	CHECK(u, mkdir(w.dir, 0755) == 0);
	CHECK(u, tf_put_file(tf_path(t, "d/passwd"), "DECOY") == 0);
	CHECK(u, symlink("/etc", w.link) == 0);
	if (pthread_create(&th, NULL, swap_loop, &w) != 0) {
		CHECK(u, !"swapper started");
		teardown(u, t);
		return;
	}
	for (int i = 0; i < 3000; i++) {
		uint64_t d, fh;

		if (tf_lookup(t, ROOT, "d", &e) != 0)
			continue;
		d = e.nodeid;
		if (tf_lookup(t, d, "passwd", &e) == 0) {
			found++;
			if (tf_open(t, FUSE_OPEN, e.nodeid, O_RDONLY, &fh, NULL) == 0) {
				if (tf_read(t, fh, 0, 64) != 5 || memcmp(t->body, "DECOY", 5))
					escapes++;
				tf_release(t, FUSE_RELEASE, fh);
			}
			tf_forget(t, e.nodeid, 1);
		}
		tf_forget(t, d, 1);
	}
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);
	CHECK(u, escapes == 0);
	CHECK(u, found > 0); /* the race ran both ways */
	teardown(u, t);
}

static void t_hardlink_in_dotdot(struct unit *u)
{
	struct tf *t = setup(u);
	struct fuse_entry_out e;
	char canary[160];
	uint64_t fh;

	if (!t)
		return;
	snprintf(canary, sizeof(canary), "%s/outside/canary", t->base);
	/* a hard link from outside is a file of the share like any other */
	if (link(canary, tf_path(t, "in")) == 0) {
		CHECK(u, tf_lookup(t, ROOT, "in", &e) == 0 && S_ISREG(e.attr.mode));
		CHECK(u, tf_open(t, FUSE_OPEN, e.nodeid, O_RDONLY, &fh, NULL) == 0);
		CHECK(u, tf_read(t, fh, 0, 64) == 6 && !memcmp(t->body, "CANARY", 6));
		CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
		CHECK(u, tf_lookup(t, e.nodeid, "..", NULL) == -ENOTDIR);
	}
	/* ".." climbs to the root and no further */
	CHECK(u, mkdir(tf_path(t, "a"), 0755) == 0 && mkdir(tf_path(t, "a/b"), 0755) == 0);
	CHECK(u, tf_lookup(t, ROOT, "a", &e) == 0 && tf_lookup(t, e.nodeid, "b", &e) == 0);
	CHECK(u, tf_lookup(t, e.nodeid, "..", &e) == 0 && e.nodeid == tf_node(t, ROOT, "a"));
	CHECK(u, tf_lookup(t, e.nodeid, "..", &e) == 0 && e.nodeid == ROOT);
	CHECK(u, tf_lookup(t, ROOT, "..", &e) == 0 && e.nodeid == ROOT);
	CHECK(u, tf_lookup(t, ROOT, "outside", NULL) == -ENOENT);
	teardown(u, t);
}

static void t_forged_ids(struct unit *u)
{
	static const uint64_t nodes[] = {0, 2, 3, 0xdeadbeef, ROOT | (1ull << 32), UINT64_MAX};
	struct tf *t = setup(u);
	uint64_t node, fh;

	if (!t)
		return;
	for (unsigned i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		CHECK(u, tf_getattr(t, nodes[i], NULL) == -ENOENT);
		CHECK(u, tf_lookup(t, nodes[i], "x", NULL) == -ENOENT);
		CHECK(u, tf_open(t, FUSE_OPEN, nodes[i], O_RDONLY, &fh, NULL) == -ENOENT);
		CHECK(u, tf_forget(t, nodes[i], 1) == TF_NOREPLY);
	}
	CHECK(u, tf_put_file(tf_path(t, "f"), "data") == 0);
	node = tf_node(t, ROOT, "f");
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY, &fh, NULL) == 0);
	CHECK(u, tf_read(t, 0, 0, 4) == -EBADF);
	CHECK(u, tf_read(t, fh ^ (1ull << 32), 0, 4) == -EBADF);
	CHECK(u, tf_read(t, fh + 1000, 0, 4) == -EBADF);
	CHECK(u, tf_call(t, FUSE_READDIRPLUS, ROOT, &(struct fuse_read_in){.fh = fh, .size = 4096},
			 sizeof(struct fuse_read_in), NULL) == -EBADF);       /* a file's handle */
	CHECK(u, tf_readdir(t, FUSE_READDIRPLUS, node, 0, 4096) == -ENOTDIR); /* a file's node */
	CHECK(u, tf_readdir(t, FUSE_READDIRPLUS, node ^ (1ull << 32), 0, 4096) == -ENOENT);
	CHECK(u, tf_release(t, FUSE_RELEASEDIR, fh) == -EBADF);
	CHECK(u, tf_read(t, fh, 0, 4) == 4);
	/* after release: stale, and a new handle in its slot is another fh */
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	CHECK(u, tf_read(t, fh, 0, 4) == -EBADF);
	{
		uint64_t again;

		CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY, &again, NULL) == 0 && again != fh);
		CHECK(u, tf_read(t, fh, 0, 4) == -EBADF);
	}
	/* FORGET of the root: it stays */
	CHECK(u, tf_forget(t, ROOT, UINT64_MAX) == TF_NOREPLY);
	CHECK(u, tf_getattr(t, ROOT, NULL) == 0 && tf_node(t, ROOT, "f") == node);
	teardown(u, t);
}

/* A request built by hand: header as given, then args; out of room bytes. */
static int raw(struct tf *t, const struct fuse_in_header *ih, const void *args, size_t alen,
	       size_t in_len, size_t room)
{
	static uint8_t req[8192];
	struct iovec in = {req, in_len}, out = {t->out, room};

	memcpy(req, ih, sizeof(*ih));
	memcpy(req + sizeof(*ih), args, alen);
	return tf_handle(t, &in, 1, &out, 1, ih->unique);
}

static void t_framing(struct unit *u)
{
	struct fuse_getattr_in gi = {0};
	struct fuse_in_header ih = {.opcode = FUSE_GETATTR, .nodeid = ROOT, .unique = 9};
	struct fuse_out_header oh;
	struct tf *t = setup(u);
	size_t n = sizeof(ih) + sizeof(gi);

	if (!t)
		return;
	ih.len = (uint32_t)n;
	CHECK(u, raw(t, &ih, &gi, sizeof(gi), n, TF_OUT) == (int)sizeof(struct fuse_attr_out));
	/* the header's length against the buffers: no request at all */
	ih.len = (uint32_t)n + 1;
	CHECK(u, raw(t, &ih, &gi, sizeof(gi), n, TF_OUT) == -EBADMSG - 1000);
	ih.len = (uint32_t)n - 1;
	CHECK(u, raw(t, &ih, &gi, sizeof(gi), n, TF_OUT) == -EBADMSG - 1000);
	ih.len = 8;
	CHECK(u, raw(t, &ih, &gi, sizeof(gi), n, TF_OUT) == -EBADMSG - 1000);
	ih.len = sizeof(ih) - 1;
	CHECK(u, raw(t, &ih, &gi, 0, sizeof(ih) - 1, TF_OUT) == -EBADMSG - 1000);
	CHECK(u, raw(t, &ih, &gi, 0, 0, TF_OUT) == -EBADMSG - 1000);
	/* no room for even a header */
	ih.len = (uint32_t)n;
	CHECK(u, raw(t, &ih, &gi, sizeof(gi), n, sizeof(oh) - 1) == -ENOBUFS - 1000);
	CHECK(u, raw(t, &ih, &gi, sizeof(gi), n, 0) == -ENOBUFS - 1000);
	/* room for the header only: an error reply, nothing past it */
	memset(t->out, 0xee, 64);
	CHECK(u, raw(t, &ih, &gi, sizeof(gi), n, sizeof(oh)) == -EINVAL);
	CHECK(u, t->out[sizeof(oh)] == 0xee);
	/* arguments shorter than the opcode's structure: an error with the unique */
	ih.len = (uint32_t)(sizeof(ih) + 4);
	CHECK(u, raw(t, &ih, &gi, 4, sizeof(ih) + 4, TF_OUT) == -EINVAL);
	memcpy(&oh, t->out, sizeof(oh));
	CHECK(u, oh.unique == 9 && oh.len == sizeof(oh));
	/* extensions that were never agreed to */
	ih.len = (uint32_t)n;
	ih.total_extlen = 1;
	CHECK(u, raw(t, &ih, &gi, sizeof(gi), n, TF_OUT) == -EINVAL);
	ih.total_extlen = 0;
	/* INIT's arguments too short */
	ih.opcode = FUSE_INIT;
	ih.len = sizeof(ih) + 4;
	CHECK(u, raw(t, &ih, &gi, 4, sizeof(ih) + 4, TF_OUT) == -EINVAL);
	/* a FORGET never gets a reply, even malformed */
	ih.opcode = FUSE_FORGET;
	ih.len = sizeof(ih);
	CHECK(u, raw(t, &ih, &gi, 0, sizeof(ih), 0) == TF_NOREPLY);
	/* the header split byte by byte */
	{
		uint8_t req[sizeof(ih) + sizeof(gi)];
		struct iovec in[sizeof(req)], out = {t->out, TF_OUT};

		ih.opcode = FUSE_GETATTR;
		ih.len = sizeof(req);
		memcpy(req, &ih, sizeof(ih));
		memcpy(req + sizeof(ih), &gi, sizeof(gi));
		for (size_t i = 0; i < sizeof(req); i++)
			in[i] = (struct iovec){req + i, 1};
		CHECK(u, tf_handle(t, in, sizeof(req), &out, 1, ih.unique) ==
			     (int)sizeof(struct fuse_attr_out));
	}
	teardown(u, t);
}

static void t_io_bounds(struct unit *u)
{
	struct fuse_read_in ri = {0};
	struct fuse_write_in wi = {0};
	struct tf *t = setup(u);
	uint64_t node, fh;
	static uint8_t big[(1u << 20) + 4096];

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "f"), "0123456789") == 0);
	node = tf_node(t, ROOT, "f");
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDWR, &fh, NULL) == 0);
	/* above max_write (1 MiB by default) */
	CHECK(u, tf_read(t, fh, 0, (1u << 20) + 1) == -EINVAL);
	CHECK(u, tf_read(t, fh, 0, 1u << 20) == 10);
	CHECK(u, tf_write(t, fh, 0, big, (1u << 20) + 4096) == -EINVAL);
	/* offsets past INT64_MAX, and offset + size overflowing */
	CHECK(u, tf_read(t, fh, (uint64_t)INT64_MAX + 1, 1) == -EINVAL);
	CHECK(u, tf_read(t, fh, UINT64_MAX - 2, 10) == -EINVAL);
	CHECK(u, tf_read(t, fh, INT64_MAX - 2, 10) == -EINVAL);
	CHECK(u, tf_write(t, fh, UINT64_MAX - 2, "abc", 3) == -EINVAL);
	/* a size that disagrees with the data */
	wi.fh = fh;
	wi.size = 5;
	CHECK(u, tf_call(t, FUSE_WRITE, 0, &wi, sizeof(wi), "abc", (size_t)3, NULL) == -EINVAL);
	wi.size = 1;
	CHECK(u, tf_call(t, FUSE_WRITE, 0, &wi, sizeof(wi), "abc", (size_t)3, NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_WRITE, 0, &wi, (size_t)20, NULL) == -EINVAL);
	/* a READ whose reply buffer is smaller than its size: cut, never overrun */
	ri.fh = fh;
	ri.size = 10;
	memset(t->out, 0xee, 64);
	CHECK(u, tf_call_room(t, sizeof(struct fuse_out_header) + 4, FUSE_READ, 0, &ri, sizeof(ri),
			      NULL) == 4);
	CHECK(u, !memcmp(t->body, "0123", 4) && t->out[sizeof(struct fuse_out_header) + 4] == 0xee);
	/* READDIRPLUS into a small buffer */
	ri.fh = 0;
	ri.size = 4096;
	memset(t->out, 0xee, 512);
	CHECK(u, tf_call_room(t, sizeof(struct fuse_out_header) + 200, FUSE_READDIRPLUS, ROOT, &ri,
			      sizeof(ri), NULL) > 0);
	CHECK(u, t->blen <= 200 && t->out[sizeof(struct fuse_out_header) + 200] == 0xee);
	/* a fixed reply that does not fit: an error, nothing done */
	CHECK(u, tf_call_room(t, sizeof(struct fuse_out_header) + 10, FUSE_MKDIR, ROOT,
			      &(struct fuse_mkdir_in){.mode = 0755}, sizeof(struct fuse_mkdir_in),
			      TF_S("never"), NULL) == -EINVAL);
	CHECK(u, access(tf_path(t, "never"), F_OK) < 0);
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	teardown(u, t);
}

static void t_open_flags(struct unit *u)
{
	struct fuse_create_in ci = {.flags = O_CREAT | O_RDWR | 0x40000000, .mode = S_IFREG | 0644};
	struct tf *t = setup(u);
	uint64_t node, fh;

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "f"), "x") == 0);
	node = tf_node(t, ROOT, "f");
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY | O_CREAT, &fh, NULL) == -EINVAL);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY | O_EXCL, &fh, NULL) == -EINVAL);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_ACCMODE, &fh, NULL) == -EINVAL);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY | O_PATH, &fh, NULL) == -EINVAL);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY | 0x40000000, &fh, NULL) == -EINVAL);
	CHECK(u, tf_open(t, FUSE_OPEN, ROOT, O_RDONLY, &fh, NULL) == -EISDIR);
	CHECK(u, tf_open(t, FUSE_OPENDIR, node, O_RDONLY, &fh, NULL) == -ENOSYS);
	CHECK(u, tf_call(t, FUSE_CREATE, ROOT, &ci, sizeof(ci), TF_S("g"), NULL) == -EINVAL);
	CHECK(u, access(tf_path(t, "g"), F_OK) < 0);
	/* what the kernel really sends is fine */
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY | O_NONBLOCK | O_NOATIME | O_CLOEXEC, &fh,
			 NULL) == 0);
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	teardown(u, t);
}

static void t_xattr_hostile(struct unit *u)
{
	struct fuse_setxattr_in si = {.size = 3};
	struct fuse_getxattr_in gi = {.size = 64};
	char longname[XATTR_NAME_MAX + 8];
	struct tf *t = setup(u);

	if (!t)
		return;
	memset(longname, 'x', sizeof(longname));
	memcpy(longname, "user.", 5);
	longname[sizeof(longname) - 1] = 0;
	CHECK(u, tf_call(t, FUSE_SETXATTR, ROOT, &si, 8, "user.a", (size_t)6, NULL) == -EINVAL);
	CHECK(u,
	      tf_call(t, FUSE_SETXATTR, ROOT, &si, 8, TF_S(""), "abc", (size_t)3, NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_SETXATTR, ROOT, &si, 8, TF_S("user.a"), "ab", (size_t)2, NULL) ==
		     -EINVAL);
	CHECK(u, tf_call(t, FUSE_SETXATTR, ROOT, &si, 8, TF_S("user.a"), "abcd", (size_t)4, NULL) ==
		     -EINVAL);
	si.size = 1u << 20;
	CHECK(u, tf_call(t, FUSE_SETXATTR, ROOT, &si, 8, TF_S("user.a"), NULL) == -E2BIG);
	si.size = 3;
	si.flags = 0x100;
	CHECK(u, tf_call(t, FUSE_SETXATTR, ROOT, &si, 8, TF_S("user.a"), "abc", (size_t)3, NULL) ==
		     -EINVAL);
	CHECK(u, tf_call(t, FUSE_GETXATTR, ROOT, &gi, sizeof(gi), TF_S(longname), NULL) == -ERANGE);
	CHECK(u, tf_call(t, FUSE_GETXATTR, ROOT, &gi, sizeof(gi), "user.a", (size_t)6, NULL) ==
		     -EINVAL);
	CHECK(u, tf_call(t, FUSE_REMOVEXATTR, ROOT, NULL) == -EINVAL);
	/* a GETXATTR whose reply buffer is smaller than the size it names */
	CHECK(u, setxattr(t->share, "user.v", "0123456789", 10, 0) == 0);
	CHECK(u, tf_call_room(t, sizeof(struct fuse_out_header) + 4, FUSE_GETXATTR, ROOT, &gi,
			      sizeof(gi), TF_S("user.v"), NULL) == -ERANGE);
	teardown(u, t);
}

/* One thread's requests, in buffers of its own. */
struct worker {
	struct fsrv *s;
	uint64_t node;
	int id, bad;
};

static int call(struct fsrv *s, uint32_t op, uint64_t nodeid, const void *args, size_t alen,
		uint8_t *out, size_t room)
{
	uint8_t req[256];
	struct fuse_in_header ih = {.opcode = op, .nodeid = nodeid, .unique = 1};
	struct iovec in = {req, sizeof(ih) + alen}, ov = {out, room};
	struct fuse_out_header oh;
	ssize_t n;

	ih.len = (uint32_t)(sizeof(ih) + alen);
	memcpy(req, &ih, sizeof(ih));
	memcpy(req + sizeof(ih), args, alen);
	n = fsrv_handle(s, &in, 1, &ov, 1);
	if (n <= 0)
		return n == 0 ? 0 : -100000;
	memcpy(&oh, out, sizeof(oh));
	return oh.error ? oh.error : (int)(oh.len - sizeof(oh));
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint8_t out[8192];

	for (int i = 0; i < 1500; i++) {
		struct fuse_open_in oi = {.flags = O_RDONLY};
		struct fuse_read_in ri = {.size = 16};
		struct fuse_release_in rl;
		struct fuse_forget_in fo = {.nlookup = 1};
		struct fuse_entry_out e;
		uint64_t fh;

		/* a lookup of the shared file, and one of this thread's own */
		if (call(w->s, FUSE_LOOKUP, ROOT, "f", 2, out, sizeof(out)) != (int)sizeof(e)) {
			w->bad++;
			continue;
		}
		memcpy(&e, out + sizeof(struct fuse_out_header), sizeof(e));
		if (e.nodeid != w->node)
			w->bad++;
		if (call(w->s, FUSE_OPEN, e.nodeid, &oi, sizeof(oi), out, sizeof(out)) == 16) {
			memcpy(&fh, out + sizeof(struct fuse_out_header), 8);
			ri.fh = fh;
			if (call(w->s, FUSE_READ, 0, &ri, sizeof(ri), out, sizeof(out)) != 4)
				w->bad++;
			rl.fh = fh;
			if (call(w->s, FUSE_RELEASE, 0, &rl, sizeof(rl), out, sizeof(out)) != 0)
				w->bad++;
		} else {
			w->bad++;
		}
		call(w->s, FUSE_FORGET, e.nodeid, &fo, sizeof(fo), out, 0);
		/* a node that comes and goes while the others use theirs */
		if (call(w->s, FUSE_LOOKUP, ROOT, (w->id & 1) ? "g" : "h", 2, out, sizeof(out)) ==
		    (int)sizeof(e)) {
			memcpy(&e, out + sizeof(struct fuse_out_header), sizeof(e));
			call(w->s, FUSE_GETATTR, e.nodeid, &(struct fuse_getattr_in){0},
			     sizeof(struct fuse_getattr_in), out, sizeof(out));
			call(w->s, FUSE_FORGET, e.nodeid, &fo, sizeof(fo), out, 0);
		}
	}
	return NULL;
}

/* Lookups, opens, reads, releases and forgets of shared nodes from four threads. */
static void t_threads(struct unit *u)
{
	struct tf *t = setup(u);
	struct worker w[4];
	pthread_t th[4];
	int started = 0, bad = 0;
	uint64_t keep;

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "f"), "data") == 0);
	CHECK(u, tf_put_file(tf_path(t, "g"), "g") == 0 && tf_put_file(tf_path(t, "h"), "h") == 0);
	keep = tf_node(t, ROOT, "f"); /* held throughout: every lookup finds this node */
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.s = t->s, .node = keep, .id = i};
		started += pthread_create(&th[i], NULL, work, &w[i]) == 0;
	}
	CHECK(u, started == 4);
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
	}
	CHECK(u, bad == 0);
	CHECK(u, tf_getattr(t, keep, NULL) == 0);
	CHECK(u, tf_forget(t, keep, 1) == TF_NOREPLY && tf_getattr(t, keep, NULL) == -ENOENT);
	teardown(u, t);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_bad_names);
	RUN(&u, t_symlinks_out);
	RUN(&u, t_symlink_swap_race);
	RUN(&u, t_hardlink_in_dotdot);
	RUN(&u, t_forged_ids);
	RUN(&u, t_framing);
	RUN(&u, t_io_bounds);
	RUN(&u, t_open_flags);
	RUN(&u, t_xattr_hostile);
	RUN(&u, t_threads);
	return unit_done(&u);
}
