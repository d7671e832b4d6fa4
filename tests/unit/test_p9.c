/*
 * test_p9.c - each 9P2000.L operation through p9_handle() against a
 * scratch share, checked against what the host then sees, and the DrvFs
 * owner/mode rules with and without metadata. The hostile cases are in
 * test_p9_hostile.c.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "test_p9_util.h"
#include "unit.h"

#define ROOT 0u

static struct tp *setup(struct unit *u, const struct hfs_opts *o)
{
	struct tp *t = calloc(1, sizeof(*t));

	if (!t || tp_init(t, o) != 0) {
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

static void t_version(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;
	char v[32];

	if (!t)
		return;
	cl = &t->cl;
	/* the client's smaller msize wins; the server's limit caps a larger one */
	CHECK(u, tpc_rpc(cl, P9_TVERSION, "ds", 65536u, P9_VERSION_L) == P9_RVERSION);
	CHECK(u, rd32(cl) == 65536 && rdstr(cl, v, sizeof(v)) == 8 && !strcmp(v, "9P2000.L"));
	CHECK(u, p9_conn_msize(t->c) == 65536);
	CHECK(u, tpc_rpc(cl, P9_TVERSION, "ds", 0xffffffffu, P9_VERSION_L) == P9_RVERSION);
	CHECK(u, rd32(cl) == P9_DEFAULT_MSIZE);
	CHECK(u, tpc_rpc(cl, P9_TVERSION, "ds", 100u, P9_VERSION_L) == -EINVAL);
	/* a new version drops every fid */
	CHECK(u, tp_version_attach(cl, TP_MSIZE) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "") == 0);
	CHECK(u, tpc_rpc(cl, P9_TVERSION, "ds", 8192u, "9P2000.L.x") == P9_RVERSION);
	CHECK(u, tp_clunk(cl, 1) == -EBADF && tp_clunk(cl, ROOT) == -EBADF);
	/* an unknown version: "unknown", and nothing else is served */
	CHECK(u, tpc_rpc(cl, P9_TVERSION, "ds", 8192u, "9P2000.u") == P9_RVERSION);
	CHECK(u, rd32(cl) == 8192 && rdstr(cl, v, sizeof(v)) > 0 && !strcmp(v, "unknown"));
	CHECK(u, tpc_rpc(cl, P9_TATTACH, "ddssd", 0u, P9_NOFID, "", "", 0u) == -EPROTO);
	CHECK(u, tp_version_attach(cl, TP_MSIZE) == 0);
	/* no authentication to do */
	CHECK(u, tpc_rpc(cl, P9_TAUTH, "dssd", 9u, "u", "", 0u) == -EOPNOTSUPP);
	CHECK(u, tpc_rpc(cl, P9_TATTACH, "ddssd", 1u, 9u, "u", "", 0u) == -EBADF);
	/* attach to a fid in use */
	CHECK(u, tpc_rpc(cl, P9_TATTACH, "ddssd", 0u, P9_NOFID, "u", "", 0u) == -EEXIST);
	teardown(u, t);
}

static void t_getattr_root(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tp_attr a;
	struct stat st;

	if (!t)
		return;
	CHECK(u, tp_getattr(&t->cl, ROOT, &a) == 0);
	CHECK(u, stat(t->share, &st) == 0);
	CHECK(u, S_ISDIR(a.mode) && a.qid.type == P9_QTDIR && a.qid.path == st.st_ino);
	CHECK(u, a.uid == 1000 && a.gid == 1000); /* DrvFs defaults */
	CHECK(u, (a.mode & 07777) == (st.st_mode & 07777 & ~022u));
	teardown(u, t);
}

static void t_walk(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;
	struct tp_attr a;
	struct stat st;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, mkdir(tp_path(t, "a"), 0755) == 0 && mkdir(tp_path(t, "a/b"), 0755) == 0);
	CHECK(u, tp_put_file(tp_path(t, "a/b/c"), "hello") == 0);
	CHECK(u, stat(tp_path(t, "a/b/c"), &st) == 0);

	CHECK(u, tp_walk(cl, ROOT, 1, "a/b/c") == 3);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.qid.path == st.st_ino && a.size == 5);
	/* first name missing: an error; a later one: the qids so far, no newfid */
	CHECK(u, tp_walk(cl, ROOT, 2, "zz") == -ENOENT);
	CHECK(u, tp_walk(cl, ROOT, 2, "a/zz/c") == 1);
	CHECK(u, tp_clunk(cl, 2) == -EBADF);
	/* through a file */
	CHECK(u, tp_walk(cl, 1, 2, "x") == -ENOTDIR);
	/* clone, and walk in place */
	CHECK(u, tp_walk(cl, 1, 2, "") == 0);
	CHECK(u, tp_getattr(cl, 2, &a) == 0 && a.qid.path == st.st_ino);
	CHECK(u, tp_walk(cl, ROOT, 3, "a") == 1 && tp_walk(cl, 3, 3, "b/c") == 2);
	CHECK(u, tp_getattr(cl, 3, &a) == 0 && a.qid.path == st.st_ino);
	/* newfid in use */
	CHECK(u, tp_walk(cl, ROOT, 1, "a") == -EEXIST);
	/* ".." inside the share goes up */
	CHECK(u, tp_walk(cl, ROOT, 4, "a/b/../b/c") == 5);
	CHECK(u, tp_getattr(cl, 4, &a) == 0 && a.qid.path == st.st_ino);
	teardown(u, t);
}

