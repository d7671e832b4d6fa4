/*
 * export.c - image_to_tar(): the file tree of an ext4 image becomes a pax
 * tarball, read with libext2fs (no mount) and written with libarchive.
 *
 * The tree is walked depth first with each directory's names sorted, so the
 * same image always gives the same tarball. File data is read straight from
 * the extents in large pieces; holes become pax sparse entries, ACLs
 * libarchive ACL entries (SCHILY.acl.*), other xattrs SCHILY.xattr.*.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include <ext2fs/ext2_ext_attr.h>

#include "internal.h"

#define CHUNK          (1u << 20)
#define PROGRESS_BYTES (8u << 20)
#define INODE_BUF      1024

struct dent {
	ext2_ino_t ino;
	char *name;
};

struct dlist {
	struct dent *v;
	size_t n, cap;
	bool oom;
};

struct hlink {
	ext2_ino_t ino;
	char *path;
};

union ibuf {
	struct ext2_inode_large l;
	char raw[INODE_BUF];
};

struct exp {
	ext2_filsys fs;
	struct archive *a;
	struct archive_entry *e;
	const char *image_name;
	char *err;
	size_t errlen;
	bool fatal;

	image_progress_fn cb;
	void *cb_arg;
	struct image_progress prog;
	uint64_t next_report;
	char warnbuf[600];

	unsigned int bs, inode_size;
	char *path;
	size_t path_cap;
	struct hlink *links; /* open addressing on ino */
	size_t links_cap, links_used;
	struct img_run *runs;
	size_t nruns, runs_cap;
	uint8_t *buf, *zero;
};

static int fail(struct exp *x, int neg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct exp *x, int neg, const char *fmt, ...)
{
	va_list ap;

	if (x->fatal)
		return neg;
	x->fatal = true;
	if (x->err && x->errlen) {
		va_start(ap, fmt);
		vsnprintf(x->err, x->errlen, fmt, ap);
		va_end(ap);
	}
	return neg;
}

static int fail_ext2(struct exp *x, errcode_t code, const char *path)
{
	return fail(x, img_ext2_errno(code), "cannot read %s from %s: %s", path, x->image_name,
		    img_ext2_msg(code));
}

static int fail_archive(struct exp *x, const char *path)
{
	int e = archive_errno(x->a);

	/* A failed write's errno says why ("Write error" alone hides a full disk). */
	if (e > 0 && e != EINVAL)
		return fail(x, -e, "cannot write the tarball (at %s): %s", path, strerror(e));
	return fail(x, e > 0 ? -e : -EIO, "cannot write %s to the tarball: %s", path,
		    archive_error_string(x->a) ? archive_error_string(x->a) : "unknown error");
}

static int report(struct exp *x, const char *warning)
{
	int r;

	x->prog.out_bytes = (uint64_t)archive_filter_bytes(x->a, -1);
	if (x->prog.in_total && x->prog.in_bytes > x->prog.in_total)
		x->prog.in_total = x->prog.in_bytes;
	x->prog.warning = warning;
	if (!x->cb) {
		if (warning)
			log_warnx("%s", warning);
		return 0;
	}
	r = x->cb(&x->prog, x->cb_arg);
	x->prog.warning = NULL;
	if (r)
		return fail(x, -ECANCELED, "the export of %s was cancelled", x->image_name);
	return 0;
}

static int skip(struct exp *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int skip(struct exp *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->warnbuf, sizeof(x->warnbuf), fmt, ap);
	va_end(ap);
	x->prog.skipped++;
	return report(x, x->warnbuf);
}

/* ---- hard links: the first path of each inode with several names ---------- */

static const char *link_find(const struct exp *x, ext2_ino_t ino)
{
	size_t i;

	if (!x->links_cap)
		return NULL;
	for (i = (ino * 2654435761u) & (x->links_cap - 1); x->links[i].ino;
	     i = (i + 1) & (x->links_cap - 1))
		if (x->links[i].ino == ino)
			return x->links[i].path;
	return NULL;
}

