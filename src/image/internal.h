/*
 * internal.h - what import.c and export.c share: error sentences, the
 * mapping of libext2fs error codes to errno, ext4 time and device encoding,
 * and the write-to-temp-then-rename output file. Not part of the API.
 */
#ifndef LXS_IMAGE_INTERNAL_H
#define LXS_IMAGE_INTERNAL_H

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "image.h"

/* Formats one sentence into err (if any) and returns neg, a -errno. */
int img_err(char *err, size_t errlen, int neg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* -errno for a libext2fs error code: system errors pass through, full → -ENOSPC. */
int img_ext2_errno(errcode_t code);
/* Text for a libext2fs error code (com_err table registered on first use). */
const char *img_ext2_msg(errcode_t code);

/*
 * ext4 keeps seconds as 32 bits plus 2 epoch bits in the *_extra field
 * next to the nanoseconds, covering 1901..2446; values outside are clamped.
 */
void img_time_encode(int64_t sec, long nsec, __u32 *lo, __u32 *extra);
void img_time_decode(__u32 lo, __u32 extra, int has_extra, int64_t *sec, long *nsec);

/* Device numbers in i_block[0] (old 8:8 form) or i_block[1] (new 12:20 form), as Linux does. */
void img_rdev_encode(struct ext2_inode *inode, unsigned int major, unsigned int minor);
void img_rdev_decode(const struct ext2_inode *inode, unsigned int *major, unsigned int *minor);

/*
 * An output file written as "<path>.tmp-XXXXXX" in path's directory and
 * renamed over path by outfile_commit() after an fsync; outfile_abort()
 * removes it. tmp is a path safe to hand to a program as an argument (never
 * starts with '-').
 */
struct outfile {
	char *path, *tmp;
	int fd;
};
/* A run of an inode's blocks: logical lblk.. maps to physical pblk.., len blocks. */
struct img_run {
	blk64_t lblk, pblk, len;
};

/* Leave out unwritten extents (they read as zeros) and merge neighbouring runs. */
#define IMG_RUNS_DATA_ONLY 1u

/*
 * The leaf extents of inode ino into (*v, *n), growing *v (capacity *cap) as
 * needed. 0; -ENOMEM; or -EIO with libext2fs's code in *ext2err.
 */
int img_load_runs(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode, unsigned flags,
		  struct img_run **v, size_t *n, size_t *cap, errcode_t *ext2err);

/* "." or "..": directory entries the walkers skip. */
int img_dirent_is_dot(const struct ext2_dir_entry *de);

int outfile_create(struct outfile *o, const char *path, char *err, size_t errlen);
int outfile_commit(struct outfile *o, char *err, size_t errlen);
void outfile_abort(struct outfile *o);

#endif
