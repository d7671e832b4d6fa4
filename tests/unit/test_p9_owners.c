/*
 * test_p9_owners.c - the 9P server's ownership modes other than DrvFs's
 * (enum hfs_owners, hostfs.h; DrvFs's are in test_p9.c): HFS_OWNERS_REAL, the
 * host's own owners and modes changed for real (needs root), and
 * HFS_OWNERS_VOLFS, a version-1 distro folder's user.lxs.stat attribute
 * (common/volfs.h) written and read as lxs-pico does, its xattr names
 * mapped as lxs-pico maps them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/volfs.h"
#include "test_p9_util.h"
#include "unit.h"

#define ROOT 0u

static struct tp *setup(struct unit *u, enum hfs_owners owners)
{
	struct tp *t = calloc(1, sizeof(*t));
	struct hfs_opts o;

	hfs_opts_default(&o);
	o.owners = owners;
	if (!t || tp_init(t, &o) != 0) {
		CHECK(u, !"scratch share set up");
		return NULL;
	}
	return t;
}

static void teardown(struct unit *u, struct tp *t)
{
	if (t)
		CHECK(u, tp_fini(t) == 0); /* nothing outside the share touched */
	free(t);
}

static int setattr(struct tpc *cl, uint32_t fid, uint32_t valid, uint32_t mode, uint32_t uid,
		   uint32_t gid)
{
	return tp_ok(tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", fid, valid, mode, uid, gid, (uint64_t)0,
			     (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0),
		     P9_RSETATTR);
}

/* Set xattr name of fid to val through the guest's calls (val "" removes). */
static int xset(struct tpc *cl, uint32_t fid, const char *name, const char *val)
{
	size_t n = strlen(val);
	int r;

	if ((r = tp_walk(cl, fid, 99, "")) < 0)
		return r;
	r = tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 99u, name, (uint64_t)n, 0u);
	if (r != P9_RXATTRCREATE) {
		tp_clunk(cl, 99);
		return r < 0 ? r : -EPROTO;
	}
	if (n && tp_write(cl, 99, 0, val, (uint32_t)n) != (int)n) {
		tp_clunk(cl, 99);
		return -EIO;
	}
	return tp_clunk(cl, 99);
}

/* Get xattr name of fid ("" for the list) into buf; its length or -errno. */
static int xget(struct tpc *cl, uint32_t fid, const char *name, char *buf, size_t size)
{
	int r = tpc_rpc(cl, P9_TXATTRWALK, "dds", fid, 98u, name), n;

	if (r != P9_RXATTRWALK)
		return r < 0 ? r : -EPROTO;
	n = (int)rd64(cl);
	if ((size_t)n >= size || tp_read(cl, 98, 0, (uint32_t)n, buf) != n)
		n = -EIO;
	else
		buf[n] = 0;
	tp_clunk(cl, 98);
	return n;
}

/* Is name one of the names in the listxattr result l[0..n)? */
static int listed(const char *l, int n, const char *name)
{
	for (int i = 0; i < n; i += (int)strlen(l + i) + 1)
		if (!strcmp(l + i, name))
			return 1;
	return 0;
}

/* The host file's user.lxs.stat, parsed; -1 if it has none. */
static int host_meta(const char *path, struct lxs_meta *m)
{
	char v[LXS_META_MAX];
	ssize_t n = lgetxattr(path, LXS_META_XATTR, v, sizeof(v));

	return n > 0 && lxs_meta_parse(v, n, m) == 0 ? 0 : -1;
}

static int meta_is(const char *path, unsigned uid, unsigned gid, unsigned mode, unsigned major,
		   unsigned minor)
{
	struct lxs_meta m;

	return host_meta(path, &m) == 0 && m.uid == uid && m.gid == gid && m.mode == mode &&
	       m.major == major && m.minor == minor;
}

static int put_meta(const char *path, const char *v)
{
	return lsetxattr(path, LXS_META_XATTR, v, strlen(v), 0);
}

/* --- HFS_OWNERS_REAL ---------------------------------------------------------- */

