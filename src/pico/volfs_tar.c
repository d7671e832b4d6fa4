/*
 * volfs_tar.c - libarchive <-> VolFs folder (see volfs_tar.h, common/volfs.h).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/tar_rules.h"
#include "common/volfs.h"
#include "pico/volfs_tar.h"

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt,
							 ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- unpack ------------------------------------------------------------------ */

/*
 * The archive is hostile (see common/tar_rules.h): every entry is placed
 * through an fd of its parent folder, found beneath the root with no symlink
 * followed, and then touched only by name in that folder with calls that do
 * not follow a symlink at the leaf either (O_NOFOLLOW, O_EXCL, unlink first,
 * AT_SYMLINK_NOFOLLOW) or through an fd of the new file itself. A name of
 * several components only ever reaches the kernel under
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS.
 */
struct unpack {
	struct archive *a;
	int rootfd; /* the root, O_RDONLY: its own metadata is set through it */
	char *err;
	size_t errlen;
	unsigned long long done; /* entries read whole, for the truncation sentence */
};

/* "./a/b", "/a//b/" -> "a/b"; -1 for a ".." anywhere (tar_rules.h), -2 if too long. */
static int clean_name(const char *in, char *out, size_t size)
{
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return -1;
		if (o + n + 2 > size)
			return -2;
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = 0;
	return 0;
}

/* libarchive could not go on: the input ended early, or is damaged. */
static int archive_failed(struct unpack *u, const char *tarball)
{
	const char *why = archive_error_string(u->a);
	if (tar_truncated(why))
		seterr(u->err, u->errlen, TAR_MSG_TRUNCATED, u->done);
	else
		seterr(u->err, u->errlen, "%s is damaged: %s",
		       strcmp(tarball, "-") ? tarball : "the archive", why ? why : "unknown error");
	return -EIO;
}

/*
 * The folder dir (a clean relative name, "" for the root) beneath the root,
 * as an O_PATH fd, never following a symlink. For an entry's parent (link
 * NULL) missing folders are made, 0755 as tar makes the parents an archive
 * leaves out; for a hard link's target (link set) nothing is made. On
 * failure err names `entry` and what was in the way.
 */
static int open_dir_beneath(struct unpack *u, const char *dir, const char *entry, const char *link)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve =
				   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	char buf[PATH_MAX];
	int fd, ret;

	if (!dir[0])
		return fcntl(u->rootfd, F_DUPFD_CLOEXEC, 0);
	fd = (int)syscall(SYS_openat2, u->rootfd, dir, &how, sizeof how);
	if (fd >= 0)
		return fd;
	/* Slower, one name at a time: makes what is missing, and finds the
	 * name in the way to say which it is. No name here is "." or "..". */
	snprintf(buf, sizeof buf, "%s", dir);
	int cur = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0) {
		ret = -errno;
		goto fail;
	}
	for (char *p = buf;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = 0;
		fd = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && !link) {
			if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST) {
				ret = -errno;
				close(cur);
				goto fail;
			}
			fd = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			struct stat st;
			ret = -errno;
			if (ret == -ENOENT && link) {
				seterr(u->err, u->errlen, TAR_MSG_LINK_MISSING, entry, link);
			} else if ((ret == -ENOTDIR || ret == -ELOOP) &&
				   !fstatat(cur, p, &st, AT_SYMLINK_NOFOLLOW)) {
				/* buf now ends at the name in the way */
				if (S_ISLNK(st.st_mode) && link)
					seterr(u->err, u->errlen, TAR_MSG_LINK_THROUGH, entry, link,
					       buf);
				else if (S_ISLNK(st.st_mode))
					seterr(u->err, u->errlen, TAR_MSG_THROUGH, entry, buf);
				else
					seterr(u->err, u->errlen, TAR_MSG_NOT_DIR, entry, buf);
			} else {
				close(cur);
				goto fail;
			}
			close(cur);
			return ret;
		}
		close(cur);
		cur = fd;
		if (!slash)
			return cur;
		*slash = '/';
		p = slash + 1;
	}
