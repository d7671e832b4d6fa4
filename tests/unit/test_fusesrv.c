/*
 * test_fusesrv.c - each FUSE opcode through fsrv_handle() against a
 * scratch share, checked against what the host then sees: INIT's
 * negotiation, nodes and their lookup counts, files and folders, xattrs,
 * the DrvFs options, a read-only share, large files and folders, and when
 * the guest may keep its cache. The hostile cases are in
 * test_fusesrv_hostile.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "test_fusesrv_util.h"
#include "unit.h"

#define ROOT FUSE_ROOT_ID

static struct tf *setup_cfg(struct unit *u, const struct fsrv_config *cfg)
{
	struct tf *t = calloc(1, sizeof(*t));

	if (!t || tf_init(t, cfg) != 0) {
		CHECK(u, !"scratch share set up");
		if (t && t->base[0])
			tf_fini(t);
		free(t);
		return NULL;
	}
	return t;
}

static struct tf *setup(struct unit *u)
{
	return setup_cfg(u, NULL);
}

static void teardown(struct unit *u, struct tf *t)
{
	if (t)
		CHECK(u, tf_fini(t) == 0); /* nothing beside the share touched */
	free(t);
}

static struct fsrv_config drvfs(const char *opts)
{
	struct fsrv_config c = {0};

	hfs_opts_default(&c.opts);
	if (opts && hfs_opts_parse(&c.opts, opts) < 0)
		abort();
	return c;
}

/* --- INIT ------------------------------------------------------------------ */

static void t_init_negotiation(struct unit *u)
{
	struct fsrv_config c = drvfs(NULL);
	struct fuse_init_out o;
	uint32_t want;
	struct tf *t;

	c.max_write = 256u << 10;
	t = setup_cfg(u, &c);
	if (!t)
		return;
	/* tf_init sent 7.41 with every flag: ours back, and only what we offer */
	fsrv_reset(t->s);
	CHECK(u, tf_init_req(t, 7, 41, TF_ALL_FLAGS, &o) == (int)sizeof(o));
	CHECK(u, o.major == 7 && o.minor == FUSE_KERNEL_MINOR_VERSION);
	CHECK(u, o.max_write == 256u << 10 && o.max_pages == 64 && o.time_gran == 1);
	want = FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_MAX_PAGES |
	       FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | FUSE_CACHE_SYMLINKS |
	       FUSE_HANDLE_KILLPRIV_V2;
	CHECK(u, (o.flags & want) == want);
	CHECK(u, !(o.flags & (FUSE_WRITEBACK_CACHE | FUSE_POSIX_ACL | FUSE_POSIX_LOCKS |
			      FUSE_FLOCK_LOCKS | FUSE_DONT_MASK | FUSE_HANDLE_KILLPRIV |
			      FUSE_SETXATTR_EXT | FUSE_SUBMOUNTS | FUSE_EXPORT_SUPPORT)));
	CHECK(u, o.flags2 == 0);
	/* a second INIT is refused; the session stays as it was */
	CHECK(u, tf_init_req(t, 7, 41, 0, NULL) == -EPROTO);
	CHECK(u, tf_getattr(t, ROOT, NULL) == 0);

	/* an older kernel: its minor, and only the flags it named */
	fsrv_reset(t->s);
	CHECK(u,
	      tf_init_req(t, 7, 27, FUSE_ASYNC_READ | FUSE_WRITEBACK_CACHE, &o) == (int)sizeof(o));
	CHECK(u, o.major == 7 && o.minor == 27 && o.flags == FUSE_ASYNC_READ);
	/* older than any structure's present size: refused */
	fsrv_reset(t->s);
	CHECK(u, tf_init_req(t, 7, 22, 0, NULL) == -EPROTO);
	CHECK(u, tf_init_req(t, 6, 41, 0, NULL) == -EPROTO);
	CHECK(u, tf_getattr(t, ROOT, NULL) == -EIO);
	/* a newer major: our version, and the kernel must INIT again */
	CHECK(u, tf_init_req(t, 8, 0, 0, &o) == (int)sizeof(o));
	CHECK(u, o.major == 7 && o.minor == FUSE_KERNEL_MINOR_VERSION);
	CHECK(u, tf_getattr(t, ROOT, NULL) == -EIO);
	CHECK(u, tf_init_req(t, 7, 41, 0, &o) == (int)sizeof(o) && o.flags == 0);
	CHECK(u, tf_getattr(t, ROOT, NULL) == 0);
	teardown(u, t);
}

static void t_before_init_and_destroy(struct unit *u)
{
	struct tf *t = setup(u);
	uint64_t old;

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "f"), "x") == 0);
	old = tf_node(t, ROOT, "f");
	CHECK(u, old != 0);
	/* DESTROY: like fsrv_reset, and answered */
	CHECK(u, tf_call(t, FUSE_DESTROY, 0, NULL) == 0);
	CHECK(u, tf_getattr(t, ROOT, NULL) == -EIO);
	CHECK(u, tf_lookup(t, ROOT, "f", NULL) == -EIO);
	CHECK(u, tf_call(t, FUSE_DESTROY, 0, NULL) == -EIO);
	CHECK(u, tf_init_req(t, 7, 41, 0, NULL) == (int)sizeof(struct fuse_init_out));
	/* nodes of the old session name nothing in the new one */
	CHECK(u, tf_getattr(t, old, NULL) == -ENOENT);
	CHECK(u, tf_node(t, ROOT, "f") != old);
	teardown(u, t);
}

static void t_unsupported_opcodes(struct unit *u)
{
	static const uint32_t ops[] = {
	    FUSE_GETLK,        FUSE_SETLK,        FUSE_SETLKW,  FUSE_BMAP,   FUSE_IOCTL,
	    FUSE_POLL,         FUSE_NOTIFY_REPLY, FUSE_FLUSH,   FUSE_ACCESS, FUSE_SYNCFS,
	    FUSE_SETUPMAPPING, FUSE_INTERRUPT,    FUSE_TMPFILE, 7,           999,
	    CUSE_INIT};
	uint8_t args[64] = {0};
	struct tf *t = setup(u);

	if (!t)
		return;
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		CHECK(u, tf_call(t, ops[i], ROOT, args, sizeof(args), NULL) == -ENOSYS);
	teardown(u, t);
}

/* --- nodes ---------------------------------------------------------------- */

static void t_lookup_getattr(struct unit *u)
{
	struct tf *t = setup(u);
	struct fuse_entry_out e;
	struct fuse_attr a;
	struct stat st;

	if (!t)
		return;
	CHECK(u, mkdir(tf_path(t, "d"), 0755) == 0);
	CHECK(u, tf_put_file(tf_path(t, "d/f"), "hello") == 0);
	CHECK(u, chmod(tf_path(t, "d/f"), 0666) == 0);
	CHECK(u, stat(tf_path(t, "d/f"), &st) == 0);
	CHECK(u, tf_lookup(t, ROOT, "d", &e) == 0 && S_ISDIR(e.attr.mode));
	CHECK(u, tf_lookup(t, e.nodeid, "f", &e) == 0);
	CHECK(u, e.nodeid > ROOT && e.generation == 0);
	CHECK(u, e.entry_valid == 1 && e.entry_valid_nsec == 0 && e.attr_valid == 1);
	CHECK(u, e.attr.ino == st.st_ino && e.attr.size == 5 && e.attr.nlink == 1);
	CHECK(u, e.attr.mode == (S_IFREG | 0644)); /* umask=022 */
	CHECK(u, e.attr.uid == 1000 && e.attr.gid == 1000);
	CHECK(u, e.attr.mtime == (uint64_t)st.st_mtim.tv_sec &&
		     e.attr.mtimensec == (uint32_t)st.st_mtim.tv_nsec);
	CHECK(u, tf_getattr(t, e.nodeid, &a) == 0 && !memcmp(&a, &e.attr, sizeof(a)));
	/* the root */
	CHECK(u, tf_getattr(t, ROOT, &a) == 0 && S_ISDIR(a.mode));
	CHECK(u, stat(t->share, &st) == 0 && a.ino == st.st_ino);
	/* missing, and through a file */
	CHECK(u, tf_lookup(t, ROOT, "nope", NULL) == -ENOENT);
	CHECK(u, tf_lookup(t, e.nodeid, "x", NULL) == -ENOTDIR);
	teardown(u, t);
}