static void t_read_write(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;
	char buf[64];
	struct stat st;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_put_file(tp_path(t, "f"), "0123456789") == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1 && tp_lopen(cl, 1, P9_DOTL_RDONLY) == 0);
	/* iounit: whole pages of the msize (less the Rread header) */
	CHECK(u, p9_get32(cl->resp + P9_HDRSZ + P9_QIDSZ) == (TP_MSIZE - P9_IOHDRSZ) / 4096 * 4096);
	CHECK(u, tp_read(cl, 1, 2, 5, buf) == 5 && !memcmp(buf, "23456", 5));
	CHECK(u, tp_read(cl, 1, 10, 5, buf) == 0);
	CHECK(u, tp_read(cl, 1, 1000, 5, buf) == 0);
	CHECK(u, tp_write(cl, 1, 0, "x", 1) == -EBADF);    /* opened read-only */
	CHECK(u, tp_lopen(cl, 1, P9_DOTL_RDWR) == -EBADF); /* already open */

	CHECK(u, tp_walk(cl, ROOT, 2, "f") == 1 && tp_lopen(cl, 2, P9_DOTL_WRONLY) == 0);
	CHECK(u, tp_write(cl, 2, 3, "abc", 3) == 3);
	CHECK(u, tp_read(cl, 2, 0, 5, buf) == -EBADF); /* opened write-only */
	CHECK(u, tp_get_file(tp_path(t, "f"), buf, sizeof(buf)) == 10);
	CHECK(u, !strcmp(buf, "012abc6789"));
	/* a sparse write past 4 GiB */
	CHECK(u, tp_write(cl, 2, 5ull << 30, "end", 3) == 3);
	CHECK(u, stat(tp_path(t, "f"), &st) == 0 && st.st_size == (5ll << 30) + 3);
	CHECK(u, tp_read(cl, 1, 5ull << 30, 64, buf) == 3 && !memcmp(buf, "end", 3));
	CHECK(u, tp_clunk(cl, 2) == 0);

	/* O_TRUNC and O_APPEND */
	CHECK(u, tp_walk(cl, ROOT, 2, "f") == 1);
	CHECK(u, tp_lopen(cl, 2, P9_DOTL_WRONLY | P9_DOTL_TRUNC | P9_DOTL_APPEND) == 0);
	CHECK(u, tp_write(cl, 2, 0, "ab", 2) == 2 && tp_write(cl, 2, 0, "cd", 2) == 2);
	CHECK(u, tp_get_file(tp_path(t, "f"), buf, sizeof(buf)) == 4 && !strcmp(buf, "abcd"));
	/* reads and writes on a directory */
	CHECK(u, tp_walk(cl, ROOT, 3, "") == 0);
	CHECK(u, tp_lopen(cl, 3, P9_DOTL_RDWR) == -EISDIR);
	CHECK(u, tp_lopen(cl, 3, P9_DOTL_RDONLY) == 0);
	CHECK(u, tp_read(cl, 3, 0, 10, buf) == -EISDIR);
	/* NOACCESS is not an I/O mode */
	CHECK(u, tp_walk(cl, ROOT, 4, "f") == 1 && tp_lopen(cl, 4, P9_DOTL_NOACCESS) == -EINVAL);
	CHECK(u, tp_lopen(cl, 4, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY) == -ENOTDIR);
	/* an unopened fid cannot be read */
	CHECK(u, tp_read(cl, 4, 0, 10, buf) == -EBADF);
	CHECK(u, tpc_rpc(cl, P9_TFSYNC, "dd", 2u, 0u) == P9_RFSYNC);
	CHECK(u, tpc_rpc(cl, P9_TFSYNC, "dd", 2u, 1u) == P9_RFSYNC);
	CHECK(u, tpc_rpc(cl, P9_TFSYNC, "dd", 4u, 0u) == -EBADF);
	teardown(u, t);
}

static void t_lcreate(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;
	struct tp_attr a;
	char buf[64];
	struct stat st;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_walk(cl, ROOT, 1, "") == 0);
	CHECK(u, tp_lcreate(cl, 1, "new", P9_DOTL_RDWR | P9_DOTL_CREATE, 0640) == 0);
	/* the fid now is the new, open file */
	CHECK(u, tp_write(cl, 1, 0, "data", 4) == 4);
	CHECK(u, tp_read(cl, 1, 0, 10, buf) == 4);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && S_ISREG(a.mode) && a.size == 4);
	CHECK(u, tp_clunk(cl, 1) == 0);
	CHECK(u, stat(tp_path(t, "new"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4);
	CHECK(u, (st.st_mode & 0777) == 0640);
	/* exclusive create of an existing name; plain create reopens a file */
	CHECK(u, tp_walk(cl, ROOT, 1, "") == 0);
	CHECK(u, tp_lcreate(cl, 1, "new", P9_DOTL_RDWR | P9_DOTL_CREATE | P9_DOTL_EXCL, 0644) ==
		     -EEXIST);
	CHECK(u,
	      tp_lcreate(cl, 1, "new", P9_DOTL_RDWR | P9_DOTL_CREATE | P9_DOTL_TRUNC, 0644) == 0);
	CHECK(u, stat(tp_path(t, "new"), &st) == 0 && st.st_size == 0);
	CHECK(u, tp_clunk(cl, 1) == 0);
	/* never onto a FIFO (that open would block the server) or a directory */
	CHECK(u, mkfifo(tp_path(t, "fifo"), 0644) == 0 && mkdir(tp_path(t, "dir"), 0755) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "") == 0);
	CHECK(u, tp_lcreate(cl, 1, "fifo", P9_DOTL_WRONLY | P9_DOTL_CREATE, 0644) == -EEXIST);
	CHECK(u, tp_lcreate(cl, 1, "fifo", P9_DOTL_RDONLY | P9_DOTL_CREATE, 0644) == -EEXIST);
	CHECK(u, tp_lcreate(cl, 1, "dir", P9_DOTL_RDONLY | P9_DOTL_CREATE, 0644) == -EISDIR);
	/* in a file, and from an open fid */
	CHECK(u, tp_walk(cl, ROOT, 2, "new") == 1);
	CHECK(u, tp_lcreate(cl, 2, "x", P9_DOTL_RDWR, 0644) == -ENOTDIR);
	CHECK(u, tp_lopen(cl, 1, P9_DOTL_RDONLY) == 0);
	CHECK(u, tp_lcreate(cl, 1, "y", P9_DOTL_RDWR, 0644) == -EBADF);
	teardown(u, t);
}

