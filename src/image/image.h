/*
 * image.h - distribution images: a root filesystem tarball becomes a sparse
 * ext4 image file, and an image becomes a tarball again (export), both as an
 * ordinary user: no mounts, no root, no fakeroot. Entries are read with
 * libarchive and written with libext2fs, so owners, modes, device nodes and
 * file capabilities come out exactly as the tarball says whoever runs us.
 *
 * Contract shared by both directions:
 *  - Return 0 or -errno. On error `err` holds one sentence without a newline
 *    (e.g. "ubuntu.tar.gz is damaged or truncated: ...") and no output file exists: the
 *    output is written to "<path>.tmp-XXXXXX" next to it, fsynced and renamed
 *    over <path> only when complete (replacing an existing <path>).
 *  - -ENOSPC: the image is too small for the tarball; -ECANCELED: the
 *    progress callback asked to stop; -EINVAL/-EILSEQ: bad input.
 *  - Hostile entries fail the whole conversion with one sentence of
 *    common/tar_rules.h, the same version 1's unpacker uses: a name with
 *    ".." in it, an entry or a hard link's target that would be reached
 *    through a symlink (inside the image that could not reach the host, but
 *    the rules are the same for both versions), a hard link to nothing; so
 *    do an archive with no entries and a truncated one.
 *  - Entries that cannot be represented (a name longer than ext4 takes, a
 *    hard link to a directory, an unknown type) are skipped and counted in
 *    image_progress.skipped; the rest of the tarball is still converted, as
 *    GNU tar does. Each skip, and each dropped part of a kept entry (an xattr
 *    ext4 cannot store, an ACL entry naming an unknown user, an owner id out
 *    of range), is one call of the callback with `warning` set (log_warnx()
 *    without a callback).
 *  - Blocking. Calls share no state of ours, but libext2fs registers its
 *    error table on first use: make the first call before starting threads.
 */
#ifndef LXS_IMAGE_H
#define LXS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Image size when the caller passes 0: sparse, the file only uses what is written. */
#define IMAGE_DEFAULT_BYTES (64ULL << 30)
/* Smallest image accepted; below this mke2fs makes a file system too cramped to hold a distro. */
#define IMAGE_MIN_BYTES (16ULL << 20)

struct image_progress {
	uint64_t in_bytes; /* import: (compressed) input consumed; export: file data read */
	uint64_t in_total; /* its total: input size, 0 when unknown (a pipe); export: an estimate */
	uint64_t data_bytes; /* file contents copied so far (uncompressed) */
	uint64_t out_bytes;  /* export: bytes of (compressed) output written so far */
	uint64_t entries;    /* entries done */
	uint64_t skipped;    /* entries skipped, see warning */
	const char *warning; /* a sentence: what was left out (see above), else NULL */
	int done;            /* set on the last call, after a success */
};

/*
 * Called after every entry, every few MiB inside big files, once per
 * warning, and once with done set. Return non-zero to cancel the operation
 * (it then fails with -ECANCELED). Must not call back into this library.
 */
typedef int (*image_progress_fn)(const struct image_progress *p, void *arg);

/*
 * Builds an ext4 image at image_path from the tarball tar_path (plain, gzip,
 * xz, zstd, bzip2: detected from the content, not the name; cpio archives
 * are accepted too). With tar_path
 * "-" the tarball is read from tar_fd instead (not closed). fs_bytes is the
 * file system size (0: IMAGE_DEFAULT_BYTES), rounded down to 4 KiB.
 * Absolute entry names are taken relative to the image root; symlink
 * targets are stored as they are. Parent directories the tarball lacks are
 * created root:root 0755. A later entry replaces an earlier non-directory of
 * the same name (a symlink included, which is never followed). Names in ACLs (GNU tar's
 * "user:alice:rw-") are resolved with the image's own etc/passwd and etc/group, then the host's. A
 * tarball with no entries is an error. Runs mke2fs (e2fsprogs) once.
 */
int image_from_tar(const char *tar_path, int tar_fd, const char *image_path, uint64_t fs_bytes,
		   image_progress_fn cb, void *cb_arg, char *err, size_t errlen);

enum image_tar_format {
	IMAGE_TAR_AUTO, /* from out_path's suffix: .tar.gz/.tgz, .tar.xz/.txz, .tar.zst/.tzst, else
			   plain */
	IMAGE_TAR,
	IMAGE_TAR_GZ,
	IMAGE_TAR_XZ,
	IMAGE_TAR_ZSTD,
};

/*
 * Writes the file tree of the ext4 image at image_path as a pax tarball
 * (numeric owners, nanosecond times, xattrs incl. security.capability and
 * ACLs, hard links, device nodes, sparse files as sparse entries) to
 * out_path, or to out_fd when out_path is "-" (IMAGE_TAR_AUTO then means
 * plain tar). Names are "./"-relative like distribution tarballs. The image
 * is only read, and must not be mounted read-write meanwhile.
 */
int image_to_tar(const char *image_path, const char *out_path, int out_fd,
		 enum image_tar_format format, image_progress_fn cb, void *cb_arg, char *err,
		 size_t errlen);

/* The format IMAGE_TAR_AUTO picks for a file name. */
enum image_tar_format image_tar_format_for(const char *path);

/*
 * Gives the host back the space of the image file's all-zero 4 KiB blocks
 * (punches holes; its size and content stay): what a resize2fs that wrote
 * new inode tables, or a copy that kept no holes, left allocated. Reads only
 * the file's data extents. *freed (if not NULL): the bytes given back.
 */
int image_make_sparse(const char *path, uint64_t *freed, char *err, size_t errlen);

#endif