static void t_hardlinks_one_node(struct unit *u)
{
	struct tf *t = setup(u);
	uint64_t a, b, c;
	char a_path[512];

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "a"), "data") == 0);
	snprintf(a_path, sizeof(a_path), "%s", t->path);
	CHECK(u, link(a_path, tf_path(t, "b")) == 0);
	a = tf_node(t, ROOT, "a");
	b = tf_node(t, ROOT, "b");
	CHECK(u, a && a == b); /* one inode, one node, two lookups */
	CHECK(u, tf_forget(t, a, 1) == TF_NOREPLY);
	CHECK(u, tf_getattr(t, a, NULL) == 0);
	CHECK(u, tf_forget(t, a, 1) == TF_NOREPLY);
	CHECK(u, tf_getattr(t, a, NULL) == -ENOENT); /* gone at 0 */
	c = tf_node(t, ROOT, "a");
	CHECK(u, c && c != a); /* the old nodeid is never given again */
	CHECK(u, tf_getattr(t, a, NULL) == -ENOENT);
	/* forgetting more than was looked up, or an unknown node: no reply, no harm */
	CHECK(u, tf_forget(t, c, 100) == TF_NOREPLY && tf_getattr(t, c, NULL) == -ENOENT);
	CHECK(u, tf_forget(t, 0x123456789ull, 1) == TF_NOREPLY);
	teardown(u, t);
}

static void t_batch_forget(struct unit *u)
{
	struct {
		struct fuse_batch_forget_in h;
		struct fuse_forget_one one[3];
	} req = {.h.count = 3};
	struct tf *t = setup(u);
	char name[16];

	if (!t)
		return;
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		CHECK(u, tf_put_file(tf_path(t, name), "x") == 0);
		req.one[i].nodeid = tf_node(t, ROOT, name);
		req.one[i].nlookup = 1;
		CHECK(u, req.one[i].nodeid != 0);
	}
	CHECK(u, tf_node(t, ROOT, "f0") == req.one[0].nodeid); /* f0 twice */
	CHECK(u, tf_call(t, FUSE_BATCH_FORGET, 0, &req, sizeof(req), NULL) == TF_NOREPLY);
	CHECK(u, tf_getattr(t, req.one[0].nodeid, NULL) == 0);
	CHECK(u, tf_getattr(t, req.one[1].nodeid, NULL) == -ENOENT);
	CHECK(u, tf_getattr(t, req.one[2].nodeid, NULL) == -ENOENT);
	CHECK(u, tf_getattr(t, ROOT, NULL) == 0);
	teardown(u, t);
}

/* --- files ----------------------------------------------------------------- */

static void t_create_write_read(struct unit *u)
{
	struct tf *t = setup(u);
	struct fuse_entry_out e;
	uint64_t fh, fh2;
	char buf[64];
	struct stat st;

	if (!t)
		return;
	CHECK(u, tf_create(t, ROOT, "new", 0640, O_RDWR | O_EXCL, &e, &fh) == 0);
	CHECK(u, S_ISREG(e.attr.mode) && e.attr.size == 0);
	CHECK(u,
	      stat(tf_path(t, "new"), &st) == 0 && S_ISREG(st.st_mode) && e.attr.ino == st.st_ino);
	CHECK(u, tf_write(t, fh, 0, "hello world", 11) == 11);
	CHECK(u, tf_write(t, fh, 6, "WORLD", 5) == 5);
	CHECK(u, tf_get_file(tf_path(t, "new"), buf, sizeof(buf)) == 11 &&
		     !strcmp(buf, "hello WORLD"));
	CHECK(u, tf_read(t, fh, 0, 64) == 11 && !memcmp(t->body, "hello WORLD", 11));
	CHECK(u, tf_read(t, fh, 6, 3) == 3 && !memcmp(t->body, "WOR", 3));
	CHECK(u, tf_read(t, fh, 100, 10) == 0);
	/* O_EXCL on an existing name; without it, the file is opened */
	CHECK(u, tf_create(t, ROOT, "new", 0640, O_RDWR | O_EXCL, NULL, &fh2) == -EEXIST);
	CHECK(u, tf_create(t, ROOT, "new", 0640, O_RDONLY, &e, &fh2) == 0);
	CHECK(u, e.attr.size == 11);
	CHECK(u, tf_write(t, fh2, 0, "x", 1) == -EBADF); /* opened read-only */
	CHECK(u, tf_release(t, FUSE_RELEASE, fh2) == 0);
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	CHECK(u, tf_read(t, fh, 0, 1) == -EBADF);
	/* OPEN with O_TRUNC (ATOMIC_O_TRUNC) */
	CHECK(u, tf_open(t, FUSE_OPEN, e.nodeid, O_WRONLY | O_TRUNC, &fh, NULL) == 0);
	CHECK(u, stat(tf_path(t, "new"), &st) == 0 && st.st_size == 0);
	CHECK(u, tf_read(t, fh, 0, 1) == -EBADF); /* write-only */
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	/* FSYNC */
	CHECK(u, tf_open(t, FUSE_OPEN, e.nodeid, O_RDWR, &fh, NULL) == 0);
	{
		struct fuse_fsync_in fi = {.fh = fh, .fsync_flags = FUSE_FSYNC_FDATASYNC};

		CHECK(u, tf_call(t, FUSE_FSYNC, e.nodeid, &fi, sizeof(fi), NULL) == 0);
		fi.fh = fh + 1;
		CHECK(u, tf_call(t, FUSE_FSYNC, e.nodeid, &fi, sizeof(fi), NULL) == -EBADF);
	}
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	teardown(u, t);
}

