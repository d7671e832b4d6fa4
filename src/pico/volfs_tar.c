/*
 * volfs_tar.c - libarchive <-> VolFs folder (see volfs_tar.h, meta.h).
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

#include "pico/meta.h"
#include "pico/volfs_tar.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "./a/../b", "/a" -> "a/b"-style relative names; NULL if it climbs out. */
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
			return -1;
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = 0;
	return 0;
}

/* The directory an entry goes into, resolved inside the root the way the
 * guest will see it (absolute symlinks stay inside). Creates missing
 * parents. Returns an O_PATH fd and points *base at the last component. */
static int open_parent(int rootfd, char *name, const char **base)
{
	char *slash = strrchr(name, '/');
	if (!slash) {
		*base = name;
		return dup(rootfd);
	}
	*slash = 0;
	*base = slash + 1;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, rootfd, name, &how, sizeof how);
	if (fd < 0 && errno == ENOENT) {
		/* mkdir -p, one component at a time, inside the root */
		char *p = name;
		for (;;) {
			char *e = strchr(p, '/');
			if (e)
				*e = 0;
			int pfd;
			const char *b;
			char tmp[PATH_MAX];
			snprintf(tmp, sizeof tmp, "%s", name);
			pfd = open_parent(rootfd, tmp, &b);
			if (pfd >= 0) {
				if (mkdirat(pfd, b, 0755) < 0 && errno != EEXIST) {
					close(pfd);
					*slash = '/';
					return -1;
				}
				close(pfd);
			}
			if (!e)
				break;
			*e = '/';
			p = e + 1;
		}
		fd = (int)syscall(SYS_openat2, rootfd, name, &how, sizeof how);
	}
	*slash = '/';
	return fd;
}

static void put_xattrs(struct archive_entry *e, const char *path)
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
		lsetxattr(path, hname, val, size, 0);
	}
}

static int write_data(struct archive *a, int fd)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (size) {
			ssize_t w = pwrite(fd, p, size, off);
			if (w < 0)
				return -errno;
			p += w, size -= (size_t)w, off += w;
		}
	}
	if (r != ARCHIVE_EOF)
		return -EIO;
	/* a sparse tail: make the size right */
	return 0;
}

/* Directory times are set once every entry is in: writing an entry into a
 * directory changes its mtime, and entries may come in any order. */
struct dir_time {
	char *name; /* relative to the root; "" is the root itself */
	struct timespec ts[2];
};

static int remember_dir(struct dir_time **v, size_t *n, size_t *cap, const char *name, const struct timespec ts[2])
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
static void restore_dir_times(int rootfd, const char *dir, struct dir_time *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].name[0]) {
			utimensat(AT_FDCWD, dir, v[i].ts, 0);
			continue;
		}
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		int fd = (int)syscall(SYS_openat2, rootfd, v[i].name, &how, sizeof how);
		if (fd < 0)
			continue;
		utimensat(fd, "", v[i].ts, AT_EMPTY_PATH);
		close(fd);
	}
}