fail:
	seterr(u->err, u->errlen, "the archive's entry '%s' cannot be placed: %s", entry,
	       strerror(-ret));
	return ret;
}

/* name's parent folder (see open_dir_beneath); *base is its last name. */
static int open_parent(struct unpack *u, const char *name, const char **base, const char *entry,
		       const char *link)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(name, '/');
	size_t n = slash ? (size_t)(slash - name) : 0;

	memcpy(dir, name, n);
	dir[n] = 0;
	*base = slash ? slash + 1 : name;
	return open_dir_beneath(u, dir, entry, link);
}

/* Tar replaces what an entry's name already holds: a file, a symlink (never
 * followed) or an empty folder. A folder with something in it stays, and
 * the creation that follows fails on it. */
static void make_room(int pfd, const char *base)
{
	if (unlinkat(pfd, base, 0) < 0 && (errno == EISDIR || errno == EPERM))
		unlinkat(pfd, base, AT_REMOVEDIR);
}

static void put_xattrs(struct archive_entry *e, int fd)
{
	const char *name;
	const void *val;
	size_t size;
	char hname[512];
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		if (!strncmp(name, LXS_XATTR_PREFIX, strlen(LXS_XATTR_PREFIX)))
			continue;
		if (!strncmp(name, "user.", 5))
			snprintf(hname, sizeof hname, "%s", name);
		else
			snprintf(hname, sizeof hname, "%s%s", LXS_XATTR_OTHER, name);
		fsetxattr(fd, hname, val, size, 0);
	}
}

/* 0; -EPROTO when libarchive failed (archive_failed() says why); -errno. */
static int write_data(struct archive *a, int fd, la_int64_t size)
{
	const void *buf;
	size_t n;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (n) {
			ssize_t w = pwrite(fd, p, n, off);
			if (w < 0)
				return -errno;
			p += w, n -= (size_t)w, off += w;
		}
	}
	if (r != ARCHIVE_EOF)
		return -EPROTO;
	/* a sparse tail leaves the size short */
	return ftruncate(fd, size) < 0 ? -errno : 0;
}

/* Directory times are set once every entry is in: writing an entry into a
 * directory changes its mtime, and entries may come in any order. */
struct dir_time {
	char *name; /* relative to the root; "" is the root itself */
	struct timespec ts[2];
};

static int remember_dir(struct dir_time **v, size_t *n, size_t *cap, const char *name,
			const struct timespec ts[2])
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct dir_time *nv = realloc(*v, nc * sizeof **v);
		if (!nv)
			return -ENOMEM;
		*v = nv, *cap = nc;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	(*v)[*n].name = copy;
	(*v)[*n].ts[0] = ts[0], (*v)[*n].ts[1] = ts[1];
	(*n)++;
	return 0;
}

/* Later entries for the same directory win, as they did when times were
 * set in passing; deepest first does not matter since setting a
 * directory's times leaves its parent's alone. */
static void restore_dir_times(int rootfd, struct dir_time *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].name[0]) {
			futimens(rootfd, v[i].ts);
			continue;
		}
		struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
						  RESOLVE_NO_MAGICLINKS};
		int fd = (int)syscall(SYS_openat2, rootfd, v[i].name, &how, sizeof how);
		if (fd < 0)
			continue;
		futimens(fd, v[i].ts);
		close(fd);
	}
}

/* A hard link entry: a second name for a file the archive made before it,
 * which gets the entry's data if it carries some (pax, cpio). */