/* READ and WRITE with the guest's buffers split as virtio-fs splits them, and oddly. */
static void t_split_buffers(struct unit *u)
{
	struct tf *t = setup(u);
	struct fuse_in_header ih = {0};
	struct fuse_write_in wi = {0};
	struct fuse_read_in ri = {0};
	struct fuse_out_header oh;
	uint8_t data[10000], back[10000], hdr[80];
	struct iovec in[5], out[6];
	uint64_t fh;
	int res;

	if (!t)
		return;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	CHECK(u, tf_create(t, ROOT, "f", 0644, O_RDWR, NULL, &fh) == 0);
	/* header and arguments split mid-structure; data in three pieces */
	ih.opcode = FUSE_WRITE;
	ih.unique = 77;
	ih.len = (uint32_t)(sizeof(ih) + sizeof(wi) + sizeof(data));
	wi.fh = fh;
	wi.offset = 5;
	wi.size = sizeof(data);
	memcpy(hdr, &ih, sizeof(ih));
	memcpy(hdr + sizeof(ih), &wi, sizeof(wi));
	in[0] = (struct iovec){hdr, 7};
	in[1] = (struct iovec){hdr + 7, sizeof(ih) + sizeof(wi) - 7};
	in[2] = (struct iovec){data, 1};
	in[3] = (struct iovec){data + 1, 4095};
	in[4] = (struct iovec){data + 4096, sizeof(data) - 4096};
	out[0] = (struct iovec){t->out, 3};
	out[1] = (struct iovec){t->out + 3, 100};
	res = tf_handle(t, in, 5, out, 2, 77);
	CHECK(u, res == (int)sizeof(struct fuse_write_out));
	memcpy(&oh, t->out, sizeof(oh));
	CHECK(u, oh.len == sizeof(oh) + 8 && oh.error == 0);
	/* READ into pages, the header in a buffer of its own */
	ih.opcode = FUSE_READ;
	ih.unique = 78;
	ih.len = sizeof(ih) + sizeof(ri);
	ri.fh = fh;
	ri.offset = 5;
	ri.size = sizeof(back);
	memcpy(hdr, &ih, sizeof(ih));
	memcpy(hdr + sizeof(ih), &ri, sizeof(ri));
	in[0] = (struct iovec){hdr, sizeof(ih) + sizeof(ri)};
	out[0] = (struct iovec){&oh, sizeof(oh)};
	out[1] = (struct iovec){back, 1};
	out[2] = (struct iovec){back + 1, 0};
	out[3] = (struct iovec){back + 1, 4095};
	out[4] = (struct iovec){back + 4096, 4096};
	out[5] = (struct iovec){back + 8192, sizeof(back) - 8192};
	memset(back, 0, sizeof(back));
	res = tf_handle(t, in, 1, out, 6, 78);
	CHECK(u, res == (int)sizeof(back) && oh.len == sizeof(oh) + sizeof(back));
	CHECK(u, !memcmp(back, data, sizeof(data)));
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	teardown(u, t);
}

static void t_mkdir_rmdir_unlink(struct unit *u)
{
	struct tf *t = setup(u);
	struct fuse_entry_out e;
	struct stat st;

	if (!t)
		return;
	CHECK(u, tf_mkdir(t, ROOT, "d", 0750, &e) == 0 && S_ISDIR(e.attr.mode));
	CHECK(u, stat(tf_path(t, "d"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(u, tf_mkdir(t, ROOT, "d", 0750, NULL) == -EEXIST);
	CHECK(u, tf_put_file(tf_path(t, "d/f"), "x") == 0);
	CHECK(u, tf_call(t, FUSE_RMDIR, ROOT, TF_S("d"), NULL) == -ENOTEMPTY);
	CHECK(u, tf_call(t, FUSE_UNLINK, ROOT, TF_S("d"), NULL) == -EISDIR);
	CHECK(u, tf_call(t, FUSE_RMDIR, e.nodeid, TF_S("f"), NULL) == -ENOTDIR);
	CHECK(u, tf_call(t, FUSE_UNLINK, e.nodeid, TF_S("f"), NULL) == 0);
	CHECK(u, access(tf_path(t, "d/f"), F_OK) < 0 && errno == ENOENT);
	CHECK(u, tf_call(t, FUSE_UNLINK, e.nodeid, TF_S("f"), NULL) == -ENOENT);
	CHECK(u, tf_call(t, FUSE_RMDIR, ROOT, TF_S("d"), NULL) == 0);
	CHECK(u, access(tf_path(t, "d"), F_OK) < 0);
	/* the node of a removed folder lives on until forgotten, and is empty */
	CHECK(u, tf_getattr(t, e.nodeid, NULL) == 0);
	CHECK(u, tf_lookup(t, e.nodeid, "f", NULL) == -ENOENT);
	teardown(u, t);
}

static void t_rename(struct unit *u)
{
	struct fuse_rename2_in r2 = {.newdir = ROOT};
	struct fuse_rename_in r1 = {.newdir = ROOT};
	struct tf *t = setup(u);
	char buf[16];
	uint64_t d;

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "a"), "A") == 0 && tf_put_file(tf_path(t, "b"), "B") == 0);
	CHECK(u, mkdir(tf_path(t, "d"), 0755) == 0);
	d = tf_node(t, ROOT, "d");
	r2.flags = RENAME_NOREPLACE;
	CHECK(u, tf_call(t, FUSE_RENAME2, ROOT, &r2, sizeof(r2), TF_S("a"), TF_S("b"), NULL) ==
		     -EEXIST);
	r2.flags = RENAME_EXCHANGE;
	CHECK(u, tf_call(t, FUSE_RENAME2, ROOT, &r2, sizeof(r2), TF_S("a"), TF_S("b"), NULL) == 0);
	CHECK(u, tf_get_file(tf_path(t, "a"), buf, sizeof(buf)) == 1 && buf[0] == 'B');
	CHECK(u, tf_get_file(tf_path(t, "b"), buf, sizeof(buf)) == 1 && buf[0] == 'A');
	r2.flags = RENAME_WHITEOUT;
	CHECK(u, tf_call(t, FUSE_RENAME2, ROOT, &r2, sizeof(r2), TF_S("a"), TF_S("c"), NULL) ==
		     -EINVAL);
	r2.flags = RENAME_NOREPLACE;
	CHECK(u, tf_call(t, FUSE_RENAME2, ROOT, &r2, sizeof(r2), TF_S("a"), TF_S("c"), NULL) == 0);
	CHECK(u, access(tf_path(t, "c"), F_OK) == 0 && access(tf_path(t, "a"), F_OK) < 0);
	/* across folders, replacing */
	r1.newdir = d;
	CHECK(u, tf_call(t, FUSE_RENAME, ROOT, &r1, sizeof(r1), TF_S("c"), TF_S("x"), NULL) == 0);
	CHECK(u, tf_get_file(tf_path(t, "d/x"), buf, sizeof(buf)) == 1 && buf[0] == 'B');
	r1.newdir = ROOT;
	CHECK(u, tf_call(t, FUSE_RENAME, d, &r1, sizeof(r1), TF_S("x"), TF_S("b"), NULL) == 0);
	CHECK(u, tf_get_file(tf_path(t, "b"), buf, sizeof(buf)) == 1 && buf[0] == 'B');
	/* to a file as the new folder */
	r1.newdir = tf_node(t, ROOT, "b");
	CHECK(u, tf_call(t, FUSE_RENAME, ROOT, &r1, sizeof(r1), TF_S("b"), TF_S("z"), NULL) ==
		     -ENOTDIR);
	teardown(u, t);
}

static void t_symlink_readlink_link(struct unit *u)
{
	struct tf *t = setup(u);
	struct fuse_entry_out e, l;
	struct fuse_link_in li;
	char buf[64];
	struct stat st;

	if (!t)
		return;
	CHECK(u,
	      tf_call(t, FUSE_SYMLINK, ROOT, TF_S("ln"), TF_S("../x/y"), NULL) == (int)sizeof(e));
	memcpy(&e, t->body, sizeof(e));
	CHECK(u, S_ISLNK(e.attr.mode) && e.attr.size == 6);
	CHECK(u, readlink(tf_path(t, "ln"), buf, sizeof(buf)) == 6 && !memcmp(buf, "../x/y", 6));
	CHECK(u, tf_call(t, FUSE_READLINK, e.nodeid, NULL) == 6 && !memcmp(t->body, "../x/y", 6));
	CHECK(u, tf_call(t, FUSE_READLINK, ROOT, NULL) == -EINVAL);
	CHECK(u, tf_call(t, FUSE_SYMLINK, ROOT, TF_S("ln2"), TF_S(""), NULL) == -ENOENT);
	/* a hard link: the same node, one more lookup */
	CHECK(u, tf_put_file(tf_path(t, "f"), "x") == 0);
	CHECK(u, tf_lookup(t, ROOT, "f", &e) == 0);
	li.oldnodeid = e.nodeid;
	CHECK(u, tf_call(t, FUSE_LINK, ROOT, &li, sizeof(li), TF_S("g"), NULL) == (int)sizeof(l));
	memcpy(&l, t->body, sizeof(l));
	CHECK(u, l.nodeid == e.nodeid && l.attr.nlink == 2);
	CHECK(u, stat(tf_path(t, "g"), &st) == 0 && st.st_nlink == 2);
	CHECK(u, tf_forget(t, e.nodeid, 1) == TF_NOREPLY && tf_getattr(t, e.nodeid, NULL) == 0);
	li.oldnodeid = ROOT;
	CHECK(u, tf_call(t, FUSE_LINK, ROOT, &li, sizeof(li), TF_S("h"), NULL) == -EPERM);
	teardown(u, t);
}