static int link_add(struct exp *x, ext2_ino_t ino, const char *path)
{
	size_t i;

	if ((x->links_used + 1) * 2 > x->links_cap) {
		size_t cap = x->links_cap ? x->links_cap * 2 : 1024, j;
		struct hlink *old = x->links, *p = calloc(cap, sizeof(*p));

		if (!p)
			return fail(x, -ENOMEM, "out of memory");
		for (j = 0; j < x->links_cap; j++) {
			if (!old[j].ino)
				continue;
			for (i = (old[j].ino * 2654435761u) & (cap - 1); p[i].ino;
			     i = (i + 1) & (cap - 1))
				;
			p[i] = old[j];
		}
		free(old);
		x->links = p;
		x->links_cap = cap;
	}
	for (i = (ino * 2654435761u) & (x->links_cap - 1); x->links[i].ino;
	     i = (i + 1) & (x->links_cap - 1))
		;
	x->links[i].path = strdup(path);
	if (!x->links[i].path)
		return fail(x, -ENOMEM, "out of memory");
	x->links[i].ino = ino;
	x->links_used++;
	return 0;
}

/* ---- metadata ----------------------------------------------------------- */

/* Whether the inode's extra fields reach past `end` bytes of ext2_inode_large. */
static bool has_extra(const struct exp *x, const struct ext2_inode_large *li, size_t end)
{
	return x->inode_size > EXT2_GOOD_OLD_INODE_SIZE &&
	       (size_t)EXT2_GOOD_OLD_INODE_SIZE + li->i_extra_isize >= end;
}

static void set_times(struct exp *x, const struct ext2_inode_large *li)
{
	int64_t s;
	long ns;

	img_time_decode(li->i_mtime, li->i_mtime_extra,
			has_extra(x, li, offsetof(struct ext2_inode_large, i_mtime_extra) + 4), &s,
			&ns);
	archive_entry_set_mtime(x->e, (time_t)s, ns);
	img_time_decode(li->i_atime, li->i_atime_extra,
			has_extra(x, li, offsetof(struct ext2_inode_large, i_atime_extra) + 4), &s,
			&ns);
	archive_entry_set_atime(x->e, (time_t)s, ns);
	img_time_decode(li->i_ctime, li->i_ctime_extra,
			has_extra(x, li, offsetof(struct ext2_inode_large, i_ctime_extra) + 4), &s,
			&ns);
	archive_entry_set_ctime(x->e, (time_t)s, ns);
}

static int acl_tag(uint16_t t)
{
	switch (t) {
	case 0x01:
		return ARCHIVE_ENTRY_ACL_USER_OBJ;
	case 0x02:
		return ARCHIVE_ENTRY_ACL_USER;
	case 0x04:
		return ARCHIVE_ENTRY_ACL_GROUP_OBJ;
	case 0x08:
		return ARCHIVE_ENTRY_ACL_GROUP;
	case 0x10:
		return ARCHIVE_ENTRY_ACL_MASK;
	case 0x20:
		return ARCHIVE_ENTRY_ACL_OTHER;
	default:
		return 0;
	}
}

/* An ACL xattr (Linux layout: u32 version, then {u16 tag, u16 perm, u32 id}) as libarchive ACL
 * entries. */
static void add_acl(struct exp *x, int type, const uint8_t *v, size_t len)
{
	size_t off;

	for (off = 4; off + 8 <= len; off += 8) {
		uint16_t tag, perm;
		uint32_t id;
		int at;

		memcpy(&tag, v + off, 2);
		memcpy(&perm, v + off + 2, 2);
		memcpy(&id, v + off + 4, 4);
		at = acl_tag(tag);
		if (!at)
			continue;
		archive_entry_acl_add_entry(
		    x->e, type, perm & 7, at,
		    (at == ARCHIVE_ENTRY_ACL_USER || at == ARCHIVE_ENTRY_ACL_GROUP) ? (int)id : -1,
		    NULL);
	}
}

struct xattr_walk {
	struct exp *x;
	struct ext2_xattr_handle *h;
};

static int xattr_one(char *name, char *value, size_t len, void *priv)
{
	struct xattr_walk *w = priv;
	int type = 0;
	void *v;
	size_t vlen;

	if (!strcmp(name, "system.data"))
		return 0; /* inline data: the file's contents, not an attribute */
	if (!strcmp(name, "system.posix_acl_access"))
		type = ARCHIVE_ENTRY_ACL_TYPE_ACCESS;
	else if (!strcmp(name, "system.posix_acl_default"))
		type = ARCHIVE_ENTRY_ACL_TYPE_DEFAULT;
	if (!type) {
		archive_entry_xattr_add_entry(w->x->e, name, value, len);
		return 0;
	}
	/* Iteration shows ext4's compact ACL layout; _get converts it to Linux's. */
	if (ext2fs_xattr_get(w->h, name, &v, &vlen) == 0) {
		add_acl(w->x, type, v, vlen);
		ext2fs_free_mem(&v);
	}
	return 0;
}