/* Every name in the directory by readdir with `count`-byte replies. */
static int readdir_all(struct tpc *cl, uint32_t fid, uint32_t count, char (*names)[64], int max,
		       uint64_t *offs)
{
	uint64_t off = 0;
	int n = 0;

	for (;;) {
		uint32_t got, used = 0;
		int r = tpc_rpc(cl, P9_TREADDIR, "dqd", fid, off, count);

		if (r != P9_RREADDIR)
			return r < 0 ? r : -EPROTO;
		got = rd32(cl);
		if (got == 0)
			return n;
		if (got > count)
			return -EPROTO;
		while (used < got) {
			size_t before = cl->rpos;
			char name[300];

			rdqid(cl);
			off = rd64(cl);
			rd8(cl);
			if (rdstr(cl, name, sizeof(name)) < 0 || n >= max)
				return -EPROTO;
			memcpy(names[n], name, 63);
			names[n][63] = '\0';
			if (offs)
				offs[n] = off;
			n++;
			used += (uint32_t)(cl->rpos - before);
		}
		if (used != got)
			return -EPROTO;
	}
}

static int has_name(char (*names)[64], int n, const char *want)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += !strcmp(names[i], want);
	return c;
}

static void t_readdir(struct unit *u)
{
	enum { N = 600 };
	struct tp *t = setup(u, NULL);
	char(*names)[64] = calloc(N + 10, 64), (*again)[64] = calloc(N + 10, 64);
	uint64_t *offs = calloc(N + 10, sizeof(*offs));
	struct tpc *cl;
	char p[64];
	int n, m, ok = 1;

	if (!t)
		goto out;
	cl = &t->cl;
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "file-with-a-longish-name-%04d", i);
		CHECK(u, tp_put_file(tp_path(t, p), "") == 0);
	}
	CHECK(u, tp_walk(cl, ROOT, 1, "") == 0 && tp_lopen(cl, 1, P9_DOTL_RDONLY) == 0);
	/* small replies: many calls, each resuming at the last offset */
	n = readdir_all(cl, 1, 200, names, N + 10, offs);
	CHECK(u, n == N + 2);
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "file-with-a-longish-name-%04d", i);
		ok &= has_name(names, n, p) == 1;
	}
	CHECK(u, ok && has_name(names, n, ".") == 1 && has_name(names, n, "..") == 1);
	/* one big reply gives the same list */
	m = readdir_all(cl, 1, 1u << 18, again, N + 10, NULL);
	CHECK(u, m == n);
	for (int i = 0; i < n && i < m; i++)
		ok &= !strcmp(names[i], again[i]);
	CHECK(u, ok);
	/* resuming from an offset seen earlier (a seek back) */
	CHECK(u, tpc_rpc(cl, P9_TREADDIR, "dqd", 1u, offs[99], 4096u) == P9_RREADDIR);
	CHECK(u, rd32(cl) > 0);
	rdqid(cl);
	rd64(cl);
	rd8(cl);
	CHECK(u, rdstr(cl, p, sizeof(p)) > 0 && !strcmp(p, names[100]));
	/* too small for even one entry, and readdir of what is no open dir */
	CHECK(u, tpc_rpc(cl, P9_TREADDIR, "dqd", 1u, (uint64_t)0, 10u) == -EINVAL);
	CHECK(u, tp_walk(cl, ROOT, 2, "") == 0);
	CHECK(u, tpc_rpc(cl, P9_TREADDIR, "dqd", 2u, (uint64_t)0, 4096u) == -EBADF);
	CHECK(u, tp_walk(cl, ROOT, 3, "file-with-a-longish-name-0001") == 1);
	CHECK(u, tp_lopen(cl, 3, P9_DOTL_RDONLY) == 0);
	CHECK(u, tpc_rpc(cl, P9_TREADDIR, "dqd", 3u, (uint64_t)0, 4096u) == -ENOTDIR);
out:
	teardown(u, t);
	free(names);
	free(again);
	free(offs);
}

static void t_create_kinds(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;
	struct tp_attr a;
	char buf[128];
	struct stat st;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_mkdir(cl, ROOT, "d", 0750) == 0);
	CHECK(u, stat(tp_path(t, "d"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(u, tp_mkdir(cl, ROOT, "d", 0750) == -EEXIST);
	/* a symlink's target is text: stored and read back, never resolved */
	CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dssd", ROOT, "l", "/etc/passwd", 0u) == P9_RSYMLINK);
	CHECK(u, rd8(cl) == P9_QTSYMLINK);
	CHECK(u, readlink(tp_path(t, "l"), buf, sizeof(buf)) == 11);
	CHECK(u, tp_walk(cl, ROOT, 1, "l") == 1);
	CHECK(u, tpc_rpc(cl, P9_TREADLINK, "d", 1u) == P9_RREADLINK);
	CHECK(u, rdstr(cl, buf, sizeof(buf)) == 11 && !strcmp(buf, "/etc/passwd"));
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && S_ISLNK(a.mode) && (a.mode & 0777) == 0777);
	CHECK(u, tpc_rpc(cl, P9_TREADLINK, "d", ROOT) == -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dssd", ROOT, "e", "", 0u) == -ENOENT);
	/* FIFOs and sockets are real; devices need metadata */
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", ROOT, "p", S_IFIFO | 0644u, 0u, 0u, 0u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "p"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", ROOT, "s", S_IFSOCK | 0644u, 0u, 0u, 0u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "s"), &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", ROOT, "r", 0644u, 0u, 0u, 0u) == P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "r"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK(u,
	      tpc_rpc(cl, P9_TMKNOD, "dsdddd", ROOT, "c", S_IFCHR | 0644u, 1u, 3u, 0u) == -EPERM);
	CHECK(u,
	      tpc_rpc(cl, P9_TMKNOD, "dsdddd", ROOT, "c", S_IFDIR | 0644u, 1u, 3u, 0u) == -EINVAL);
	CHECK(u, lstat(tp_path(t, "c"), &st) < 0);
	/* a FIFO is the guest's own: not opened here */
	CHECK(u, tp_walk(cl, ROOT, 2, "p") == 1 && tp_lopen(cl, 2, P9_DOTL_RDONLY) == -EOPNOTSUPP);
	CHECK(u, tp_lopen(cl, 1, P9_DOTL_RDONLY) == -ELOOP);
	teardown(u, t);
}