static int put_hardlink(struct unpack *u, struct archive_entry *e, const char *name, int pfd,
			const char *base)
{
	char tname[PATH_MAX];
	const char *hl = archive_entry_hardlink(e), *tbase;
	struct stat ts, ls;
	int r, tfd, fd;

	r = clean_name(hl, tname, sizeof tname);
	if (r == -1)
		seterr(u->err, u->errlen, TAR_MSG_LINK_DOTDOT, name, hl);
	if (r == 0 && !tname[0])
		seterr(u->err, u->errlen, TAR_MSG_LINK_MISSING, name, hl);
	if (r == -2)
		seterr(u->err, u->errlen,
		       "the archive's entry '%s' links to a name too long to store", name);
	if (r < 0 || !tname[0])
		return -EINVAL;
	tfd = open_parent(u, tname, &tbase, name, hl);
	if (tfd < 0)
		return tfd;
	if (fstatat(tfd, tbase, &ts, AT_SYMLINK_NOFOLLOW) < 0) {
		seterr(u->err, u->errlen, TAR_MSG_LINK_MISSING, name, hl);
		close(tfd);
		return -ENOENT;
	}
	/* The name already being that file is not an error (tar archives a
	 * file's names in any order); anything else there is replaced. */
	if (fstatat(pfd, base, &ls, AT_SYMLINK_NOFOLLOW) < 0 || ls.st_dev != ts.st_dev ||
	    ls.st_ino != ts.st_ino) {
		make_room(pfd, base);
		/* flags 0: a target that is a symlink is linked, not followed */
		if (linkat(tfd, tbase, pfd, base, 0) < 0) {
			r = -errno;
			seterr(u->err, u->errlen,
			       "the archive's entry '%s' cannot be linked to '%s': %s", name, hl,
			       strerror(errno));
			close(tfd);
			return r;
		}
	}
	close(tfd);
	if (!S_ISREG(ts.st_mode) || archive_entry_size(e) <= 0)
		return 0;
	fd = openat(pfd, base, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		seterr(u->err, u->errlen, "the archive's entry '%s' cannot be written: %s", name,
		       strerror(errno));
		return r;
	}
	r = write_data(u->a, fd, archive_entry_size(e));
	if (r < 0 && r != -EPROTO)
		seterr(u->err, u->errlen, "the archive's entry '%s' cannot be written: %s", name,
		       strerror(-r));
	close(fd);
	return r;
}

/* The entry's own file (not a hard link), in pfd under base; its fd (-1
 * for a symlink) in *out. */