static void t_real_attrs(struct unit *u)
{
	struct tp *t = setup(u, HFS_OWNERS_REAL);
	struct tpc *cl;
	struct tp_attr a;
	struct stat st;
	char buf[256];
	int n;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_put_file(tp_path(t, "f"), "x") == 0);
	CHECK(u, chown(tp_path(t, "f"), 123, 456) == 0 && chmod(tp_path(t, "f"), 0640) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1 && tp_getattr(cl, 1, &a) == 0);
	CHECK(u, a.uid == 123 && a.gid == 456 && a.mode == (S_IFREG | 0640));
	/* chown and chmod at once: both, the mode as sent (chown clears set-user-ID) */
	CHECK(u,
	      setattr(cl, 1, P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID, 04750, 7, 8) == 0);
	CHECK(u, lstat(tp_path(t, "f"), &st) == 0);
	CHECK(u, st.st_uid == 7 && st.st_gid == 8 && (st.st_mode & 07777) == 04750);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.mode == (S_IFREG | 04750) && a.uid == 7);
	CHECK(u, setattr(cl, 1, P9_SETATTR_GID, 0, 0, 9) == 0);
	CHECK(u, lstat(tp_path(t, "f"), &st) == 0 && st.st_uid == 7 && st.st_gid == 9);
	/* a symlink: its own owner changes, never its target's; no chmod, as Linux */
	CHECK(u, symlink("f", tp_path(t, "l")) == 0);
	CHECK(u, tp_walk(cl, ROOT, 2, "l") == 1);
	CHECK(u, setattr(cl, 2, P9_SETATTR_UID | P9_SETATTR_GID, 0, 11, 12) == 0);
	CHECK(u, lstat(tp_path(t, "l"), &st) == 0 && st.st_uid == 11 && st.st_gid == 12);
	CHECK(u, lstat(tp_path(t, "f"), &st) == 0 && st.st_uid == 7);
	CHECK(u, setattr(cl, 2, P9_SETATTR_MODE, 0600, 0, 0) == -EOPNOTSUPP);
	CHECK(u, tp_getattr(cl, 2, &a) == 0 && a.uid == 11 && S_ISLNK(a.mode));
	/* every xattr as the host has it, ours not hidden: nothing is ours here */
	CHECK(u, setxattr(tp_path(t, "f"), "user.lxs.uid", "\1\0\0\0", 4, 0) == 0);
	CHECK(u, xget(cl, 1, "user.lxs.uid", buf, sizeof(buf)) == 4);
	CHECK(u, xset(cl, 1, "trusted.t", "v") == 0);
	CHECK(u, getxattr(tp_path(t, "f"), "trusted.t", buf, sizeof(buf)) == 1);
	CHECK(u, xset(cl, 1, "user.lxs.mode", "m") == 0);
	n = xget(cl, 1, "", buf, sizeof(buf));
	CHECK(u, n > 0 && listed(buf, n, "user.lxs.uid") && listed(buf, n, "trusted.t") &&
		     listed(buf, n, "user.lxs.mode"));
	teardown(u, t);
}