static void t_link_rename_remove(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;
	struct tp_attr a;
	char buf[512];
	struct stat st, st2;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, mkdir(tp_path(t, "a"), 0755) == 0 && mkdir(tp_path(t, "b"), 0755) == 0);
	CHECK(u, tp_put_file(tp_path(t, "a/f"), "content") == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "a") == 1 && tp_walk(cl, ROOT, 2, "b") == 1);
	CHECK(u, tp_walk(cl, 1, 3, "f") == 1);
	/* hard link */
	CHECK(u, tpc_rpc(cl, P9_TLINK, "dds", 2u, 3u, "hard") == P9_RLINK);
	CHECK(u, stat(tp_path(t, "a/f"), &st) == 0 && stat(tp_path(t, "b/hard"), &st2) == 0);
	CHECK(u, st.st_ino == st2.st_ino && st.st_nlink == 2);
	CHECK(u, tpc_rpc(cl, P9_TLINK, "dds", 2u, 1u, "dirlink") == -EPERM);
	/* renameat across directories */
	CHECK(u, tpc_rpc(cl, P9_TRENAMEAT, "dsds", 1u, "f", 2u, "g") == P9_RRENAMEAT);
	CHECK(u, tp_get_file(tp_path(t, "b/g"), buf, sizeof(buf)) == 7);
	CHECK(u, tpc_rpc(cl, P9_TRENAMEAT, "dsds", 1u, "f", 2u, "g") == -ENOENT);
	/* the walked fid still names the file (renamed under it) */
	CHECK(u, tp_getattr(cl, 3, &a) == 0 && a.qid.path == st.st_ino);
	/* Trename moves a fid's file and the fid follows it */
	CHECK(u, tp_walk(cl, 2, 4, "g") == 1);
	CHECK(u, tpc_rpc(cl, P9_TRENAME, "dds", 4u, 1u, "back") == P9_RRENAME);
	CHECK(u, stat(tp_path(t, "a/back"), &st2) == 0 && st2.st_ino == st.st_ino);
	CHECK(u, tpc_rpc(cl, P9_TRENAME, "dds", 4u, 2u, "again") == P9_RRENAME);
	CHECK(u, stat(tp_path(t, "b/again"), &st2) == 0 && st2.st_ino == st.st_ino);
	/* a fid whose name went stale (renamed by someone else) */
	CHECK(u, tpc_rpc(cl, P9_TRENAME, "dds", 3u, 1u, "x") == -ESTALE);
	/* Tremove through the moved fid; the fid is gone afterwards */
	CHECK(u, tpc_rpc(cl, P9_TREMOVE, "d", 4u) == P9_RREMOVE);
	CHECK(u, stat(tp_path(t, "b/again"), &st2) < 0 && errno == ENOENT);
	CHECK(u, tp_clunk(cl, 4) == -EBADF);
	/* Tremove of a directory whose name changed: found by searching */
	CHECK(u, mkdir(tp_path(t, "a/sub"), 0755) == 0);
	CHECK(u, tp_walk(cl, ROOT, 5, "a/sub") == 2);
	snprintf(buf, sizeof(buf), "%s", tp_path(t, "a/sub"));
	CHECK(u, rename(buf, tp_path(t, "b/moved")) == 0);
	CHECK(u, access(tp_path(t, "b/moved"), F_OK) == 0);
	CHECK(u, tpc_rpc(cl, P9_TREMOVE, "d", 5u) == P9_RREMOVE);
	CHECK(u, stat(tp_path(t, "b/moved"), &st2) < 0 && errno == ENOENT);
	/* unlinkat of files and directories */
	CHECK(u, tpc_rpc(cl, P9_TUNLINKAT, "dsd", 2u, "hard", 0u) == P9_RUNLINKAT);
	CHECK(u, tpc_rpc(cl, P9_TUNLINKAT, "dsd", ROOT, "b", 0u) == -EISDIR);
	CHECK(u, tpc_rpc(cl, P9_TUNLINKAT, "dsd", ROOT, "b", 0x201u) == -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TUNLINKAT, "dsd", ROOT, "b", 0x200u) == P9_RUNLINKAT);
	CHECK(u, stat(tp_path(t, "b"), &st2) < 0);
	/* the share root cannot be removed or renamed */
	CHECK(u, tp_walk(cl, ROOT, 6, "") == 0);
	CHECK(u, tpc_rpc(cl, P9_TREMOVE, "d", 6u) == -EBUSY);
	CHECK(u, tpc_rpc(cl, P9_TRENAME, "dds", ROOT, 1u, "x") == -EBUSY);
	CHECK(u, tp_getattr(cl, ROOT, &a) == 0);
	teardown(u, t);
}

static void t_setattr(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;
	struct tp_attr a;
	struct stat st;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_put_file(tp_path(t, "f"), "0123456789") == 0);
	CHECK(u, chmod(tp_path(t, "f"), 0644) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1);
	/* truncate through an unopened fid */
	CHECK(u,
	      tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 1u, P9_SETATTR_SIZE, 0u, 0u, 0u, (uint64_t)4,
		      (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0) == P9_RSETATTR);
	CHECK(u, stat(tp_path(t, "f"), &st) == 0 && st.st_size == 4);
	/* explicit times */
	CHECK(u, tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 1u,
			 P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME |
			     P9_SETATTR_MTIME_SET,
			 0u, 0u, 0u, (uint64_t)0, (uint64_t)1000, (uint64_t)5, (uint64_t)2000,
			 (uint64_t)7) == P9_RSETATTR);
	CHECK(u, stat(tp_path(t, "f"), &st) == 0 && st.st_atime == 1000 && st.st_mtime == 2000);
	CHECK(u, st.st_mtim.tv_nsec == 7);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.mtime == 2000 && a.atime == 1000);
	CHECK(u, tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 1u, P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET,
			 0u, 0u, 0u, (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)1,
			 (uint64_t)1000000000) == -EINVAL);
	/* "now" */
	CHECK(u,
	      tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 1u, P9_SETATTR_MTIME, 0u, 0u, 0u, (uint64_t)0,
		      (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0) == P9_RSETATTR);
	CHECK(u, stat(tp_path(t, "f"), &st) == 0 && st.st_mtime > 2000);
	/* without metadata, chmod and chown succeed and change nothing */
	CHECK(u,
	      tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 1u,
		      P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID, 0600u, 5u, 6u, (uint64_t)0,
		      (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0) == P9_RSETATTR);
	CHECK(u, stat(tp_path(t, "f"), &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK(u, st.st_uid == getuid());
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.uid == 1000 && (a.mode & 0777) == 0644);
	/* a directory cannot be truncated */
	CHECK(u,
	      tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", ROOT, P9_SETATTR_SIZE, 0u, 0u, 0u, (uint64_t)0,
		      (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0) == -EISDIR);
	teardown(u, t);
}