static void t_mknod_fifo_statfs(struct unit *u)
{
	struct fuse_mknod_in mi = {.mode = S_IFIFO | 0644};
	struct fuse_statfs_out sf;
	struct tf *t = setup(u);
	struct fuse_entry_out e;
	struct statvfs vs;
	struct stat st;
	uint64_t fh;

	if (!t)
		return;
	CHECK(u, tf_call(t, FUSE_MKNOD, ROOT, &mi, sizeof(mi), TF_S("p"), NULL) == (int)sizeof(e));
	memcpy(&e, t->body, sizeof(e));
	CHECK(u, S_ISFIFO(e.attr.mode));
	CHECK(u, lstat(tf_path(t, "p"), &st) == 0 && S_ISFIFO(st.st_mode));
	/* never opened by the server: the guest's kernel owns FIFOs */
	CHECK(u, tf_open(t, FUSE_OPEN, e.nodeid, O_RDONLY, &fh, NULL) < 0);
	/* a regular file by mknod */
	mi.mode = S_IFREG | 0600;
	CHECK(u, tf_call(t, FUSE_MKNOD, ROOT, &mi, sizeof(mi), TF_S("r"), NULL) == (int)sizeof(e));
	CHECK(u, lstat(tf_path(t, "r"), &st) == 0 && S_ISREG(st.st_mode));
	mi.mode = S_IFDIR | 0700;
	CHECK(u, tf_call(t, FUSE_MKNOD, ROOT, &mi, sizeof(mi), TF_S("dd"), NULL) == -EINVAL);
	/* STATFS */
	CHECK(u, tf_call(t, FUSE_STATFS, ROOT, NULL) == (int)sizeof(sf));
	memcpy(&sf, t->body, sizeof(sf));
	CHECK(u, statvfs(t->share, &vs) == 0);
	CHECK(u, sf.st.blocks == vs.f_blocks && sf.st.bsize == vs.f_bsize &&
		     sf.st.namelen == vs.f_namemax && sf.st.files == vs.f_files);
	teardown(u, t);
}

static void t_xattrs(struct unit *u)
{
	struct fsrv_config c = drvfs("metadata");
	struct fuse_setxattr_in si = {.size = 5};
	struct fuse_getxattr_in gi = {0};
	struct fuse_getxattr_out go;
	struct fuse_entry_out e;
	struct tf *t = setup_cfg(u, &c);
	char x[8];
	uint64_t fh;
	bool lxs_seen = false;

	if (!t)
		return;
	t->uid = 1234;
	CHECK(u, tf_create(t, ROOT, "f", 0600, O_RDWR, &e, &fh) == 0);
	CHECK(u, e.attr.uid == 1234);
	CHECK(u, getxattr(tf_path(t, "f"), "user.lxs.uid", x, sizeof(x)) == 4);
	CHECK(u, tf_call(t, FUSE_SETXATTR, e.nodeid, &si, 8, TF_S("user.test"), "hello", 5, NULL) ==
		     0);
	CHECK(u,
	      getxattr(tf_path(t, "f"), "user.test", x, sizeof(x)) == 5 && !memcmp(x, "hello", 5));
	/* size first, then the value; too small a size is ERANGE */
	CHECK(u, tf_call(t, FUSE_GETXATTR, e.nodeid, &gi, sizeof(gi), TF_S("user.test"), NULL) ==
		     (int)sizeof(go));
	memcpy(&go, t->body, sizeof(go));
	CHECK(u, go.size == 5);
	gi.size = 5;
	CHECK(u,
	      tf_call(t, FUSE_GETXATTR, e.nodeid, &gi, sizeof(gi), TF_S("user.test"), NULL) == 5 &&
		  !memcmp(t->body, "hello", 5));
	gi.size = 4;
	CHECK(u, tf_call(t, FUSE_GETXATTR, e.nodeid, &gi, sizeof(gi), TF_S("user.test"), NULL) ==
		     -ERANGE);
	CHECK(u, tf_call(t, FUSE_GETXATTR, e.nodeid, &gi, sizeof(gi), TF_S("user.none"), NULL) ==
		     -ENODATA);
	/* the server's own are hidden and protected */
	gi.size = 64;
	CHECK(u, tf_call(t, FUSE_GETXATTR, e.nodeid, &gi, sizeof(gi), TF_S("user.lxs.uid"), NULL) ==
		     -ENODATA);
	CHECK(u, tf_call(t, FUSE_SETXATTR, e.nodeid, &si, 8, TF_S("user.lxs.mode"), "hello", 5,
			 NULL) == -EPERM);
	CHECK(u, tf_call(t, FUSE_REMOVEXATTR, e.nodeid, TF_S("user.lxs.uid"), NULL) == -EPERM);
	gi.size = 0;
	CHECK(u, tf_call(t, FUSE_LISTXATTR, e.nodeid, &gi, sizeof(gi), NULL) == (int)sizeof(go));
	memcpy(&go, t->body, sizeof(go));
	CHECK(u, go.size == sizeof("user.test"));
	gi.size = go.size;
	CHECK(u, tf_call(t, FUSE_LISTXATTR, e.nodeid, &gi, sizeof(gi), NULL) ==
		     (int)sizeof("user.test"));
	for (size_t i = 0; i < t->blen; i += strlen((const char *)t->body + i) + 1)
		lxs_seen |= !strncmp((const char *)t->body + i, "user.lxs.", 9);
	CHECK(u, !lxs_seen && !strcmp((const char *)t->body, "user.test"));
	gi.size = 3;
	CHECK(u, tf_call(t, FUSE_LISTXATTR, e.nodeid, &gi, sizeof(gi), NULL) == -ERANGE);
	/* create and replace flags */
	si.flags = XATTR_CREATE;
	CHECK(u, tf_call(t, FUSE_SETXATTR, e.nodeid, &si, 8, TF_S("user.test"), "HELLO", 5, NULL) ==
		     -EEXIST);
	CHECK(u, tf_call(t, FUSE_REMOVEXATTR, e.nodeid, TF_S("user.test"), NULL) == 0);
	CHECK(u, getxattr(tf_path(t, "f"), "user.test", x, sizeof(x)) < 0 && errno == ENODATA);
	CHECK(u, tf_call(t, FUSE_REMOVEXATTR, e.nodeid, TF_S("user.test"), NULL) == -ENODATA);
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	teardown(u, t);
}