static void t_real_create(struct unit *u)
{
	struct tp *t = setup(u, HFS_OWNERS_REAL);
	struct tpc *cl;
	struct tp_attr a;
	struct stat st;
	mode_t old = umask(077); /* the server's umask must take nothing away */

	if (!t)
		goto out;
	cl = &t->cl;
	/* what a user creates is theirs: attach as uid 4321 */
	CHECK(u, tpc_rpc(cl, P9_TATTACH, "ddssd", 10u, P9_NOFID, "", "", 4321u) == P9_RATTACH);
	CHECK(u, tpc_rpc(cl, P9_TMKDIR, "dsdd", 10u, "d", 02775u, 77u) == P9_RMKDIR);
	CHECK(u, lstat(tp_path(t, "d"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(u, st.st_uid == 4321 && st.st_gid == 77 && (st.st_mode & 07777) == 02775);
	CHECK(u, tp_walk(cl, 10, 11, "") == 0);
	CHECK(u, tpc_rpc(cl, P9_TLCREATE, "dsddd", 11u, "n", P9_DOTL_RDWR, 04755u, 78u) ==
		     P9_RLCREATE);
	CHECK(u, lstat(tp_path(t, "n"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK(u, st.st_uid == 4321 && st.st_gid == 78 && (st.st_mode & 07777) == 04755);
	CHECK(u, tp_getattr(cl, 11, &a) == 0 && a.uid == 4321 && a.mode == (S_IFREG | 04755));
	CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dssd", 10u, "l", "n", 79u) == P9_RSYMLINK);
	CHECK(u, lstat(tp_path(t, "l"), &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(u, st.st_uid == 4321 && st.st_gid == 79);
	/* real devices, FIFOs and sockets */
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "null", S_IFCHR | 0620u, 1u, 3u, 5u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "null"), &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(u, st.st_rdev == makedev(1, 3) && st.st_uid == 4321 && st.st_gid == 5);
	CHECK(u, (st.st_mode & 07777) == 0620);
	CHECK(u, tp_walk(cl, 10, 12, "null") == 1 && tp_getattr(cl, 12, &a) == 0);
	CHECK(u, a.mode == (S_IFCHR | 0620) && a.rdev == makedev(1, 3) && a.gid == 5);
	CHECK(u, tp_lopen(cl, 12, P9_DOTL_RDONLY) == -EOPNOTSUPP); /* the guest's to open */
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "blk", S_IFBLK | 0600u, 7u, 0u, 6u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "blk"), &st) == 0 && S_ISBLK(st.st_mode));
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "fifo", S_IFIFO | 0666u, 0u, 0u, 6u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(u, (st.st_mode & 07777) == 0666 && st.st_uid == 4321 && st.st_gid == 6);
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "sock", S_IFSOCK | 0600u, 0u, 0u, 6u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "sock"), &st) == 0 && S_ISSOCK(st.st_mode));
	/* chmod of a FIFO is real too */
	CHECK(u, tp_walk(cl, 10, 13, "fifo") == 1 &&
		     setattr(cl, 13, P9_SETATTR_MODE, 0600, 0, 0) == 0);
	CHECK(u, lstat(tp_path(t, "fifo"), &st) == 0 && (st.st_mode & 07777) == 0600);
	teardown(u, t);
out:
	umask(old);
}

/* --- HFS_OWNERS_VOLFS --------------------------------------------------------- */

static void t_volfs_attrs(struct unit *u)
{
	struct tp *t = setup(u, HFS_OWNERS_VOLFS);
	char p[160];
	struct tpc *cl;
	struct tp_attr a;
	struct stat st;

	if (!t)
		return;
	cl = &t->cl;
	/* no attribute: 0:0 and the host's mode */
	CHECK(u, tp_put_file(tp_path(t, "f"), "x") == 0 && chmod(tp_path(t, "f"), 0644) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1 && tp_getattr(cl, 1, &a) == 0);
	CHECK(u, a.uid == 0 && a.gid == 0 && a.mode == (S_IFREG | 0644));
	CHECK(u, tp_getattr(cl, ROOT, &a) == 0 && a.uid == 0 && S_ISDIR(a.mode));
	/* chown: the attribute; the host's owner stays */
	CHECK(u, setattr(cl, 1, P9_SETATTR_UID | P9_SETATTR_GID, 0, 1000, 1000) == 0);
	CHECK(u, meta_is(tp_path(t, "f"), 1000, 1000, S_IFREG | 0644, 0, 0));
	CHECK(u, lstat(tp_path(t, "f"), &st) == 0 && st.st_uid == getuid());
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.uid == 1000 && a.gid == 1000);
	/* chmod: the attribute, and the host's bits with u+rw (lxs_host_perm) */
	CHECK(u, setattr(cl, 1, P9_SETATTR_MODE, 0404, 0, 0) == 0);
	CHECK(u, meta_is(tp_path(t, "f"), 1000, 1000, S_IFREG | 0404, 0, 0));
	CHECK(u, lstat(tp_path(t, "f"), &st) == 0 && (st.st_mode & 07777) == 0604);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.mode == (S_IFREG | 0404));
	/* set-user-ID: kept in the attribute only; a chown takes it away */
	CHECK(u, setattr(cl, 1, P9_SETATTR_MODE, 04755, 0, 0) == 0);
	CHECK(u, lstat(tp_path(t, "f"), &st) == 0 && (st.st_mode & 07777) == 0755);
	CHECK(u, setattr(cl, 1, P9_SETATTR_UID, 0, 0, 0) == 0);
	CHECK(u, meta_is(tp_path(t, "f"), 0, 1000, S_IFREG | 0755, 0, 0));
	/* back to what the host says by itself: no attribute at all */
	CHECK(u, setattr(cl, 1, P9_SETATTR_GID | P9_SETATTR_MODE, 0644, 0, 0) == 0);
	CHECK(u, lgetxattr(tp_path(t, "f"), LXS_META_XATTR, p, sizeof(p)) < 0 && errno == ENODATA);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.uid == 0 && a.mode == (S_IFREG | 0644));
	/* an archive's FIFO and device: placeholders reporting the attribute's type */
	CHECK(u, tp_put_file(tp_path(t, "pipe"), "") == 0 &&
		     put_meta(tp_path(t, "pipe"), "0:0:10644:0:0") == 0);
	CHECK(u, tp_walk(cl, ROOT, 2, "pipe") == 1 && tp_getattr(cl, 2, &a) == 0);
	CHECK(u, a.mode == (S_IFIFO | 0644) && a.uid == 0);
	CHECK(u, tp_put_file(tp_path(t, "tty"), "") == 0 &&
		     put_meta(tp_path(t, "tty"), "0:5:20620:136:0") == 0);
	CHECK(u, tp_walk(cl, ROOT, 3, "tty") == 1 && tp_getattr(cl, 3, &a) == 0);
	CHECK(u, a.mode == (S_IFCHR | 0620) && a.gid == 5 && a.rdev == makedev(136, 0));
	/* chmod keeps the stored type, and the placeholder's host bits 0600 */
	CHECK(u, setattr(cl, 3, P9_SETATTR_MODE, 0666, 0, 0) == 0);
	CHECK(u, meta_is(tp_path(t, "tty"), 0, 5, S_IFCHR | 0666, 136, 0));
	CHECK(u, lstat(tp_path(t, "tty"), &st) == 0 && (st.st_mode & 07777) == 0600);
	/* an attribute naming another type than the host object's is not believed */
	CHECK(u, mkdir(tp_path(t, "dir"), 0755) == 0 &&
		     put_meta(tp_path(t, "dir"), "3:4:100700:0:0") == 0);
	CHECK(u, tp_walk(cl, ROOT, 4, "dir") == 1 && tp_getattr(cl, 4, &a) == 0);
	CHECK(u, a.mode == (S_IFDIR | 0700) && a.uid == 3 && a.gid == 4);
	/* nor a malformed one */
	CHECK(u, put_meta(tp_path(t, "dir"), "3:4:9:0:0") == 0);
	CHECK(u, tp_getattr(cl, 4, &a) == 0 && a.mode == (S_IFDIR | 0755) && a.uid == 0);
	/* a symlink: 0:0, chown does nothing, chmod is refused as Linux does */
	CHECK(u, symlink("f", tp_path(t, "l")) == 0);
	CHECK(u, tp_walk(cl, ROOT, 5, "l") == 1);
	CHECK(u, setattr(cl, 5, P9_SETATTR_UID, 0, 9, 0) == 0);
	CHECK(u, setattr(cl, 5, P9_SETATTR_MODE, 0600, 0, 0) == -EOPNOTSUPP);
	CHECK(u, tp_getattr(cl, 5, &a) == 0 && a.uid == 0 && S_ISLNK(a.mode));
	teardown(u, t);
}