static void t_masks(struct unit *u)
{
	struct hfs_opts o;
	struct tp *t;
	struct tp_attr a;

	hfs_opts_default(&o);
	CHECK(u, hfs_opts_parse(&o, "uid=1234,gid=99,umask=077,fmask=0111,case=off") == 0);
	CHECK(u, o.uid == 1234 && o.gid == 99 && o.umask == 077 && o.fmask == 0111 && !o.metadata);
	CHECK(u, hfs_opts_parse(&o, "bogus") == -EINVAL);
	CHECK(u, hfs_opts_parse(&o, "umask=8") == -EINVAL);
	CHECK(u, hfs_opts_parse(&o, "uid=-1") == -EINVAL);
	CHECK(u, hfs_opts_parse(&o, "uid=") == -EINVAL);
	CHECK(u, hfs_opts_parse(&o, "umask=0777777") == -EINVAL);
	hfs_opts_default(&o);
	CHECK(u, hfs_opts_parse(&o, "uid=1234,gid=99,umask=077,fmask=0111") == 0);
	t = setup(u, &o);
	if (!t)
		return;
	CHECK(u, tp_put_file(tp_path(t, "x"), "") == 0 && chmod(tp_path(t, "x"), 0755) == 0);
	CHECK(u, mkdir(tp_path(t, "d"), 0755) == 0 && chmod(tp_path(t, "d"), 0755) == 0);
	CHECK(u, tp_walk(&t->cl, ROOT, 1, "x") == 1 && tp_getattr(&t->cl, 1, &a) == 0);
	CHECK(u, a.mode == (S_IFREG | 0600) && a.uid == 1234 && a.gid == 99);
	CHECK(u, tp_walk(&t->cl, ROOT, 2, "d") == 1 && tp_getattr(&t->cl, 2, &a) == 0);
	CHECK(u, a.mode == (S_IFDIR | 0700));
	teardown(u, t);
}

/* A connection's own options, named by its first Tattach's aname. */
static void t_attach_opts(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tp_attr a;

	if (!t)
		return;
	CHECK(u, tp_put_file(tp_path(t, "x"), "") == 0 && chmod(tp_path(t, "x"), 0644) == 0);
	/* Fids exist already (setup attached with no aname): options now are refused. */
	CHECK(u, tpc_rpc(&t->cl, P9_TATTACH, "ddssd", 5u, P9_NOFID, "root", "uid=7", 0u) ==
		     -EINVAL);
	/* A new connection whose first attach names options gets them. */
	p9_conn_free(t->c);
	CHECK(u, p9_conn_new(t->srv, NULL, &t->c) == 0);
	CHECK(u, tpc_rpc(&t->cl, P9_TVERSION, "ds", TP_MSIZE, P9_VERSION_L) == P9_RVERSION);
	CHECK(u, tpc_rpc(&t->cl, P9_TATTACH, "ddssd", 0u, P9_NOFID, "root", "bogus", 0u) ==
		     -EINVAL);
	CHECK(u, tpc_rpc(&t->cl, P9_TATTACH, "ddssd", 0u, P9_NOFID, "root",
			 "uid=4321:gid=77,umask=027", 0u) == P9_RATTACH);
	CHECK(u, tp_walk(&t->cl, ROOT, 1, "x") == 1 && tp_getattr(&t->cl, 1, &a) == 0);
	CHECK(u, a.uid == 4321 && a.gid == 77 && a.mode == (S_IFREG | 0640));
	/* Further attaches (one per user, as Linux's access=user makes) name the same. */
	CHECK(u, tpc_rpc(&t->cl, P9_TATTACH, "ddssd", 8u, P9_NOFID, "root",
			 "uid=4321:gid=77:umask=027", 1000u) == P9_RATTACH);
	CHECK(u, tpc_rpc(&t->cl, P9_TATTACH, "ddssd", 9u, P9_NOFID, "root", "uid=1", 1000u) ==
		     -EINVAL);
	/* The server's own options are untouched: a third connection has them. */
	p9_conn_free(t->c);
	CHECK(u, p9_conn_new(t->srv, NULL, &t->c) == 0);
	CHECK(u, tp_version_attach(&t->cl, TP_MSIZE) == 0);
	CHECK(u, tp_walk(&t->cl, ROOT, 1, "x") == 1 && tp_getattr(&t->cl, 1, &a) == 0);
	CHECK(u, a.uid == 1000 && a.mode == (S_IFREG | 0644));
	teardown(u, t);
}