static int add_xattrs(struct exp *x, ext2_ino_t ino, const union ibuf *ib, const char *path)
{
	const struct ext2_inode_large *li = &ib->l;
	size_t at = (size_t)EXT2_GOOD_OLD_INODE_SIZE + li->i_extra_isize;
	struct ext2_xattr_handle *h;
	__u32 magic = 0;
	errcode_t err;

	/* Most files have none: skip the handle unless the body or a block holds some. */
	if (x->inode_size > EXT2_GOOD_OLD_INODE_SIZE && at + sizeof(magic) <= x->inode_size)
		memcpy(&magic, ib->raw + at, sizeof(magic));
	if (magic != EXT2_EXT_ATTR_MAGIC &&
	    !ext2fs_file_acl_block(x->fs, (const struct ext2_inode *)li))
		return 0;
	err = ext2fs_xattrs_open(x->fs, ino, &h);
	if (err)
		return fail_ext2(x, err, path);
	err = ext2fs_xattrs_read(h);
	if (!err) {
		struct xattr_walk w = {x, h};

		err = ext2fs_xattrs_iterate(h, xattr_one, &w);
	}
	ext2fs_xattrs_close(&h);
	return err ? fail_ext2(x, err, path) : 0;
}

/* ---- data ---------------------------------------------------------------- */

static int load_runs(struct exp *x, ext2_ino_t ino, struct ext2_inode_large *li, const char *path)
{
	errcode_t err = 0;
	int r = img_load_runs(x->fs, ino, (struct ext2_inode *)li, IMG_RUNS_DATA_ONLY, &x->runs,
			      &x->nruns, &x->runs_cap, &err);

	if (r == -ENOMEM)
		return fail(x, -ENOMEM, "out of memory");
	return r < 0 ? fail_ext2(x, err, path) : 0;
}

static int put(struct exp *x, const void *p, size_t n, const char *path)
{
	la_ssize_t w = archive_write_data(x->a, p, n);

	if (w < 0 || (size_t)w != n)
		return fail_archive(x, path);
	x->prog.in_bytes += n;
	if (x->prog.in_bytes >= x->next_report) {
		x->next_report = x->prog.in_bytes + PROGRESS_BYTES;
		return report(x, NULL);
	}
	return 0;
}

static int put_zeros(struct exp *x, uint64_t n, const char *path)
{
	int r = 0;

	while (!r && n) {
		size_t c = n < CHUNK ? (size_t)n : CHUNK;

		r = put(x, x->zero, c, path);
		n -= c;
	}
	return r;
}

/* The data of an extent-mapped file, run by run, holes fed as zeros (the writer drops them). */
static int put_extents(struct exp *x, uint64_t size, const char *path)
{
	uint64_t pos = 0;
	size_t i;
	int r;

	for (i = 0; i < x->nruns && pos < size; i++) {
		uint64_t start = x->runs[i].lblk * x->bs, done = 0;
		uint64_t len = x->runs[i].len * x->bs;

		if (start >= size)
			break;
		if (start > pos) {
			r = put_zeros(x, start - pos, path);
			if (r)
				return r;
			pos = start;
		}
		if (len > size - start)
			len = size - start;
		while (done < len) {
			size_t c = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
			blk64_t nb = (c + x->bs - 1) / x->bs;
			errcode_t err = io_channel_read_blk64(
			    x->fs->io, x->runs[i].pblk + done / x->bs, (int)nb, x->buf);

			if (err)
				return fail_ext2(x, err, path);
			r = put(x, x->buf, c, path);
			if (r)
				return r;
			done += c;
		}
		pos = start + len;
	}
	return pos < size ? put_zeros(x, size - pos, path) : 0;
}

/* Anything else (inline data, block-mapped files of old images): the generic reader. */
static int put_file(struct exp *x, ext2_ino_t ino, uint64_t size, const char *path)
{
	ext2_file_t f;
	errcode_t err;
	uint64_t done = 0;
	int r = 0;

	err = ext2fs_file_open(x->fs, ino, 0, &f);
	if (err)
		return fail_ext2(x, err, path);
	while (!r && done < size) {
		unsigned int got = 0;
		unsigned int want = size - done < CHUNK ? (unsigned int)(size - done) : CHUNK;

		err = ext2fs_file_read(f, x->buf, want, &got);
		if (err || !got) {
			r = err ? fail_ext2(x, err, path)
				: fail(x, -EIO, "%s in %s is shorter than its size", path,
				       x->image_name);
			break;
		}
		r = put(x, x->buf, got, path);
		done += got;
	}
	ext2fs_file_close(f);
	return r;
}