static void t_volfs_create(struct unit *u)
{
	struct tp *t = setup(u, HFS_OWNERS_VOLFS);
	char v[LXS_META_MAX];
	struct tpc *cl;
	struct tp_attr a;
	struct stat st;
	mode_t old = umask(077); /* the server's umask must take nothing away */

	if (!t)
		goto out;
	cl = &t->cl;
	CHECK(u, tpc_rpc(cl, P9_TATTACH, "ddssd", 10u, P9_NOFID, "", "", 1000u) == P9_RATTACH);
	/* a user's folder: theirs in the attribute, the host's bits as asked */
	CHECK(u, tpc_rpc(cl, P9_TMKDIR, "dsdd", 10u, "d", 0755u, 1000u) == P9_RMKDIR);
	CHECK(u, lstat(tp_path(t, "d"), &st) == 0 && (st.st_mode & 07777) == 0755);
	CHECK(u, meta_is(tp_path(t, "d"), 1000, 1000, S_IFDIR | 0755, 0, 0));
	CHECK(u, tp_walk(cl, 10, 11, "d") == 1 && tp_getattr(cl, 11, &a) == 0);
	CHECK(u, a.mode == (S_IFDIR | 0755) && a.uid == 1000 && a.gid == 1000);
	/* a file the host could not give these bits: u+rw on the host */
	CHECK(u, tp_walk(cl, 10, 12, "") == 0);
	CHECK(u, tpc_rpc(cl, P9_TLCREATE, "dsddd", 12u, "f", P9_DOTL_RDWR, 0440u, 100u) ==
		     P9_RLCREATE);
	CHECK(u, lstat(tp_path(t, "f"), &st) == 0 && (st.st_mode & 07777) == 0640);
	CHECK(u, meta_is(tp_path(t, "f"), 1000, 100, S_IFREG | 0440, 0, 0));
	CHECK(u, tp_getattr(cl, 12, &a) == 0 && a.mode == (S_IFREG | 0440) && a.gid == 100);
	CHECK(u, tp_write(cl, 12, 0, "data", 4) == 4); /* the open fid writes as asked */
	/* root's file with the host's own bits needs no attribute (as lxs-pico) */
	CHECK(u, tp_walk(cl, ROOT, 13, "") == 0);
	CHECK(u,
	      tpc_rpc(cl, P9_TLCREATE, "dsddd", 13u, "r", P9_DOTL_RDWR, 0644u, 0u) == P9_RLCREATE);
	CHECK(u, lstat(tp_path(t, "r"), &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(u, lgetxattr(tp_path(t, "r"), LXS_META_XATTR, v, sizeof(v)) < 0 && errno == ENODATA);
	CHECK(u, tpc_rpc(cl, P9_TMKDIR, "dsdd", ROOT, "ro", 0500u, 0u) == P9_RMKDIR);
	CHECK(u, lstat(tp_path(t, "ro"), &st) == 0 && (st.st_mode & 07777) == 0700);
	CHECK(u, meta_is(tp_path(t, "ro"), 0, 0, S_IFDIR | 0500, 0, 0));
	/* a device: an empty 0600 placeholder holding type and numbers */
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "tty", S_IFCHR | 0620u, 136u, 0u, 5u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "tty"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK(u, (st.st_mode & 07777) == 0600 && st.st_size == 0);
	/* the very text lxs-pico's do_mknod writes */
	CHECK(u, lgetxattr(tp_path(t, "tty"), LXS_META_XATTR, v, sizeof(v)) == 18);
	CHECK(u, !memcmp(v, "1000:5:20620:136:0", 18));
	CHECK(u, meta_is(tp_path(t, "tty"), 1000, 5, S_IFCHR | 0620, 136, 0));
	CHECK(u, tp_walk(cl, 10, 14, "tty") == 1 && tp_getattr(cl, 14, &a) == 0);
	CHECK(u, a.mode == (S_IFCHR | 0620) && a.rdev == makedev(136, 0) && a.uid == 1000);
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "sda", S_IFBLK | 0660u, 8u, 0u, 6u) ==
		     P9_RMKNOD);
	CHECK(u, meta_is(tp_path(t, "sda"), 1000, 6, S_IFBLK | 0660, 8, 0));
	/* a FIFO or socket made at run time is real, 0:0, with the bits asked */
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "fifo", S_IFIFO | 0664u, 0u, 0u, 5u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(u, (st.st_mode & 07777) == 0664);
	CHECK(u, tp_walk(cl, 10, 15, "fifo") == 1 && tp_getattr(cl, 15, &a) == 0);
	CHECK(u, a.mode == (S_IFIFO | 0664) && a.uid == 0 && a.gid == 0);
	CHECK(u, setattr(cl, 15, P9_SETATTR_UID, 0, 1000, 0) == 0); /* nowhere to keep it */
	CHECK(u, setattr(cl, 15, P9_SETATTR_MODE, 0600, 0, 0) == 0);
	CHECK(u, lstat(tp_path(t, "fifo"), &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "sock", S_IFSOCK | 0600u, 0u, 0u, 5u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "sock"), &st) == 0 && S_ISSOCK(st.st_mode));
	/* a plain file by mknod, as by create */
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "plain", 0600u, 0u, 0u, 5u) == P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "plain"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK(u, meta_is(tp_path(t, "plain"), 1000, 5, S_IFREG | 0600, 0, 0));
	/* a symlink is real and 0:0, whoever made it */
	CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dssd", 10u, "l", "f", 5u) == P9_RSYMLINK);
	CHECK(u, tp_walk(cl, 10, 16, "l") == 1 && tp_getattr(cl, 16, &a) == 0);
	CHECK(u, a.uid == 0 && a.gid == 0 && S_ISLNK(a.mode));
	teardown(u, t);