static void t_metadata(struct unit *u)
{
	struct hfs_opts o;
	struct tpc *cl;
	struct tp *t;
	struct tp_attr a;
	struct stat st;
	uint8_t x[8];

	hfs_opts_default(&o);
	CHECK(u, hfs_opts_parse(&o, "metadata,umask=022") == 0 && o.metadata);
	t = setup(u, &o);
	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_put_file(tp_path(t, "f"), "") == 0 && chmod(tp_path(t, "f"), 0644) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1);
	/* no attributes yet: as without metadata */
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.uid == 1000 && a.mode == (S_IFREG | 0644));
	CHECK(u, tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 1u,
			 P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID, 04711u, 123u, 456u,
			 (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
			 (uint64_t)0) == P9_RSETATTR);
	CHECK(u, tp_getattr(cl, 1, &a) == 0);
	CHECK(u, a.mode == (S_IFREG | 04711) && a.uid == 123 && a.gid == 456);
	/* kept in the host file's xattrs; its real mode is untouched */
	CHECK(u, stat(tp_path(t, "f"), &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(u, getxattr(tp_path(t, "f"), "user.lxs.uid", x, sizeof(x)) == 4);
	CHECK(u, p9_get32(x) == 123);
	CHECK(u, getxattr(tp_path(t, "f"), "user.lxs.mode", x, sizeof(x)) == 4);
	CHECK(u, p9_get32(x) == (S_IFREG | 04711));
	/* a garbled value is ignored, not trusted */
	CHECK(u, setxattr(tp_path(t, "f"), "user.lxs.uid", "xy", 2, 0) == 0);
	CHECK(u, tp_getattr(cl, 1, &a) == 0 && a.uid == 1000 && a.gid == 456);

	/* what a user creates is theirs: attach as uid 4321 */
	CHECK(u, tpc_rpc(cl, P9_TATTACH, "ddssd", 10u, P9_NOFID, "", "", 4321u) == P9_RATTACH);
	CHECK(u, tpc_rpc(cl, P9_TMKDIR, "dsdd", 10u, "d", 0700u, 77u) == P9_RMKDIR);
	CHECK(u, tp_walk(cl, 10, 11, "d") == 1 && tp_getattr(cl, 11, &a) == 0);
	CHECK(u, a.mode == (S_IFDIR | 0700) && a.uid == 4321 && a.gid == 77);
	CHECK(u, tp_walk(cl, 10, 12, "") == 0);
	CHECK(u,
	      tpc_rpc(cl, P9_TLCREATE, "dsddd", 12u, "n", P9_DOTL_RDWR, 0600u, 78u) == P9_RLCREATE);
	CHECK(u, tp_getattr(cl, 12, &a) == 0 && a.uid == 4321 && a.gid == 78);
	CHECK(u, a.mode == (S_IFREG | 0600));
	/* a device is a plain host file that reports itself as the device */
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "null", S_IFCHR | 0666u, 1u, 3u, 5u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "null"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK(u, tp_walk(cl, 10, 13, "null") == 1 && tp_getattr(cl, 13, &a) == 0);
	CHECK(u, a.mode == (S_IFCHR | 0666) && a.rdev == makedev(1, 3) && a.gid == 5);
	CHECK(u, tp_lopen(cl, 13, P9_DOTL_RDONLY) == 0); /* the guest never opens it here */
	/* chmod keeps the stored type */
	CHECK(u, tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 13u, P9_SETATTR_MODE, 0600u, 0u, 0u,
			 (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
			 (uint64_t)0) == P9_RSETATTR);
	CHECK(u, tp_getattr(cl, 13, &a) == 0 && a.mode == (S_IFCHR | 0600));
	/* FIFOs and symlinks cannot carry it: they are real, with the defaults */
	CHECK(u, tpc_rpc(cl, P9_TMKNOD, "dsdddd", 10u, "fifo", S_IFIFO | 0600u, 0u, 0u, 5u) ==
		     P9_RMKNOD);
	CHECK(u, lstat(tp_path(t, "fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(u, tp_walk(cl, 10, 15, "fifo") == 1 && tp_getattr(cl, 15, &a) == 0);
	CHECK(u, S_ISFIFO(a.mode) && a.uid == 1000);
	CHECK(u, tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 15u, P9_SETATTR_MODE, 0644u, 0u, 0u,
			 (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
			 (uint64_t)0) == P9_RSETATTR);
	CHECK(u, tpc_rpc(cl, P9_TSYMLINK, "dssd", 10u, "l", "t", 0u) == P9_RSYMLINK);
	CHECK(u, tp_walk(cl, 10, 14, "l") == 1);
	CHECK(u,
	      tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 14u, P9_SETATTR_UID, 0u, 9u, 0u, (uint64_t)0,
		      (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0) == P9_RSETATTR);
	CHECK(u, tp_getattr(cl, 14, &a) == 0 && a.mode == (S_IFLNK | 0777) && a.uid == 1000);
	teardown(u, t);
}

static void t_xattr(struct unit *u)
{
	struct hfs_opts o;
	struct tpc *cl;
	struct tp *t;
	char buf[256];
	int n;

	hfs_opts_default(&o);
	o.metadata = true;
	t = setup(u, &o);
	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_put_file(tp_path(t, "f"), "") == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1 && tp_walk(cl, 1, 2, "") == 0);
	/* set: xattrcreate, write the value, clunk commits */
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 2u, "user.test", (uint64_t)5, 0u) ==
		     P9_RXATTRCREATE);
	CHECK(u, tp_write(cl, 2, 0, "hel", 3) == 3 && tp_write(cl, 2, 3, "lo", 2) == 2);
	CHECK(u, tp_write(cl, 2, 4, "xx", 2) == -ENOSPC);
	CHECK(u, tp_getattr(cl, 2, (struct tp_attr[1]){}) == 0);
	CHECK(u, tp_clunk(cl, 2) == 0);
	CHECK(u, getxattr(tp_path(t, "f"), "user.test", buf, sizeof(buf)) == 5);
	CHECK(u, !memcmp(buf, "hello", 5));
	/* a value shorter than announced is not set */
	CHECK(u, tp_walk(cl, 1, 2, "") == 0);
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 2u, "user.short", (uint64_t)5, 0u) ==
		     P9_RXATTRCREATE);
	CHECK(u, tp_write(cl, 2, 0, "hel", 3) == 3 && tp_clunk(cl, 2) == -EINVAL);
	CHECK(u, getxattr(tp_path(t, "f"), "user.short", buf, sizeof(buf)) < 0);
	/* the metadata attributes are the server's, hidden from the guest */
	CHECK(u, setxattr(tp_path(t, "f"), "user.lxs.uid", "\1\0\0\0", 4, 0) == 0);
	CHECK(u,
	      tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 1u, "user.lxs.uid", (uint64_t)4, 0u) == -EPERM);
	CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", 1u, 3u, "user.lxs.uid") == -ENODATA);
	/* get */
	CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", 1u, 3u, "user.test") == P9_RXATTRWALK);
	CHECK(u, rd64(cl) == 5);
	CHECK(u, tp_read(cl, 3, 0, 100, buf) == 5 && !memcmp(buf, "hello", 5));
	CHECK(u, tp_read(cl, 3, 3, 100, buf) == 2 && tp_read(cl, 3, 9, 100, buf) == 0);
	CHECK(u, tp_write(cl, 3, 0, "x", 1) == -EBADF);
	CHECK(u, tp_walk(cl, 3, 4, "") == -EBADF);
	CHECK(u, tp_clunk(cl, 3) == 0);
	CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", 1u, 3u, "user.none") == -ENODATA);
	/* list: ours filtered out */
	CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", 1u, 3u, "") == P9_RXATTRWALK);
	n = (int)rd64(cl);
	CHECK(u, n == (int)sizeof("user.test"));
	CHECK(u, tp_read(cl, 3, 0, 255, buf) == n && !strcmp(buf, "user.test"));
	CHECK(u, tp_clunk(cl, 3) == 0);
	/* remove: a zero-length create */
	CHECK(u, tp_walk(cl, 1, 2, "") == 0);
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 2u, "user.test", (uint64_t)0,
			 (uint32_t)P9_XATTR_REPLACE) == P9_RXATTRCREATE);
	CHECK(u, tp_clunk(cl, 2) == 0);
	CHECK(u, getxattr(tp_path(t, "f"), "user.test", buf, sizeof(buf)) < 0 && errno == ENODATA);
	/* bad arguments */
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 1u, "user.big", (uint64_t)1 << 40, 0u) ==
		     -E2BIG);
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 1u, "user.x", (uint64_t)1, 4u) == -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dsqd", 1u, "", (uint64_t)1, 0u) == -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TXATTRCREATE, "dSqd", 1u, 4, "a\0bc", (uint64_t)1, 0u) == -EINVAL);
	teardown(u, t);
}