/* ---- the walk ------------------------------------------------------------ */

static int read_symlink(struct exp *x, ext2_ino_t ino, struct ext2_inode_large *li, char *out,
			const char *path)
{
	uint64_t size = EXT2_I_SIZE(li);
	ext2_file_t f;
	unsigned int got = 0;
	errcode_t err;

	if (size >= x->bs)
		return fail(x, -EINVAL, "the symbolic link %s in %s is damaged", path,
			    x->image_name);
	if (ext2fs_is_fast_symlink((struct ext2_inode *)li)) {
		memcpy(out, li->i_block, size);
		out[size] = 0;
		return 0;
	}
	err = ext2fs_file_open(x->fs, ino, 0, &f);
	if (err)
		return fail_ext2(x, err, path);
	err = ext2fs_file_read(f, out, (unsigned int)size, &got);
	ext2fs_file_close(f);
	if (err)
		return fail_ext2(x, err, path);
	out[got] = 0;
	return 0;
}

static int entry(struct exp *x, ext2_ino_t ino, const char *path, bool *is_dir)
{
	union ibuf ib;
	struct ext2_inode_large *li = &ib.l;
	const char *first = NULL;
	uint64_t size = 0;
	char *target = NULL;
	errcode_t err;
	int r;

	err = ext2fs_read_inode_full(x->fs, ino, (struct ext2_inode *)li, x->inode_size);
	if (err)
		return fail_ext2(x, err, path);
	*is_dir = LINUX_S_ISDIR(li->i_mode);
	archive_entry_clear(x->e);
	archive_entry_copy_pathname(x->e, path);
	archive_entry_set_mode(x->e, li->i_mode);
	archive_entry_set_uid(x->e, inode_uid(*li));
	archive_entry_set_gid(x->e, inode_gid(*li));
	set_times(x, li);
	archive_entry_set_size(x->e, 0);

	switch (li->i_mode & LINUX_S_IFMT) {
	case LINUX_S_IFDIR:
	case LINUX_S_IFIFO:
		break;
	case LINUX_S_IFSOCK:
		return skip(x, "%s: skipped, tar cannot hold a socket", path);
	case LINUX_S_IFCHR:
	case LINUX_S_IFBLK: {
		unsigned int ma, mi;

		img_rdev_decode((struct ext2_inode *)li, &ma, &mi);
		archive_entry_set_rdevmajor(x->e, ma);
		archive_entry_set_rdevminor(x->e, mi);
		break;
	}
	case LINUX_S_IFLNK:
		target = malloc(x->bs);
		if (!target)
			return fail(x, -ENOMEM, "out of memory");
		r = read_symlink(x, ino, li, target, path);
		if (r) {
			free(target);
			return r;
		}
		archive_entry_copy_symlink(x->e, target);
		free(target);
		break;
	case LINUX_S_IFREG:
		size = EXT2_I_SIZE(li);
		break;
	default:
		return skip(x, "%s: skipped, unknown file type 0%o", path,
			    li->i_mode & LINUX_S_IFMT);
	}
	if (!*is_dir && li->i_links_count > 1) {
		first = link_find(x, ino);
		if (first) {
			archive_entry_copy_hardlink(x->e, first);
			size = 0;
		} else {
			r = link_add(x, ino, path);
			if (r)
				return r;
		}
	}
	r = add_xattrs(x, ino, &ib, path);
	if (r)
		return r;

	if (size) {
		archive_entry_set_size(x->e, (la_int64_t)size);
		if (li->i_flags & EXT4_EXTENTS_FL) {
			uint64_t mapped = 0;
			size_t i;

			r = load_runs(x, ino, li, path);
			if (r)
				return r;
			for (i = 0; i < x->nruns; i++)
				mapped += x->runs[i].len * x->bs;
			/* Holes: say where the data is, the rest is restored as holes. */
			if (mapped < size) {
				for (i = 0; i < x->nruns; i++) {
					uint64_t s = x->runs[i].lblk * x->bs,
						 l = x->runs[i].len * x->bs;

					if (s >= size)
						break;
					archive_entry_sparse_add_entry(
					    x->e, (la_int64_t)s,
					    (la_int64_t)(l < size - s ? l : size - s));
				}
				/* A zero-length region at the end records a trailing hole. */
				archive_entry_sparse_add_entry(x->e, (la_int64_t)size, 0);
			}
		}
	}
	r = archive_write_header(x->a, x->e);
	if (r == ARCHIVE_FAILED)
		return skip(x, "%s: skipped: %s", path, archive_error_string(x->a));
	if (r < ARCHIVE_WARN)
		return fail_archive(x, path);
	if (size) {
		r = li->i_flags & EXT4_EXTENTS_FL ? put_extents(x, size, path)
						  : put_file(x, ino, size, path);
		if (r)
			return r;
	}
	x->prog.entries++;
	return report(x, NULL);
}