static void t_setattr(struct unit *u)
{
	struct fsrv_config c = drvfs("metadata");
	struct fuse_setattr_in si;
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	struct tf *t = setup_cfg(u, &c);
	struct stat st, before;
	uint64_t fh;

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "f"), "0123456789") == 0);
	CHECK(u, stat(tf_path(t, "f"), &before) == 0);
	CHECK(u, tf_lookup(t, ROOT, "f", &e) == 0);
	/* size, by path */
	memset(&si, 0, sizeof(si));
	si.valid = FATTR_SIZE;
	si.size = 4;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) == (int)sizeof(ao));
	memcpy(&ao, t->body, sizeof(ao));
	CHECK(u, ao.attr.size == 4 && stat(tf_path(t, "f"), &st) == 0 && st.st_size == 4);
	/* size, by an open handle */
	CHECK(u, tf_open(t, FUSE_OPEN, e.nodeid, O_RDWR, &fh, NULL) == 0);
	si.valid = FATTR_SIZE | FATTR_FH;
	si.fh = fh;
	si.size = 2;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) == (int)sizeof(ao));
	CHECK(u, stat(tf_path(t, "f"), &st) == 0 && st.st_size == 2);
	si.fh = fh ^ (1ull << 40);
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) == -EBADF);
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	/* mode and owner under metadata: kept in xattrs, the host's own untouched */
	memset(&si, 0, sizeof(si));
	si.valid = FATTR_MODE | FATTR_UID | FATTR_GID;
	si.mode = S_IFREG | 04711;
	si.uid = 5;
	si.gid = 6;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) == (int)sizeof(ao));
	memcpy(&ao, t->body, sizeof(ao));
	CHECK(u, ao.attr.mode == (S_IFREG | 04711) && ao.attr.uid == 5 && ao.attr.gid == 6);
	CHECK(u,
	      stat(tf_path(t, "f"), &st) == 0 && (st.st_mode & 07777) == (before.st_mode & 07777));
	/* times: given, and now */
	memset(&si, 0, sizeof(si));
	si.valid = FATTR_ATIME | FATTR_MTIME;
	si.atime = 1000000;
	si.atimensec = 5;
	si.mtime = 2000000;
	si.mtimensec = 7;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) == (int)sizeof(ao));
	CHECK(u, stat(tf_path(t, "f"), &st) == 0 && st.st_atim.tv_sec == 1000000 &&
		     st.st_atim.tv_nsec == 5 && st.st_mtim.tv_sec == 2000000 &&
		     st.st_mtim.tv_nsec == 7);
	si.valid = FATTR_MTIME | FATTR_MTIME_NOW;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) == (int)sizeof(ao));
	CHECK(u, stat(tf_path(t, "f"), &st) == 0 && st.st_mtim.tv_sec > time(NULL) - 60 &&
		     st.st_atim.tv_sec == 1000000);
	si.valid = FATTR_ATIME;
	si.atimensec = 1000000000;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) == -EINVAL);
	si.valid = 1u << 20;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) == -EINVAL);
	/* a folder's size */
	si.valid = FATTR_SIZE;
	CHECK(u, tf_call(t, FUSE_SETATTR, ROOT, &si, sizeof(si), NULL) == -EISDIR);
	teardown(u, t);
}

/* The mode the guest sees for node n, or 0. */
static uint32_t mode_of(struct tf *t, uint64_t n)
{
	struct fuse_attr a;

	return tf_getattr(t, n, &a) == 0 ? a.mode : 0;
}

static int set_mode(struct tf *t, uint64_t n, uint32_t mode)
{
	struct fuse_setattr_in si = {.valid = FATTR_MODE, .mode = S_IFREG | mode};

	return tf_call(t, FUSE_SETATTR, n, &si, sizeof(si), NULL) > 0 ? 0 : -1;
}

/*
 * HANDLE_KILLPRIV_V2: set-id bits go where the kernel flags it (a write,
 * truncation or O_TRUNC open by a process without CAP_FSETID, a chown),
 * and only there; set-group-ID only when group-executable.
 */
static void t_kill_suidgid(struct unit *u)
{
	struct fsrv_config c = drvfs("metadata");
	struct tf *t = setup_cfg(u, &c);
	struct fuse_setattr_in si;
	struct fuse_entry_out e;
	uint64_t fh;

	if (!t)
		return;
	CHECK(u, tf_create(t, ROOT, "f", 0755, O_RDWR | O_EXCL, &e, &fh) == 0);
	/* a write without the flag (a root writer) keeps them */
	CHECK(u, set_mode(t, e.nodeid, 06755) == 0 && mode_of(t, e.nodeid) == (S_IFREG | 06755));
	CHECK(u, tf_write(t, fh, 0, "x", 1) == 1);
	CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 06755));
	{
		struct fuse_write_in wi = {
		    .fh = fh, .size = 1, .write_flags = FUSE_WRITE_KILL_SUIDGID};

		CHECK(u, tf_call(t, FUSE_WRITE, 0, &wi, sizeof(wi), "y", (size_t)1, NULL) ==
			     (int)sizeof(struct fuse_write_out));
	}
	CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 0755));
	/* set-group-ID without group execute is mandatory locking's mark: kept */
	CHECK(u, set_mode(t, e.nodeid, 06745) == 0);
	{
		struct fuse_write_in wi = {
		    .fh = fh, .size = 1, .write_flags = FUSE_WRITE_KILL_SUIDGID};

		CHECK(u, tf_call(t, FUSE_WRITE, 0, &wi, sizeof(wi), "z", (size_t)1, NULL) ==
			     (int)sizeof(struct fuse_write_out));
	}
	CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 02745));
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	/* chown: the kernel sends no mode and asks */
	CHECK(u, set_mode(t, e.nodeid, 04750) == 0);
	memset(&si, 0, sizeof(si));
	si.valid = FATTR_UID | FATTR_GID;
	si.uid = 7;
	si.gid = 8;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) > 0);
	CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 04750)); /* not asked: kept */
	si.valid |= FATTR_KILL_SUIDGID;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) > 0);
	CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 0750));
	/* ... but a mode sent with it is the guest's own choice */
	si.valid |= FATTR_MODE;
	si.mode = S_IFREG | 04711;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) > 0);
	CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 04711));
	/* truncation */
	memset(&si, 0, sizeof(si));
	si.valid = FATTR_SIZE | FATTR_KILL_SUIDGID;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) > 0);
	CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 0711));
	/* OPEN with O_TRUNC, and CREATE of an existing file with O_TRUNC; not without O_TRUNC */
	{
		struct fuse_open_in oi = {.flags = O_WRONLY, .open_flags = FUSE_OPEN_KILL_SUIDGID};
		struct fuse_create_in ci = {.flags = O_WRONLY | O_CREAT | O_TRUNC,
					    .mode = S_IFREG | 0600,
					    .open_flags = FUSE_OPEN_KILL_SUIDGID};

		CHECK(u, set_mode(t, e.nodeid, 06711) == 0);
		CHECK(u, tf_call(t, FUSE_OPEN, e.nodeid, &oi, sizeof(oi), NULL) ==
			     (int)sizeof(struct fuse_open_out));
		CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 06711));
		oi.flags |= O_TRUNC;
		CHECK(u, tf_call(t, FUSE_OPEN, e.nodeid, &oi, sizeof(oi), NULL) ==
			     (int)sizeof(struct fuse_open_out));
		CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 0711));
		CHECK(u, set_mode(t, e.nodeid, 04711) == 0);
		CHECK(u, tf_call(t, FUSE_CREATE, ROOT, &ci, sizeof(ci), TF_S("f"), NULL) > 0);
		CHECK(u, mode_of(t, e.nodeid) == (S_IFREG | 0711));
	}
	/* a folder keeps its set-group-ID (inheritance) */
	CHECK(u, tf_mkdir(t, ROOT, "d", 02775, &e) == 0);
	memset(&si, 0, sizeof(si));
	si.valid = FATTR_UID | FATTR_KILL_SUIDGID;
	si.uid = 9;
	CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) > 0);
	CHECK(u, mode_of(t, e.nodeid) == (S_IFDIR | 02775));
	teardown(u, t);
}