static void t_lock(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tp_put_file(tp_path(t, "f"), "x") == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "f") == 1 && tp_lopen(cl, 1, P9_DOTL_RDWR) == 0);
	CHECK(u, tp_walk(cl, ROOT, 2, "f") == 1 && tp_lopen(cl, 2, P9_DOTL_RDWR) == 0);
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", 1u, P9_LOCK_TYPE_WRLCK, 0u, (uint64_t)0,
			 (uint64_t)0, 10u, "guest") == P9_RLOCK);
	CHECK(u, rd8(cl) == P9_LOCK_SUCCESS);
	/* another open sees it, and is told to retry */
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", 2u, P9_LOCK_TYPE_RDLCK, 1u, (uint64_t)0,
			 (uint64_t)10, 11u, "guest") == P9_RLOCK);
	CHECK(u, rd8(cl) == P9_LOCK_BLOCKED);
	CHECK(u, tpc_rpc(cl, P9_TGETLOCK, "dbqqds", 2u, P9_LOCK_TYPE_WRLCK, (uint64_t)0,
			 (uint64_t)0, 11u, "guest") == P9_RGETLOCK);
	CHECK(u, rd8(cl) == P9_LOCK_TYPE_WRLCK);
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", 1u, P9_LOCK_TYPE_UNLCK, 0u, (uint64_t)0,
			 (uint64_t)0, 10u, "guest") == P9_RLOCK);
	CHECK(u, rd8(cl) == P9_LOCK_SUCCESS);
	CHECK(u, tpc_rpc(cl, P9_TGETLOCK, "dbqqds", 2u, P9_LOCK_TYPE_WRLCK, (uint64_t)0,
			 (uint64_t)0, 11u, "guest") == P9_RGETLOCK);
	CHECK(u, rd8(cl) == P9_LOCK_TYPE_UNLCK);
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", 2u, P9_LOCK_TYPE_WRLCK, 0u, (uint64_t)0,
			 (uint64_t)0, 11u, "guest") == P9_RLOCK);
	CHECK(u, rd8(cl) == P9_LOCK_SUCCESS);
	/* a lock dies with its fid */
	CHECK(u, tp_clunk(cl, 2) == 0);
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", 1u, P9_LOCK_TYPE_WRLCK, 0u, (uint64_t)0,
			 (uint64_t)0, 10u, "guest") == P9_RLOCK);
	CHECK(u, rd8(cl) == P9_LOCK_SUCCESS);
	/* bad arguments */
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", 1u, 7, 0u, (uint64_t)0, (uint64_t)0, 10u, "g") ==
		     -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", 1u, 1, 0u, (uint64_t)1 << 63, (uint64_t)0, 10u,
			 "g") == -EINVAL);
	CHECK(u, tpc_rpc(cl, P9_TLOCK, "dbdqqds", ROOT, 1, 0u, (uint64_t)0, (uint64_t)0, 10u,
			 "g") == -EBADF);
	teardown(u, t);
}

static void t_statfs_flush(struct unit *u)
{
	struct tp *t = setup(u, NULL);
	struct tpc *cl;

	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, tpc_rpc(cl, P9_TSTATFS, "d", ROOT) == P9_RSTATFS);
	rd32(cl);
	CHECK(u, rd32(cl) > 0); /* bsize */
	CHECK(u, rd64(cl) > 0); /* blocks */
	CHECK(u, tpc_rpc(cl, P9_TSTATFS, "d", 77u) == -EBADF);
	/* flush of nothing outstanding: answered at once */
	CHECK(u, tpc_rpc(cl, P9_TFLUSH, "w", 1234) == P9_RFLUSH && cl->rlen == P9_HDRSZ);
	teardown(u, t);
}

/* --- older kernels and no /proc: the fallback paths ------------------------- */

