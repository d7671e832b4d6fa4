/*
 * util.c - helpers shared by import.c and export.c (see internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2_err.h>

#include "common/tmpfile.h"
#include "internal.h"

int img_err(char *err, size_t errlen, int neg, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return neg;
}

int img_ext2_errno(errcode_t code)
{
	/* libext2fs passes system errors through as plain errno values. */
	if (code > 0 && code < 4096)
		return -(int)code;
	switch (code) {
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_RES_GDT_BLOCKS:
		return -ENOSPC;
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_BAD_MAGIC:
	case EXT2_ET_SB_CSUM_INVALID:
	case EXT2_ET_CORRUPT_SUPERBLOCK:
	case EXT2_ET_UNSUPP_FEATURE:
	case EXT2_ET_RO_UNSUPP_FEATURE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

const char *img_ext2_msg(errcode_t code)
{
	/* Idempotent: com_err skips a table that is already registered. */
	initialize_ext2_error_table();
	return error_message(code);
}

#define EXT4_TIME_MIN ((int64_t)INT32_MIN)
#define EXT4_TIME_MAX ((int64_t)INT32_MAX + (3LL << 32))

void img_time_encode(int64_t sec, long nsec, __u32 *lo, __u32 *extra)
{
	if (sec < EXT4_TIME_MIN) {
		sec = EXT4_TIME_MIN;
		nsec = 0;
	} else if (sec > EXT4_TIME_MAX) {
		sec = EXT4_TIME_MAX;
		nsec = 999999999;
	}
	if (nsec < 0 || nsec > 999999999)
		nsec = 0;
	*lo = (__u32)sec;
	*extra = (__u32)(((sec - (int32_t)(__u32)sec) >> 32) & EXT4_EPOCH_MASK) |
		 ((__u32)nsec << EXT4_EPOCH_BITS);
}

void img_time_decode(__u32 lo, __u32 extra, int has_extra, int64_t *sec, long *nsec)
{
	*sec = (int32_t)lo;
	*nsec = 0;
	if (has_extra) {
		*sec += (int64_t)(extra & EXT4_EPOCH_MASK) << 32;
		*nsec = (long)(extra >> EXT4_EPOCH_BITS);
		if (*nsec > 999999999)
			*nsec = 0;
	}
}

void img_rdev_encode(struct ext2_inode *inode, unsigned int major, unsigned int minor)
{
	if (major < 256 && minor < 256) {
		inode->i_block[0] = (major << 8) | minor;
		inode->i_block[1] = 0;
	} else {
		inode->i_block[0] = 0;
		inode->i_block[1] =
		    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffu) << 12);
		inode->i_block[2] = 0;
	}
}

void img_rdev_decode(const struct ext2_inode *inode, unsigned int *major, unsigned int *minor)
{
	__u32 b = inode->i_block[0];

	if (b) {
		*major = (b >> 8) & 0xff;
		*minor = b & 0xff;
	} else {
		b = inode->i_block[1];
		*major = (b >> 8) & 0xfff;
		*minor = (b & 0xff) | ((b >> 12) & 0xfff00);
	}
}

int outfile_create(struct outfile *o, const char *path, char *err, size_t errlen)
{
	const char *dot = path[0] == '-' ? "./" : "";
	size_t n = strlen(dot) + strlen(path) + sizeof(".tmp-XXXXXX");

	o->fd = -1;
	o->path = strdup(path);
	o->tmp = malloc(n);
	if (!o->path || !o->tmp) {
		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return img_err(err, errlen, -ENOMEM, "out of memory");
	}
	snprintf(o->tmp, n, "%s%s.tmp-XXXXXX", dot, path);
	o->fd = tmp_create(o->tmp, 0);
	if (o->fd < 0) {
		int e = -o->fd;

		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return img_err(err, errlen, -e, "cannot create %s: %s", path, strerror(e));
	}
	return 0;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
	char *dcopy;
	int dfd, e;

	if (fsync(o->fd) < 0) {
		e = errno;
		outfile_abort(o);
		return img_err(err, errlen, -e, "cannot write %s: %s", o->path, strerror(e));
	}
	close(o->fd);
	o->fd = -1;
	if (rename(o->tmp, o->path) < 0) {
		e = errno;
		outfile_abort(o);
		return img_err(err, errlen, -e, "cannot rename the new file to %s: %s", o->path,
			       strerror(e));
	}
	/* The rename itself must survive a crash, or the caller may lose both files. */
	dcopy = strdup(o->path);
	if (dcopy) {
		dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dcopy);
	}
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
	return 0;
}

void outfile_abort(struct outfile *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp)
		unlink(o->tmp);
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
}

int img_load_runs(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode, unsigned flags,
		  struct img_run **v, size_t *n, size_t *cap, errcode_t *ext2err)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t err;

	*n = 0;
	err = ext2fs_extent_open2(fs, ino, inode, &h);
	if (err) {
		*ext2err = err;
		return -EIO;
	}
	for (err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex); !err;
	     err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex)) {
		if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF) || !ex.e_len)
			continue;
		if ((flags & IMG_RUNS_DATA_ONLY) && (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT))
			continue;
		struct img_run *last = *n ? &(*v)[*n - 1] : NULL;
		if ((flags & IMG_RUNS_DATA_ONLY) && last && last->lblk + last->len == ex.e_lblk &&
		    last->pblk + last->len == ex.e_pblk) {
			last->len += ex.e_len;
			continue;
		}
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 64;
			struct img_run *p = realloc(*v, c * sizeof(*p));

			if (!p) {
				ext2fs_extent_free(h);
				return -ENOMEM;
			}
			*v = p;
			*cap = c;
		}
		(*v)[(*n)++] = (struct img_run){ex.e_lblk, ex.e_pblk, ex.e_len};
	}
	ext2fs_extent_free(h);
	if (err != EXT2_ET_EXTENT_NO_NEXT && err != EXT2_ET_EXTENT_NO_PREV) {
		*ext2err = err;
		return -EIO;
	}
	return 0;
}

int img_dirent_is_dot(const struct ext2_dir_entry *de)
{
	int len = ext2fs_dirent_name_len(de);

	return (len == 1 && de->name[0] == '.') ||
	       (len == 2 && de->name[0] == '.' && de->name[1] == '.');
}