static int put_file(struct unpack *u, struct archive_entry *e, const char *name, int pfd,
		    const char *base, unsigned host_perm, int *out)
{
	unsigned type = archive_entry_mode(e) & S_IFMT;
	struct stat st;
	int fd = -1, r;

	*out = -1;
	switch (type) {
	case S_IFDIR:
		if (mkdirat(pfd, base, 0700) < 0) {
			if (errno != EEXIST || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
				goto sys;
			/* A folder over a symlink replaces the symlink, as GNU tar
			 * does; the folder it named is never touched. */
			if (!S_ISDIR(st.st_mode) &&
			    (unlinkat(pfd, base, 0) < 0 || mkdirat(pfd, base, 0700) < 0))
				goto sys;
		}
		fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			goto sys;
		break;
	case S_IFLNK: {
		const char *t = archive_entry_symlink(e);
		make_room(pfd, base);
		if (symlinkat(t ? t : "", pfd, base) < 0)
			goto sys;
		return 0;
	}
	default:
		/* regular files, and placeholders for everything else */
		make_room(pfd, base);
		fd = openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			goto sys;
		if (type == S_IFREG) {
			r = write_data(u->a, fd, archive_entry_size(e));
			if (r < 0) {
				close(fd);
				if (r == -EPROTO)
					return r;
				errno = -r;
				goto sys;
			}
		}
		break;
	}
	if (fchmod(fd, host_perm) < 0) {
		close(fd);
		goto sys;
	}
	*out = fd;
	return 0;
sys:
	r = -errno;
	seterr(u->err, u->errlen, "the archive's entry '%s' cannot be written: %s", name,
	       strerror(errno));
	return r;
}

/* The Linux metadata and xattrs of a new file, through its own fd. */
static int put_meta(struct unpack *u, struct archive_entry *e, const char *name, int fd,
		    unsigned host_perm)
{
	struct lxs_meta m = {(unsigned)archive_entry_uid(e), (unsigned)archive_entry_gid(e),
			     archive_entry_mode(e), (unsigned)archive_entry_rdevmajor(e),
			     (unsigned)archive_entry_rdevminor(e)};
	if (lxs_meta_needed(&m, host_perm)) {
		char v[LXS_META_MAX];
		if (fsetxattr(fd, LXS_META_XATTR, v, (size_t)lxs_meta_format(&m, v), 0) < 0) {
			int r = -errno;
			seterr(u->err, u->errlen,
			       "%s: cannot set %s: %s (does the file system take user xattrs?)",
			       name, LXS_META_XATTR, strerror(errno));
			return r;
		}
	}
	put_xattrs(e, fd);
	return 0;
}

int volfs_unpack(const char *tarball, const char *dir, volfs_progress_fn *progress, void *parg,
		 char *err, size_t errlen)
{
	struct unpack u = {.rootfd = -1, .err = err, .errlen = errlen};
	struct dir_time *dirs = NULL;
	size_t ndirs = 0, capdirs = 0;
	long entries = 0;
	long long bytes = 0;
	struct archive_entry *e;
	int ret = 0, r;
	char name[PATH_MAX];

	u.a = archive_read_new();
	if (!u.a)
		return -ENOMEM;
	archive_read_support_filter_all(u.a);
	archive_read_support_format_all(u.a);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		ret = -errno;
		seterr(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	u.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.rootfd < 0) {
		ret = -errno;
		seterr(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		goto out;
	}
	if (archive_read_open_filename(u.a, strcmp(tarball, "-") ? tarball : NULL, 1 << 20) !=
	    ARCHIVE_OK) {
		ret = -EIO;
		seterr(err, errlen, "%s: %s", tarball, archive_error_string(u.a));
		goto out;
	}
	while ((r = archive_read_next_header(u.a, &e)) == ARCHIVE_OK) {
		const char *base, *ename = archive_entry_pathname(e);
		entries++;
		bytes += archive_entry_size(e);
		if (progress && entries % 1000 == 0)
			progress(parg, entries, bytes);
		if (!ename)
			ename = "";
		r = clean_name(ename, name, sizeof name);
		if (r < 0) {
			ret = -EINVAL;
			if (r == -1)
				seterr(err, errlen, TAR_MSG_DOTDOT, ename);
			else
				seterr(
				    err, errlen,
				    "the archive's entry '%.200s...' has a name too long to store",
				    ename);
			goto out;
		}
		unsigned mode = archive_entry_mode(e), type = mode & S_IFMT;
		unsigned host_perm =
		    type == S_IFREG || type == S_IFDIR ? lxs_host_perm(mode) : 0600;
		const char *hl = archive_entry_hardlink(e);
		struct timespec ts[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
					 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
		if (!archive_entry_atime_is_set(e))
			ts[0] = ts[1];
		if (type == S_IFDIR && !hl &&
		    (ret = remember_dir(&dirs, &ndirs, &capdirs, name, ts)) < 0) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
		if (!name[0]) {
			/* the root itself: its metadata, nothing to create */
			if (type == S_IFDIR && !hl) {
				fchmod(u.rootfd, host_perm);
				if ((ret = put_meta(&u, e, "/", u.rootfd, host_perm)) < 0)
					goto out;
			}
			u.done++;
			continue;
		}
		int pfd = open_parent(&u, name, &base, name, NULL);
		if (pfd < 0) {
			ret = pfd;
			goto out;
		}
		int fd = -1;
		if (hl) {
			ret = put_hardlink(&u, e, name, pfd, base);
		} else {
			ret = put_file(&u, e, name, pfd, base, host_perm, &fd);
			if (!ret && fd >= 0)
				ret = put_meta(&u, e, name, fd, host_perm);
			if (!ret && fd >= 0 && type != S_IFDIR)
				futimens(fd, ts);
			else if (!ret && type == S_IFLNK)
				utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
		}
		if (fd >= 0)
			close(fd);
		close(pfd);
		if (ret == -EPROTO) {
			ret = archive_failed(&u, tarball);
			goto out;
		}
		if (ret < 0)
			goto out;
		u.done++;
	}
	if (r != ARCHIVE_EOF) {
		ret = archive_failed(&u, tarball);
	} else if (!u.done) {
		ret = -EINVAL;
		seterr(err, errlen, TAR_MSG_EMPTY);
	} else {
		restore_dir_times(u.rootfd, dirs, ndirs);
		if (progress)
			progress(parg, entries, bytes);
	}
out:
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i].name);
	free(dirs);
	if (u.rootfd >= 0)
		close(u.rootfd);
	archive_read_free(u.a);
	return ret;
}

/* ---- pack ------------------------------------------------------------------- */

static struct pack {
	struct archive *a;
	struct archive_entry_linkresolver *lr;
	size_t rootlen;
	char *err;
	size_t errlen;
	int ret;
	volfs_progress_fn *progress;
	void *parg;
	long entries;
	long long bytes;
} P;

static int copy_file(struct archive_entry *e)
{
	const char *src = archive_entry_sourcepath(e);
	char buf[1 << 16];
	if (!src || archive_entry_size(e) <= 0)
		return 0;
	int fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (archive_write_data(P.a, buf, (size_t)n) < 0) {
			close(fd);
			return 1; /* the tarball's fault, not the source's */
		}
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * Writing the tarball failed: its errno (a full disk, a closed pipe) is the
 * cause, which libarchive's "Write error" alone does not say, and the file
 * being read at the time is not to blame.
 */
static int write_failed(struct archive_entry *e)
{
	int en = archive_errno(P.a);

	if (en > 0 && en != EINVAL) {
		seterr(P.err, P.errlen, "cannot write the tarball (at %s): %s",
		       archive_entry_pathname(e), strerror(en));
		return -en;
	}
	seterr(P.err, P.errlen, "%s: %s", archive_entry_pathname(e), archive_error_string(P.a));
	return -EIO;
}

static int emit(struct archive_entry *e)
{
	if (archive_write_header(P.a, e) != ARCHIVE_OK)
		return write_failed(e);
	if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 &&
	    !archive_entry_hardlink(e)) {
		int r = copy_file(e);
		if (r > 0)
			return write_failed(e);
		if (r < 0) {
			seterr(P.err, P.errlen, "%s: %s", archive_entry_sourcepath(e),
			       strerror(-r));
			return r;
		}
	}
	return 0;
}

static int pack_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag, (void)ftw;
	char name[PATH_MAX + 2], v[LXS_META_MAX], list[65536], val[65536];
	struct lxs_meta m = {0, 0, st->st_mode, major(st->st_rdev), minor(st->st_rdev)};
	const char *rel = path + P.rootlen;
	while (*rel == '/')
		rel++;
	snprintf(name, sizeof name, "./%s", rel);
	if (!S_ISLNK(st->st_mode)) {
		ssize_t n = lgetxattr(path, LXS_META_XATTR, v, sizeof v);
		if (n > 0 && lxs_meta_parse(v, n, &m) < 0)
			m = (struct lxs_meta){0, 0, st->st_mode, major(st->st_rdev),
					      minor(st->st_rdev)};
	}
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_uid(e, m.uid);
	archive_entry_set_gid(e, m.gid);
	archive_entry_set_mode(e, m.mode);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	archive_entry_set_dev(e, st->st_dev);
	archive_entry_set_ino64(e, st->st_ino);
	archive_entry_set_nlink(e, (unsigned)st->st_nlink);
	if (S_ISCHR(m.mode) || S_ISBLK(m.mode)) {
		archive_entry_set_rdevmajor(e, m.major);
		archive_entry_set_rdevminor(e, m.minor);
	}
	if (S_ISREG(m.mode)) {
		archive_entry_set_size(e, st->st_size);
		archive_entry_copy_sourcepath(e, path);
	} else {
		archive_entry_set_size(e, 0);
	}
	if (S_ISLNK(st->st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(path, t, sizeof t - 1);
		if (n < 0)
			n = 0;
		t[n] = 0;
		archive_entry_set_symlink(e, t);
	} else {
		ssize_t n = llistxattr(path, list, sizeof list);
		for (ssize_t o = 0; n > 0 && o < n; o += (ssize_t)strlen(list + o) + 1) {
			const char *hn = list + o, *gn;
			if (!strncmp(hn, LXS_XATTR_OTHER, strlen(LXS_XATTR_OTHER)))
				gn = hn + strlen(LXS_XATTR_OTHER);
			else if (!strncmp(hn, LXS_XATTR_PREFIX, strlen(LXS_XATTR_PREFIX)) ||
				 strncmp(hn, "user.", 5))
				continue;
			else
				gn = hn;
			ssize_t vl = lgetxattr(path, hn, val, sizeof val);
			if (vl >= 0)
				archive_entry_xattr_add_entry(e, gn, val, (size_t)vl);
		}
	}
	P.entries++;
	if (S_ISREG(m.mode))
		P.bytes += st->st_size;
	if (P.progress && P.entries % 1000 == 0)
		P.progress(P.parg, P.entries, P.bytes);
	struct archive_entry *sparse = NULL;
	archive_entry_linkify(P.lr, &e, &sparse);
	int r = 0;
	if (e)
		r = emit(e);
	if (!r && sparse)
		r = emit(sparse);
	if (e)
		archive_entry_free(e);
	if (r < 0) {
		P.ret = r;
		return 1;
	}
	return 0;
}

int volfs_pack(const char *dir, const char *tarball, volfs_progress_fn *progress, void *parg,
	       char *err, size_t errlen)
{
	char root[PATH_MAX];
	int ret = 0;
	if (!realpath(dir, root)) {
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	memset(&P, 0, sizeof P);
	P.err = err, P.errlen = errlen, P.rootlen = strlen(root);
	P.progress = progress, P.parg = parg;
	P.a = archive_write_new();
	P.lr = archive_entry_linkresolver_new();
	if (!P.a || !P.lr) {
		ret = -ENOMEM;
		goto out;
	}
	archive_write_set_format_pax_restricted(P.a);
	archive_entry_linkresolver_set_strategy(P.lr, archive_format(P.a));
	size_t tl = strlen(tarball);
	if (tl > 4 && !strcmp(tarball + tl - 4, ".zst"))
		archive_write_add_filter_zstd(P.a);
	else if (tl > 3 && !strcmp(tarball + tl - 3, ".gz"))
		archive_write_add_filter_gzip(P.a);
	else if (tl > 3 && !strcmp(tarball + tl - 3, ".xz"))
		archive_write_add_filter_xz(P.a);
	if (archive_write_open_filename(P.a, strcmp(tarball, "-") ? tarball : NULL) != ARCHIVE_OK) {
		seterr(err, errlen, "%s: %s", tarball, archive_error_string(P.a));
		ret = -EIO;
		goto out;
	}
	if (nftw(root, pack_one, 64, FTW_PHYS) != 0 && !P.ret)
		P.ret = -errno;
	ret = P.ret;
	if (!ret) {
		struct archive_entry *e = NULL, *sparse = NULL;
		for (;;) {
			archive_entry_linkify(P.lr, &e, &sparse);
			if (!e)
				break;
			ret = emit(e);
			archive_entry_free(e);
			e = NULL;
			if (ret)
				break;
		}
	}
	if (archive_write_close(P.a) != ARCHIVE_OK && !ret) {
		int en = archive_errno(P.a);

		if (en > 0 && en != EINVAL)
			seterr(err, errlen, "cannot write the tarball: %s", strerror(en));
		else
			seterr(err, errlen, "%s: %s", tarball, archive_error_string(P.a));
		ret = en > 0 && en != EINVAL ? -en : -EIO;
	}
	if (!ret && progress)
		progress(parg, P.entries, P.bytes);
out:
	if (P.lr)
		archive_entry_linkresolver_free(P.lr);
	if (P.a)
		archive_write_free(P.a);
	if (ret && !err[0])
		seterr(err, errlen, "%s", strerror(-ret));
	return ret;
}