/* From here on openat2 and the *xattrat calls fail with ENOSYS, as before 5.6/6.13. */
static int pretend_old_kernel(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 437, 5, 0), /* openat2 */
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 463, 4, 0), /* setxattrat */
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 464, 3, 0), /* getxattrat */
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 465, 2, 0), /* listxattrat */
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 466, 1, 0), /* removexattrat */
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* The common walk/open/create/escape checks, on whatever paths the host allows. */
static void fallback_body(struct unit *u, bool have_proc)
{
	struct hfs_opts o;
	struct tp *t;
	struct tpc *cl;
	struct tp_attr a;
	char buf[512];

	hfs_opts_default(&o);
	o.metadata = have_proc;
	t = setup(u, &o);
	if (!t)
		return;
	cl = &t->cl;
	CHECK(u, mkdir(tp_path(t, "a"), 0755) == 0 && tp_put_file(tp_path(t, "a/f"), "abc") == 0);
	CHECK(u, symlink(t->outside, tp_path(t, "out")) == 0);
	CHECK(u, tp_walk(cl, ROOT, 1, "a/f") == 2 && tp_lopen(cl, 1, P9_DOTL_RDWR) == 0);
	CHECK(u, tp_read(cl, 1, 0, 10, buf) == 3 && !memcmp(buf, "abc", 3));
	CHECK(u, tp_walk(cl, ROOT, 2, "a") == 1 && tp_lopen(cl, 2, P9_DOTL_RDONLY) == 0);
	CHECK(u, tpc_rpc(cl, P9_TREADDIR, "dqd", 2u, (uint64_t)0, 4096u) == P9_RREADDIR);
	CHECK(u, rd32(cl) > 0);
	CHECK(u, tp_walk(cl, ROOT, 3, "") == 0);
	CHECK(u,
	      tp_lcreate(cl, 3, "n", P9_DOTL_RDWR, 0644) == 0 && tp_write(cl, 3, 0, "x", 1) == 1);
	CHECK(u, tp_getattr(cl, 3, &a) == 0 && a.size == 1);
	CHECK(u, tp_walk(cl, ROOT, 4, "out/canary") == 1);
	CHECK(u, tp_walk(cl, ROOT, 4, "../out") == 2 && tp_lopen(cl, 4, P9_DOTL_RDONLY) == -ELOOP);
	CHECK(u, tp_walk(cl, ROOT, 5, "n") == 1);
	CHECK(u, tpc_rpc(cl, P9_TLINK, "dds", ROOT, 5u, "hard") == P9_RLINK);
	if (have_proc) {
		/* xattrs through the /proc/self/fd/N path */
		CHECK(u, tp_getattr(cl, 5, &a) == 0 && a.uid == 0); /* attached as uid 0 */
		CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", 5u, 6u, "") == P9_RXATTRWALK);
		CHECK(u, rd64(cl) == 0); /* user.lxs.* are hidden */
		CHECK(u, tpc_rpc(cl, P9_TSETATTR, "dddddqqqqq", 5u, P9_SETATTR_UID, 0u, 42u, 0u,
				 (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
				 (uint64_t)0) == P9_RSETATTR);
		CHECK(u, tp_getattr(cl, 5, &a) == 0 && a.uid == 42);
	} else {
		/* without /proc, files are reopened by name: a renamed one is stale */
		CHECK(u, tpc_rpc(cl, P9_TXATTRWALK, "dds", 5u, 6u, "") == -EOPNOTSUPP);
		snprintf(buf, sizeof(buf), "%s", tp_path(t, "n"));
		CHECK(u, rename(buf, tp_path(t, "m")) == 0);
		CHECK(u, tp_lopen(cl, 5, P9_DOTL_RDONLY) == -ESTALE);
		CHECK(u, tp_walk(cl, ROOT, 7, "m") == 1 && tp_lopen(cl, 7, P9_DOTL_RDONLY) == 0);
	}
	teardown(u, t);
}

/* Run body in a child so that its seccomp filter and mounts die with it. */
static void in_child(struct unit *u, bool hide_proc)
{
	char why[sizeof(u->why)] = "";
	int status = -1, p[2];
	pid_t pid;

	if (pipe(p) < 0) {
		CHECK(u, !"pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct unit cu = {0};

		close(p[0]);
		if (pretend_old_kernel() < 0)
			snprintf(cu.why, sizeof(cu.why), "seccomp: %s", strerror(errno));
		else if (hide_proc && (unshare(CLONE_NEWNS) < 0 ||
				       mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
				       mount("none", "/proc", "tmpfs", 0, NULL) < 0))
			snprintf(cu.why, sizeof(cu.why), "hiding /proc: %s", strerror(errno));
		else
			fallback_body(&cu, !hide_proc);
		if (cu.why[0] && write(p[1], cu.why, strlen(cu.why)) < 0)
			_exit(2);
		/* _exit: LeakSanitizer's exit check needs the /proc we hid */
		_exit(cu.why[0] ? 1 : 0);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], why, sizeof(why) - 1) > 0 && !u->case_failed) {
		u->case_failed = 1;
		snprintf(u->why, sizeof(u->why), "in child: %.200s", why);
	}
	close(p[0]);
	CHECK(u, pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(u, WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void t_old_kernel(struct unit *u)
{
	in_child(u, false);
}

static void t_no_proc(struct unit *u)
{
	in_child(u, true);
}

int main(void)
{
	struct unit u = {0};

	umask(022);
	RUN(&u, t_version);
	RUN(&u, t_getattr_root);
	RUN(&u, t_walk);
	RUN(&u, t_read_write);
	RUN(&u, t_lcreate);
	RUN(&u, t_readdir);
	RUN(&u, t_create_kinds);
	RUN(&u, t_link_rename_remove);
	RUN(&u, t_setattr);
	RUN(&u, t_masks);
	RUN(&u, t_attach_opts);
	RUN(&u, t_metadata);
	RUN(&u, t_xattr);
	RUN(&u, t_lock);
	RUN(&u, t_statfs_flush);
	RUN(&u, t_old_kernel);
	if (geteuid() == 0)
		RUN(&u, t_no_proc);
	else
		printf("ok - t_no_proc # SKIP needs root for a mount namespace\n");
	return unit_done(&u);
}