int volfs_unpack(const char *tarball, const char *dir, volfs_progress_fn *progress, void *parg, char *err,
		 size_t errlen)
{
	struct dir_time *dirs = NULL;
	size_t ndirs = 0, capdirs = 0;
	long entries = 0;
	long long bytes = 0;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int rootfd = -1, ret = 0, r;
	char name[PATH_MAX], path[PATH_MAX * 2], link[PATH_MAX];

	if (!a)
		return -ENOMEM;
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		ret = -errno;
		seterr(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		ret = -errno;
		seterr(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		goto out;
	}
	if (archive_read_open_filename(a, strcmp(tarball, "-") ? tarball : NULL, 1 << 20) != ARCHIVE_OK) {
		ret = -EIO;
		seterr(err, errlen, "%s: %s", tarball, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *base;
		entries++;
		bytes += archive_entry_size(e);
		if (progress && entries % 1000 == 0)
			progress(parg, entries, bytes);
		if (clean_name(archive_entry_pathname(e), name, sizeof name) < 0) {
			fprintf(stderr, "lxs-pico: skipping %s (outside the root)\n", archive_entry_pathname(e));
			continue;
		}
		unsigned mode = archive_entry_mode(e);
		unsigned type = mode & S_IFMT;
		struct lxs_meta m = {(unsigned)archive_entry_uid(e), (unsigned)archive_entry_gid(e), mode,
				     (unsigned)archive_entry_rdevmajor(e), (unsigned)archive_entry_rdevminor(e)};
		struct timespec ts[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
					 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
		if (!archive_entry_atime_is_set(e))
			ts[0] = ts[1];
		if (type == S_IFDIR && !archive_entry_hardlink(e) &&
		    (ret = remember_dir(&dirs, &ndirs, &capdirs, name, ts)) < 0) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
		if (!name[0]) {
			/* the root itself: its metadata, nothing to create */
			char rp[PATH_MAX];
			snprintf(rp, sizeof rp, "%s", dir);
			chmod(rp, lxs_host_perm(mode));
			if (lxs_meta_needed(&m, lxs_host_perm(mode))) {
				char v[LXS_META_MAX];
				setxattr(rp, LXS_META_XATTR, v, (size_t)lxs_meta_format(&m, v), 0);
			}
			continue;
		}
		int pfd = open_parent(rootfd, name, &base);
		if (pfd < 0) {
			ret = -errno;
			seterr(err, errlen, "%s: parent: %s", name, strerror(errno));
			goto out;
		}
		/* All later calls by path, through the parent fd. */
		snprintf(path, sizeof path, "/proc/self/fd/%d/%s", pfd, base);
		const char *hl = archive_entry_hardlink(e);
		int fd = -1;
		unsigned host_perm = lxs_host_perm(mode);
		if (hl) {
			char tname[PATH_MAX];
			if (clean_name(hl, tname, sizeof tname) < 0) {
				close(pfd);
				continue;
			}
			unlinkat(pfd, base, 0);
			if (linkat(rootfd, tname, pfd, base, 0) < 0) {
				ret = -errno;
				seterr(err, errlen, "%s: link to %s: %s", name, tname, strerror(errno));
				close(pfd);
				goto out;
			}
			/* the data, if any, belongs to the one inode */
			fd = openat(pfd, base, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0 && archive_entry_size(e) > 0)
				write_data(a, fd);
			if (fd >= 0)
				close(fd);
			close(pfd);
			continue;
		}
		switch (type) {
		case S_IFDIR:
			if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST) {
				ret = -errno;
				break;
			}
			fchmodat(pfd, base, host_perm, 0);
			break;
		case S_IFLNK:
			snprintf(link, sizeof link, "%s", archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
			unlinkat(pfd, base, 0);
			if (symlinkat(link, pfd, base) < 0)
				ret = -errno;
			break;
		default:
			/* regular files, and placeholders for everything else */
			if (type != S_IFREG)
				host_perm = 0600;
			unlinkat(pfd, base, 0);
			fd = openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0) {
				ret = -errno;
				break;
			}
			if (type == S_IFREG) {
				r = write_data(a, fd);
				if (r < 0) {
					ret = r;
					break;
				}
				if (ftruncate(fd, archive_entry_size(e)) < 0) {
					ret = -errno;
					break;
				}
			}
			fchmod(fd, host_perm);
			break;
		}
		if (ret < 0) {
			seterr(err, errlen, "%s: %s", name, strerror(-ret));
			if (fd >= 0)
				close(fd);
			close(pfd);
			goto out;
		}
		if (type != S_IFLNK) {
			if (lxs_meta_needed(&m, host_perm)) {
				char v[LXS_META_MAX];
				if (lsetxattr(path, LXS_META_XATTR, v, (size_t)lxs_meta_format(&m, v), 0) < 0) {
					ret = -errno;
					seterr(err, errlen, "%s: cannot set %s: %s (does the file system take user xattrs?)",
					       name, LXS_META_XATTR, strerror(errno));
					if (fd >= 0)
						close(fd);
					close(pfd);
					goto out;
				}
			}
			put_xattrs(e, path);
		}
		if (fd >= 0) {
			futimens(fd, ts);
			close(fd);
		} else if (type != S_IFDIR) {
			utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
		}
		close(pfd);
	}
	if (r != ARCHIVE_EOF) {
		ret = -EIO;
		seterr(err, errlen, "%s: %s", tarball, archive_error_string(a));
	} else {
		restore_dir_times(rootfd, dir, dirs, ndirs);
		if (progress)
			progress(parg, entries, bytes);
	}
out:
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i].name);
	free(dirs);
	if (rootfd >= 0)
		close(rootfd);
	archive_read_free(a);
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
			return -EIO;
		}
	close(fd);
	return n < 0 ? -errno : 0;
}

static int emit(struct archive_entry *e)
{
	if (archive_write_header(P.a, e) != ARCHIVE_OK) {
		seterr(P.err, P.errlen, "%s: %s", archive_entry_pathname(e), archive_error_string(P.a));
		return -EIO;
	}
	if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
		int r = copy_file(e);
		if (r < 0) {
			seterr(P.err, P.errlen, "%s: %s", archive_entry_sourcepath(e), strerror(-r));
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
			m = (struct lxs_meta){0, 0, st->st_mode, major(st->st_rdev), minor(st->st_rdev)};
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
			else if (!strncmp(hn, LXS_XATTR_PREFIX, strlen(LXS_XATTR_PREFIX)) || strncmp(hn, "user.", 5))
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

int volfs_pack(const char *dir, const char *tarball, volfs_progress_fn *progress, void *parg, char *err,
	       size_t errlen)
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
		seterr(err, errlen, "%s: %s", tarball, archive_error_string(P.a));
		ret = -EIO;
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