static void t_lseek_fallocate_copy(struct unit *u)
{
	struct fuse_fallocate_in fa = {0};
	struct fuse_lseek_in ls = {0};
	struct fuse_copy_file_range_in cr = {0};
	struct fuse_entry_out e, e2;
	struct tf *t = setup(u);
	uint64_t fh, fh2, got;
	char buf[64];
	struct stat st;

	if (!t)
		return;
	CHECK(u, tf_create(t, ROOT, "sparse", 0644, O_RDWR, &e, &fh) == 0);
	CHECK(u, tf_write(t, fh, 1u << 20, "data", 4) == 4);
	ls.fh = fh;
	ls.whence = SEEK_DATA;
	CHECK(u, tf_call(t, FUSE_LSEEK, e.nodeid, &ls, sizeof(ls), NULL) == 8);
	memcpy(&got, t->body, 8);
	CHECK(u, got > 0 && got <= 1u << 20); /* a hole first, as far as the host can tell */
	ls.whence = SEEK_HOLE;
	ls.offset = 1u << 20;
	CHECK(u, tf_call(t, FUSE_LSEEK, e.nodeid, &ls, sizeof(ls), NULL) == 8);
	memcpy(&got, t->body, 8);
	CHECK(u, got == (1u << 20) + 4);
	ls.whence = SEEK_DATA;
	ls.offset = 2u << 20;
	CHECK(u, tf_call(t, FUSE_LSEEK, e.nodeid, &ls, sizeof(ls), NULL) == -ENXIO);
	ls.whence = SEEK_SET;
	CHECK(u, tf_call(t, FUSE_LSEEK, e.nodeid, &ls, sizeof(ls), NULL) == -EINVAL);
	/* FALLOCATE: grows, keeps size, punches */
	fa.fh = fh;
	fa.offset = 0;
	fa.length = 3u << 20;
	CHECK(u, tf_call(t, FUSE_FALLOCATE, e.nodeid, &fa, sizeof(fa), NULL) == 0);
	CHECK(u, stat(tf_path(t, "sparse"), &st) == 0 && st.st_size == 3 << 20);
	fa.mode = FALLOC_FL_KEEP_SIZE;
	fa.length = 4u << 20;
	CHECK(u, tf_call(t, FUSE_FALLOCATE, e.nodeid, &fa, sizeof(fa), NULL) == 0);
	CHECK(u, stat(tf_path(t, "sparse"), &st) == 0 && st.st_size == 3 << 20);
	fa.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	fa.offset = 1u << 20;
	fa.length = 4096;
	CHECK(u, tf_call(t, FUSE_FALLOCATE, e.nodeid, &fa, sizeof(fa), NULL) == 0);
	CHECK(u, tf_read(t, fh, 1u << 20, 4) == 4 && !memcmp(t->body, "\0\0\0\0", 4));
	fa.mode = FALLOC_FL_COLLAPSE_RANGE;
	CHECK(u, tf_call(t, FUSE_FALLOCATE, e.nodeid, &fa, sizeof(fa), NULL) == -EOPNOTSUPP);
	/* COPY_FILE_RANGE */
	CHECK(u, tf_write(t, fh, 100, "copy me", 7) == 7);
	CHECK(u, tf_create(t, ROOT, "dst", 0644, O_RDWR, &e2, &fh2) == 0);
	cr.fh_in = fh;
	cr.off_in = 100;
	cr.nodeid_out = e2.nodeid;
	cr.fh_out = fh2;
	cr.off_out = 1;
	cr.len = 7;
	CHECK(u, tf_call(t, FUSE_COPY_FILE_RANGE, e.nodeid, &cr, sizeof(cr), NULL) == 8);
	memcpy(&got, t->body, 4);
	CHECK(u, (uint32_t)got == 7);
	CHECK(u, tf_get_file(tf_path(t, "dst"), buf, sizeof(buf)) == 8 &&
		     !memcmp(buf, "\0copy me", 8));
	cr.flags = 1;
	CHECK(u, tf_call(t, FUSE_COPY_FILE_RANGE, e.nodeid, &cr, sizeof(cr), NULL) == -EINVAL);
	cr.flags = 0;
	cr.fh_out = fh2 + 1;
	CHECK(u, tf_call(t, FUSE_COPY_FILE_RANGE, e.nodeid, &cr, sizeof(cr), NULL) == -EBADF);
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0 && tf_release(t, FUSE_RELEASE, fh2) == 0);
	teardown(u, t);
}

/* A 5 GiB sparse file read at its end: offsets past 32 bits all the way. */
static void t_big_sparse_file(struct unit *u)
{
	const uint64_t size = 5ull << 30;
	struct tf *t = setup(u);
	struct fuse_attr a;
	uint8_t page[4096];
	uint64_t node, fh;
	int fd;

	if (!t)
		return;
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i ^ 0x5a);
	fd = open(tf_path(t, "big"), O_RDWR | O_CREAT, 0644);
	CHECK(u, fd >= 0 && pwrite(fd, page, sizeof(page), (off_t)(size - 4096)) == 4096);
	if (fd >= 0)
		close(fd);
	node = tf_node(t, ROOT, "big");
	CHECK(u, tf_getattr(t, node, &a) == 0 && a.size == size);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY, &fh, NULL) == 0);
	CHECK(u, tf_read(t, fh, size - 4096, 4096) == 4096 && !memcmp(t->body, page, 4096));
	CHECK(u, tf_read(t, fh, size - 100, 4096) == 100 && !memcmp(t->body, page + 3996, 100));
	CHECK(u, tf_read(t, fh, 1ull << 32, 16) == 16 && !memcmp(t->body, "\0\0\0\0\0\0\0\0", 8));
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	teardown(u, t);
}

/* --- folders --------------------------------------------------------------- */

/* Parse a READDIRPLUS reply: call fn for each entry; the last entry's offset. */
static uint64_t walk_plus(struct unit *u, struct tf *t, size_t size,
			  void (*fn)(struct tf *, const struct fuse_direntplus *, void *),
			  void *arg, unsigned *count)
{
	uint64_t off = 0;

	for (size_t pos = 0; pos < t->blen;) {
		const struct fuse_direntplus *dp = (const void *)(t->body + pos);
		size_t rec;

		CHECK(u, t->blen - pos >= FUSE_NAME_OFFSET_DIRENTPLUS);
		if (t->blen - pos < FUSE_NAME_OFFSET_DIRENTPLUS)
			break;
		rec = FUSE_DIRENTPLUS_SIZE(dp);
		CHECK(u, rec <= t->blen - pos && dp->dirent.namelen > 0 &&
			     dp->dirent.namelen <= NAME_MAX);
		if (rec > t->blen - pos)
			break;
		fn(t, dp, arg);
		off = dp->dirent.off;
		pos += rec;
		(*count)++;
	}
	CHECK(u, t->blen <= size);
	return off;
}

struct names {
	struct unit *u;
	unsigned char *seen; /* per file index: times seen */
	unsigned dots, bad;
	uint64_t *nodes;
};

static void note_name(struct tf *t, const struct fuse_direntplus *dp, void *arg)
{
	struct names *n = arg;
	char name[NAME_MAX + 1];
	unsigned idx;

	(void)t;
	memcpy(name, dp->dirent.name, dp->dirent.namelen);
	name[dp->dirent.namelen] = 0;
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		n->dots++;
		if (dp->entry_out.nodeid != 0)
			n->bad++;
		return;
	}
	if (sscanf(name, "file%u", &idx) != 1 || idx >= 10000 || dp->entry_out.nodeid == 0 ||
	    dp->entry_out.attr.size != 1 || dp->dirent.type != DT_REG ||
	    dp->dirent.ino != dp->entry_out.attr.ino) {
		n->bad++;
		return;
	}
	n->seen[idx]++;
	if (n->nodes)
		n->nodes[idx] = dp->entry_out.nodeid;
}