static int collect(ext2_ino_t dir, int entry_kind, struct ext2_dir_entry *de, int offset,
		   int blocksize, char *buf, void *priv)
{
	struct dlist *l = priv;
	int len = ext2fs_dirent_name_len(de);

	(void)dir;
	(void)entry_kind;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (img_dirent_is_dot(de))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct dent *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = true;
			return DIRENT_ABORT;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strndup(de->name, (size_t)len);
	if (!l->v[l->n].name) {
		l->oom = true;
		return DIRENT_ABORT;
	}
	l->v[l->n++].ino = de->inode;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

/* x->path holds the directory's path (len bytes, ending in '/'). */
static int walk(struct exp *x, ext2_ino_t dir, size_t len, unsigned int depth)
{
	struct dlist l = {0};
	errcode_t err;
	size_t i;
	int r = 0;

	if (depth > 4096)
		return fail(x, -ELOOP, "%s has directories nested too deep", x->image_name);
	err = ext2fs_dir_iterate2(x->fs, dir, 0, NULL, collect, &l);
	if (l.oom)
		r = fail(x, -ENOMEM, "out of memory");
	else if (err)
		r = fail_ext2(x, err, x->path);
	if (!r && l.n)
		qsort(l.v, l.n, sizeof(*l.v), by_name);
	for (i = 0; !r && i < l.n; i++) {
		size_t nl = strlen(l.v[i].name);
		bool is_dir = false;

		if (len + nl + 2 > x->path_cap) {
			size_t cap = (len + nl + 2) * 2;
			char *p = realloc(x->path, cap);

			if (!p) {
				r = fail(x, -ENOMEM, "out of memory");
				break;
			}
			x->path = p;
			x->path_cap = cap;
		}
		memcpy(x->path + len, l.v[i].name, nl + 1);
		r = entry(x, l.v[i].ino, x->path, &is_dir);
		if (!r && is_dir) {
			x->path[len + nl] = '/';
			x->path[len + nl + 1] = 0;
			r = walk(x, l.v[i].ino, len + nl + 1, depth + 1);
		}
	}
	for (i = 0; i < l.n; i++)
		free(l.v[i].name);
	free(l.v);
	return r;
}

static int open_output(struct exp *x, enum image_tar_format fmt, int fd)
{
	int r = ARCHIVE_OK;

	x->a = archive_write_new();
	x->e = archive_entry_new();
	if (!x->a || !x->e)
		return fail(x, -ENOMEM, "out of memory");
	/* Full pax, not restricted: every entry keeps its nanoseconds, atime and ctime. */
	if (archive_write_set_format_pax(x->a) != ARCHIVE_OK)
		return fail_archive(x, "the header");
	switch (fmt) {
	case IMAGE_TAR_GZ:
		r = archive_write_add_filter_gzip(x->a);
		break;
	case IMAGE_TAR_XZ:
		r = archive_write_add_filter_xz(x->a);
		if (r == ARCHIVE_OK) /* all cores: xz is otherwise the slowest part by far */
			archive_write_set_filter_option(x->a, "xz", "threads", "0");
		break;
	case IMAGE_TAR_ZSTD:
		r = archive_write_add_filter_zstd(x->a);
		break;
	default:
		break;
	}
	if (r != ARCHIVE_OK)
		return fail_archive(x, "the compressor");
	if (archive_write_open_fd(x->a, fd) != ARCHIVE_OK)
		return fail_archive(x, "the tarball");
	return 0;
}

/* Roughly how many bytes of file data the image holds, for the progress display. */
static uint64_t data_estimate(ext2_filsys fs)
{
	uint64_t used = ext2fs_blocks_count(fs->super) - ext2fs_free_blocks_count(fs->super);
	uint64_t meta = (uint64_t)fs->group_desc_count * (fs->inode_blocks_per_group + 2);
	struct ext2_inode j;

	if (fs->super->s_journal_inum && !ext2fs_read_inode(fs, fs->super->s_journal_inum, &j))
		meta += EXT2_I_SIZE(&j) / fs->blocksize;
	return used > meta ? (used - meta) * fs->blocksize : 0;
}

int image_to_tar(const char *image_path, const char *out_path, int out_fd,
		 enum image_tar_format format, image_progress_fn cb, void *cb_arg, char *err,
		 size_t errlen)
{
	struct outfile of = {.fd = -1};
	struct exp *x;
	errcode_t e2;
	bool to_fd;
	bool is_dir;
	int r, fd;
	size_t i;

	if (err && errlen)
		err[0] = 0;
	if (!image_path || !out_path)
		return img_err(err, errlen, -EINVAL, "no image or tarball given");
	to_fd = !strcmp(out_path, "-");
	if (format == IMAGE_TAR_AUTO)
		format = to_fd ? IMAGE_TAR : image_tar_format_for(out_path);
	x = calloc(1, sizeof(*x));
	if (!x)
		return img_err(err, errlen, -ENOMEM, "out of memory");
	x->image_name = image_path;
	x->err = err;
	x->errlen = errlen;
	x->cb = cb;
	x->cb_arg = cb_arg;

	e2 = ext2fs_open2(image_path, NULL, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &x->fs);
	if (e2) {
		x->fs = NULL;
		r = e2 == ENOENT ? fail(x, -ENOENT, "%s does not exist", image_path)
				 : fail(x, img_ext2_errno(e2), "%s is not an ext4 image: %s",
					image_path, img_ext2_msg(e2));
		goto out;
	}
	/* Without a journal replay we would read a stale tree: better refuse. */
	if (ext2fs_has_feature_journal_needs_recovery(x->fs->super)) {
		r = fail(x, -EBUSY,
			 "%s is in use or was not shut down cleanly (its journal needs "
			 "replaying): stop the distribution, or run e2fsck -fy on it",
			 image_path);
		goto out;
	}
	x->bs = x->fs->blocksize;
	x->inode_size = EXT2_INODE_SIZE(x->fs->super);
	if (x->inode_size > INODE_BUF) {
		r = fail(x, -EINVAL, "%s has %u-byte inodes, more than we handle", image_path,
			 x->inode_size);
		goto out;
	}
	x->prog.in_total = data_estimate(x->fs);
	x->buf = malloc(CHUNK + x->bs);
	x->zero = calloc(1, CHUNK);
	x->path_cap = 4096;
	x->path = malloc(x->path_cap);
	if (!x->buf || !x->zero || !x->path) {
		r = fail(x, -ENOMEM, "out of memory");
		goto out;
	}
	if (to_fd) {
		fd = out_fd;
	} else {
		r = outfile_create(&of, out_path, err, errlen);
		if (r) {
			x->fatal = true;
			goto out;
		}
		fd = of.fd;
	}
	r = open_output(x, format, fd);
	if (r)
		goto out;
	strcpy(x->path, "./");
	r = entry(x, EXT2_ROOT_INO, x->path, &is_dir);
	if (!r)
		r = walk(x, EXT2_ROOT_INO, 2, 0);
	if (r)
		goto out;
	if (archive_write_close(x->a) != ARCHIVE_OK) {
		r = fail_archive(x, "the end of the tarball");
		goto out;
	}
	if (!to_fd) {
		r = outfile_commit(&of, err, errlen);
		if (r)
			goto out;
	}
	x->prog.done = 1;
	report(x, NULL);
out:
	if (x->a) {
		if (r) /* no end-of-archive trailer after a failure: the output must look broken */
			archive_write_fail(x->a);
		archive_write_free(x->a);
	}
	if (r && of.tmp)
		outfile_abort(&of);
	if (x->e)
		archive_entry_free(x->e);
	if (x->fs)
		ext2fs_close_free(&x->fs);
	for (i = 0; i < x->links_cap; i++)
		free(x->links[i].path);
	free(x->links);
	free(x->runs);
	free(x->buf);
	free(x->zero);
	free(x->path);
	free(x);
	return r;
}