out:
	umask(old);
}

static void t_volfs_xattr(struct unit *u)
{
	struct tp *t = setup(u, HFS_OWNERS_VOLFS);
	struct tpc *cl;
	char buf[512];
	int n;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_put_file(tp_path(t, "f"), "") == 0);
	CHECK(u, put_meta(tp_path(t, "f"), "5:5:100600:0:0") == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1);
	/* user.* as it is */
	CHECK(u, xset(cl, 1, "user.test", "hello") == 0);
	CHECK(u, getxattr(tp_path(t, "f"), "user.test", buf, sizeof(buf)) == 5);
	CHECK(u, xget(cl, 1, "user.test", buf, sizeof(buf)) == 5 && !strcmp(buf, "hello"));
	/* the other namespaces under user.lxs.x. */
	CHECK(u, xset(cl, 1, "security.capability", "cap") == 0);
	CHECK(u,
	      getxattr(tp_path(t, "f"), "user.lxs.x.security.capability", buf, sizeof(buf)) == 3);
	CHECK(u, getxattr(tp_path(t, "f"), "security.capability", buf, sizeof(buf)) < 0);
	CHECK(u, xget(cl, 1, "security.capability", buf, sizeof(buf)) == 3 && !strcmp(buf, "cap"));
	CHECK(u, xset(cl, 1, "trusted.t", "tv") == 0);
	CHECK(u, getxattr(tp_path(t, "f"), "user.lxs.x.trusted.t", buf, sizeof(buf)) == 2);
	/* the list: the guest's names; user.lxs.stat and the rest of ours hidden */
	CHECK(u, setxattr(tp_path(t, "f"), "user.lxs.other", "o", 1, 0) == 0);
	n = xget(cl, 1, "", buf, sizeof(buf));
	CHECK(u, n == (int)(sizeof("user.test") + sizeof("security.capability") +
			    sizeof("trusted.t")));
	CHECK(u, listed(buf, n, "user.test") && listed(buf, n, "security.capability") &&
		     listed(buf, n, "trusted.t"));
	/* ours: not there to get, not the guest's to set or remove */
	CHECK(u, xget(cl, 1, LXS_META_XATTR, buf, sizeof(buf)) == -ENODATA);
	CHECK(u, xget(cl, 1, "user.lxs.x.trusted.t", buf, sizeof(buf)) == -ENODATA);
	CHECK(u, xset(cl, 1, LXS_META_XATTR, "0:0:100777:0:0") == -EPERM);
	CHECK(u, xset(cl, 1, "user.lxs.x.trusted.t", "") == -EPERM);
	CHECK(u, xset(cl, 1, "nons.x", "v") == -EOPNOTSUPP);
	/* remove, by the guest's name */
	CHECK(u, xset(cl, 1, "trusted.t", "") == 0);
	CHECK(u, getxattr(tp_path(t, "f"), "user.lxs.x.trusted.t", buf, sizeof(buf)) < 0 &&
		     errno == ENODATA);
	/* a device placeholder takes no user.* (Linux's rule for devices) */
	CHECK(u, tp_put_file(tp_path(t, "dev"), "") == 0 &&
		     put_meta(tp_path(t, "dev"), "0:0:20600:1:3") == 0);
	CHECK(u, tp_walk(cl, ROOT, 2, "dev") == 1);
	CHECK(u, xset(cl, 2, "user.x", "v") == -EPERM);
	CHECK(u, xget(cl, 2, "user.x", buf, sizeof(buf)) == -ENODATA);
	/* nor any other, all being user.* on the host (lxs-pico's do_xattr) */
	CHECK(u, xset(cl, 2, "security.selinux", "ctx") == -EPERM);
	teardown(u, t);
}

int main(void)
{
	struct unit u = {0};

	if (geteuid() == 0) {
		RUN(&u, t_real_attrs);
		RUN(&u, t_real_create);
	} else {
		printf("ok - t_real_attrs # SKIP needs root\n");
		printf("ok - t_real_create # SKIP needs root\n");
	}
	RUN(&u, t_volfs_attrs);
	RUN(&u, t_volfs_create);
	RUN(&u, t_volfs_xattr);
	return unit_done(&u);
}