static void t_readdirplus_10000(struct unit *u)
{
	struct fsrv_config c = drvfs(NULL);
	struct tf *t;
	struct names n = {.u = u};
	uint64_t dir, fh, off = 0;
	unsigned count = 0, rounds = 0, ones = 0;
	char name[32];
	int res;

	t = setup_cfg(u, &c);
	if (!t)
		return;
	n.seen = calloc(10000, 1);
	n.nodes = calloc(10000, sizeof(*n.nodes));
	CHECK(u, mkdir(tf_path(t, "big"), 0755) == 0);
	for (unsigned i = 0; i < 10000 && n.seen; i++) {
		snprintf(name, sizeof(name), "big/file%u", i);
		if (tf_put_file(tf_path(t, name), "x") != 0) {
			CHECK(u, !"made the files");
			break;
		}
	}
	dir = tf_node(t, ROOT, "big");
	/* Folders are listed by node, never opened (fsrv_op_opendir). */
	CHECK(u, tf_open(t, FUSE_OPENDIR, dir, O_RDONLY | O_DIRECTORY, &fh, NULL) == -ENOSYS);
	do {
		res = tf_readdir(t, FUSE_READDIRPLUS, dir, off, 4096);
		CHECK(u, res >= 0);
		if (res <= 0 || !n.seen)
			break;
		off = walk_plus(u, t, 4096, note_name, &n, &count);
	} while (++rounds < 100000);
	for (unsigned i = 0; n.seen && i < 10000; i++)
		ones += n.seen[i] == 1;
	CHECK(u, ones == 10000 && n.dots == 2 && n.bad == 0 && count == 10002);
	CHECK(u, rounds > 10); /* in pieces */
	/* each entry counted one lookup: one FORGET each ends them */
	if (n.nodes) {
		CHECK(u, tf_getattr(t, n.nodes[1234], NULL) == 0);
		CHECK(u, tf_forget(t, n.nodes[1234], 1) == TF_NOREPLY);
		CHECK(u, tf_getattr(t, n.nodes[1234], NULL) == -ENOENT);
	}
	/* a plain READDIR from the start again */
	CHECK(u, tf_readdir(t, FUSE_READDIR, dir, 0, 4096) > 0);
	free(n.seen);
	free(n.nodes);
	teardown(u, t);
}

static void t_readdir_small(struct unit *u)
{
	struct tf *t = setup(u);
	const struct fuse_dirent *d;
	unsigned names = 0;
	int res;

	if (!t)
		return;
	CHECK(u,
	      tf_put_file(tf_path(t, "one"), "1") == 0 && tf_put_file(tf_path(t, "two"), "2") == 0);
	CHECK(u, symlink("/etc", tf_path(t, "ln")) == 0);
	res = tf_readdir(t, FUSE_READDIR, ROOT, 0, 4096);
	CHECK(u, res > 0);
	for (size_t pos = 0; res > 0 && pos < t->blen; pos += FUSE_DIRENT_SIZE(d)) {
		d = (const void *)(t->body + pos);
		if (d->namelen == 2 && !memcmp(d->name, "ln", 2))
			CHECK(u, d->type == DT_LNK);
		names++;
	}
	CHECK(u, names == 5);
	/* a size that holds no entry */
	CHECK(u, tf_readdir(t, FUSE_READDIR, ROOT, 0, 8) == -EINVAL);
	/* fh 0 is no file's handle, and there are no folder handles to release */
	CHECK(u, tf_read(t, 0, 0, 10) == -EBADF);
	CHECK(u, tf_release(t, FUSE_RELEASE, 0) == -EBADF);
	CHECK(u, tf_release(t, FUSE_RELEASEDIR, 0) == -EBADF);
	/* a listing of a file, and FSYNCDIR of a folder by its node */
	CHECK(u, tf_readdir(t, FUSE_READDIR, tf_node(t, ROOT, "one"), 0, 4096) == -ENOTDIR);
	CHECK(u, tf_call(t, FUSE_FSYNCDIR, ROOT, &(struct fuse_fsync_in){0},
			 sizeof(struct fuse_fsync_in), NULL) == 0);
	teardown(u, t);
}

/* --- options, read-only, limits, caching ----------------------------------------- */

static void t_drvfs_options(struct unit *u)
{
	struct fsrv_config c = drvfs("uid=1234,gid=567,umask=077");
	struct fuse_entry_out e;
	struct hfs_opts o;
	struct tf *t = setup_cfg(u, &c);

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "f"), "x") == 0 && chmod(t->path, 0755) == 0);
	CHECK(u, tf_lookup(t, ROOT, "f", &e) == 0);
	CHECK(u, e.attr.uid == 1234 && e.attr.gid == 567 && e.attr.mode == (S_IFREG | 0700));
	/* chmod without metadata: succeeds, changes nothing */
	{
		struct fuse_setattr_in si = {.valid = FATTR_MODE, .mode = 0777};

		CHECK(u, tf_call(t, FUSE_SETATTR, e.nodeid, &si, sizeof(si), NULL) > 0);
		CHECK(u, tf_lookup(t, ROOT, "f", &e) == 0 && e.attr.mode == (S_IFREG | 0700));
	}
	/* new options: taken at the next INIT only */
	hfs_opts_default(&o);
	CHECK(u, hfs_opts_parse(&o, "uid=42,gid=43,fmask=0111") == 0);
	fsrv_set_opts(t->s, &o);
	CHECK(u, tf_lookup(t, ROOT, "f", &e) == 0 && e.attr.uid == 1234);
	CHECK(u, tf_call(t, FUSE_DESTROY, 0, NULL) == 0);
	CHECK(u, tf_init_req(t, 7, 41, 0, NULL) > 0);
	CHECK(u, tf_lookup(t, ROOT, "f", &e) == 0);
	CHECK(u, e.attr.uid == 42 && e.attr.gid == 43 && e.attr.mode == (S_IFREG | 0644));
	teardown(u, t);
}

static void t_metadata_owner(struct unit *u)
{
	struct fsrv_config c = drvfs("metadata");
	struct fuse_mknod_in mi = {.mode = S_IFCHR | 0620, .rdev = (uint32_t)makedev(4, 64)};
	struct fuse_entry_out e;
	struct tf *t = setup_cfg(u, &c);
	struct stat st;

	if (!t)
		return;
	t->uid = 321;
	t->gid = 654;
	CHECK(u, tf_mkdir(t, ROOT, "d", 0751, &e) == 0);
	CHECK(u, e.attr.uid == 321 && e.attr.gid == 654 && e.attr.mode == (S_IFDIR | 0751));
	CHECK(u, stat(tf_path(t, "d"), &st) == 0 && st.st_uid == getuid());
	/* a device: a plain host file that shows its type and numbers */
	CHECK(u,
	      tf_call(t, FUSE_MKNOD, ROOT, &mi, sizeof(mi), TF_S("tty"), NULL) == (int)sizeof(e));
	memcpy(&e, t->body, sizeof(e));
	CHECK(u, e.attr.mode == (S_IFCHR | 0620) && e.attr.rdev == (uint32_t)makedev(4, 64));
	CHECK(u, lstat(tf_path(t, "tty"), &st) == 0 && S_ISREG(st.st_mode));
	teardown(u, t);
}

static void t_read_only(struct unit *u)
{
	struct fsrv_config c = drvfs(NULL);
	struct fuse_setattr_in si = {.valid = FATTR_SIZE};
	struct fuse_setxattr_in xi = {.size = 1};
	struct fuse_mknod_in mi = {.mode = S_IFREG | 0644};
	struct fuse_rename_in ri = {.newdir = ROOT};
	struct fuse_fallocate_in fa = {.length = 1};
	struct fuse_link_in li;
	struct tf *t;
	uint64_t node, fh;

	c.read_only = true;
	t = setup_cfg(u, &c);
	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "f"), "ro") == 0);
	node = tf_node(t, ROOT, "f");
	li.oldnodeid = node;
	CHECK(u, tf_create(t, ROOT, "n", 0644, O_RDWR, NULL, &fh) == -EROFS);
	CHECK(u, tf_mkdir(t, ROOT, "d", 0755, NULL) == -EROFS);
	CHECK(u, tf_call(t, FUSE_MKNOD, ROOT, &mi, sizeof(mi), TF_S("m"), NULL) == -EROFS);
	CHECK(u, tf_call(t, FUSE_SYMLINK, ROOT, TF_S("s"), TF_S("f"), NULL) == -EROFS);
	CHECK(u, tf_call(t, FUSE_LINK, ROOT, &li, sizeof(li), TF_S("l"), NULL) == -EROFS);
	CHECK(u, tf_call(t, FUSE_UNLINK, ROOT, TF_S("f"), NULL) == -EROFS);
	CHECK(u, tf_call(t, FUSE_RMDIR, ROOT, TF_S("f"), NULL) == -EROFS);
	CHECK(u,
	      tf_call(t, FUSE_RENAME, ROOT, &ri, sizeof(ri), TF_S("f"), TF_S("g"), NULL) == -EROFS);
	CHECK(u, tf_call(t, FUSE_SETATTR, node, &si, sizeof(si), NULL) == -EROFS);
	CHECK(u, tf_call(t, FUSE_SETXATTR, node, &xi, 8, TF_S("user.a"), "x", 1, NULL) == -EROFS);
	CHECK(u, tf_call(t, FUSE_REMOVEXATTR, node, TF_S("user.a"), NULL) == -EROFS);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDWR, &fh, NULL) == -EROFS);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_WRONLY, &fh, NULL) == -EROFS);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY | O_TRUNC, &fh, NULL) == -EROFS);
	/* reading is fine */
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY, &fh, NULL) == 0);
	CHECK(u, tf_read(t, fh, 0, 10) == 2 && !memcmp(t->body, "ro", 2));
	CHECK(u, tf_write(t, fh, 0, "x", 1) == -EROFS);
	fa.fh = fh;
	CHECK(u, tf_call(t, FUSE_FALLOCATE, node, &fa, sizeof(fa), NULL) == -EROFS);
	{
		struct fuse_copy_file_range_in cr = {.fh_in = fh, .fh_out = fh, .len = 1};

		CHECK(u, tf_call(t, FUSE_COPY_FILE_RANGE, node, &cr, sizeof(cr), NULL) == -EROFS);
	}
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	CHECK(u, access(tf_path(t, "f"), F_OK) == 0);
	teardown(u, t);
}

static void t_limits(struct unit *u)
{
	struct fsrv_config c = drvfs(NULL);
	uint64_t fh[3];
	unsigned names = 0, bare = 0;
	struct tf *t;
	char name[16];

	c.max_nodes = 3;
	c.max_handles = 2;
	t = setup_cfg(u, &c);
	if (!t)
		return;
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		CHECK(u, tf_put_file(tf_path(t, name), "x") == 0);
	}
	CHECK(u, tf_node(t, ROOT, "f0") && tf_node(t, ROOT, "f1") && tf_node(t, ROOT, "f2"));
	CHECK(u, tf_lookup(t, ROOT, "f3", NULL) == -ENFILE);
	CHECK(u, tf_node(t, ROOT, "f0") != 0); /* one already held is fine */
	/* a forgotten node makes room */
	CHECK(u, tf_forget(t, tf_node(t, ROOT, "f2"), 2) == TF_NOREPLY);
	CHECK(u, tf_node(t, ROOT, "f3") != 0);
	/* past the node limit a listing still names every entry, some without attributes */
	CHECK(u, tf_readdir(t, FUSE_READDIRPLUS, ROOT, 0, 4096) > 0);
	for (size_t pos = 0; pos < t->blen;) {
		const struct fuse_direntplus *dp = (const void *)(t->body + pos);

		names++;
		bare += dp->entry_out.nodeid == 0;
		pos += FUSE_DIRENTPLUS_SIZE(dp);
	}
	CHECK(u, names == 7 && bare >= 3); /* ".", "..", and at least one file */
	CHECK(u, tf_open(t, FUSE_OPEN, tf_node(t, ROOT, "f0"), O_RDONLY, &fh[0], NULL) == 0);
	CHECK(u, tf_open(t, FUSE_OPEN, tf_node(t, ROOT, "f3"), O_RDONLY, &fh[1], NULL) == 0);
	CHECK(u, tf_open(t, FUSE_OPEN, tf_node(t, ROOT, "f1"), O_RDONLY, &fh[2], NULL) == -EMFILE);
	CHECK(u, tf_release(t, FUSE_RELEASE, fh[0]) == 0);
	CHECK(u, tf_open(t, FUSE_OPEN, tf_node(t, ROOT, "f1"), O_RDONLY, &fh[2], NULL) == 0);
	teardown(u, t);
}

static void t_keep_cache(struct unit *u)
{
	struct tf *t = setup(u);
	struct timespec ts[2] = {{.tv_sec = 1000}, {.tv_sec = 2000}};
	uint32_t of;
	uint64_t node, fh;

	if (!t)
		return;
	CHECK(u, tf_put_file(tf_path(t, "f"), "one") == 0);
	node = tf_node(t, ROOT, "f");
	/* first open: nothing to keep */
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDWR, &fh, &of) == 0 && !(of & FOPEN_KEEP_CACHE));
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY, &fh, &of) == 0 && (of & FOPEN_KEEP_CACHE));
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	/* the host changes it (even to the same size and an old mtime: ctime moves) */
	CHECK(u, tf_put_file(tf_path(t, "f"), "two") == 0);
	CHECK(u, utimensat(AT_FDCWD, t->path, ts, 0) == 0);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDWR, &fh, &of) == 0 && !(of & FOPEN_KEEP_CACHE));
	/* the guest's own writes do not count as changes */
	CHECK(u, tf_write(t, fh, 0, "three", 5) == 5);
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	CHECK(u, tf_open(t, FUSE_OPEN, node, O_RDONLY, &fh, &of) == 0 && (of & FOPEN_KEEP_CACHE));
	CHECK(u, tf_release(t, FUSE_RELEASE, fh) == 0);
	/* folders are not opened: the kernel keeps their listings, checked by mtime */
	CHECK(u, tf_open(t, FUSE_OPENDIR, ROOT, O_RDONLY, &fh, &of) == -ENOSYS);
	teardown(u, t);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_init_negotiation);
	RUN(&u, t_before_init_and_destroy);
	RUN(&u, t_unsupported_opcodes);
	RUN(&u, t_lookup_getattr);
	RUN(&u, t_hardlinks_one_node);
	RUN(&u, t_batch_forget);
	RUN(&u, t_create_write_read);
	RUN(&u, t_split_buffers);
	RUN(&u, t_mkdir_rmdir_unlink);
	RUN(&u, t_rename);
	RUN(&u, t_symlink_readlink_link);
	RUN(&u, t_mknod_fifo_statfs);
	RUN(&u, t_xattrs);
	RUN(&u, t_setattr);
	RUN(&u, t_kill_suidgid);
	RUN(&u, t_lseek_fallocate_copy);
	RUN(&u, t_big_sparse_file);
	RUN(&u, t_readdirplus_10000);
	RUN(&u, t_readdir_small);
	RUN(&u, t_drvfs_options);
	RUN(&u, t_metadata_owner);
	RUN(&u, t_read_only);
	RUN(&u, t_limits);
	RUN(&u, t_keep_cache);
	return unit_done(&u);
}
