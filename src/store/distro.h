/*
 * distro.h - the management operations on distributions that need no VM:
 * import (a tarball or an existing image), export, unregister, defaults,
 * the default user, move and resize. They run in the calling process (lxs),
 * so a large tarball streams straight from the caller's stdin into the image
 * without passing through lxsd; the registry and the per-distro locks
 * (registry.h) keep concurrent lxs processes and lxsd consistent.
 *
 * All return 0 or -errno with one sentence in err. None of them touches a
 * running distro: lxs asks lxsd to terminate it first where that is the
 * documented behaviour (unregister), and the rest refuse with -EBUSY.
 */
#ifndef LXS_STORE_DISTRO_H
#define LXS_STORE_DISTRO_H

#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"
#include "paths.h"
#include "registry.h"

#define DISTRO_IMAGE_NAME "ext4.img"

struct import_opts {
	const char *name;
	const char *dir;  /* folder for the image (created if missing) */
	const char *file; /* tarball, or "-" for in_fd */
	int in_fd;
	int version;          /* 0 = the registry's default version */
	bool image;           /* file is an ext4 image to copy (--vhd), not a tarball */
	uint64_t image_bytes; /* 0 = IMAGE_DEFAULT_BYTES */
	image_progress_fn progress;
	void *progress_arg;
};

int distro_import(const struct lxs_paths *p, const struct import_opts *o, char *err, size_t errlen);
/* Register an existing ext4 image where it is (--import-in-place). */
int distro_import_in_place(const struct lxs_paths *p, const char *name, const char *image,
			   char *err, size_t errlen);

enum export_format {
	EXPORT_AUTO,
	EXPORT_TAR,
	EXPORT_TAR_GZ,
	EXPORT_TAR_XZ,
	EXPORT_TAR_ZST,
	EXPORT_IMG
};
/* "tar", "tar.gz", "tar.xz", "tar.zst", "img" (also "vhd"): 0 or -EINVAL. */
int export_format_parse(const char *s, enum export_format *f);
int distro_export(const struct lxs_paths *p, const char *name, const char *file, int out_fd,
		  enum export_format f, image_progress_fn progress, void *arg, char *err,
		  size_t errlen);

/* Forget the distro and delete its image (and its folder when that is left empty). */
int distro_unregister(const struct lxs_paths *p, const char *name, char *err, size_t errlen);
int distro_set_default(const struct lxs_paths *p, const char *name, char *err, size_t errlen);
int distro_set_default_version(const struct lxs_paths *p, int version, char *err, size_t errlen);
/* The user must exist in the image's /etc/passwd. */
int distro_set_default_user(const struct lxs_paths *p, const char *name, const char *user,
			    char *err, size_t errlen);
int distro_move(const struct lxs_paths *p, const char *name, const char *dir, char *err,
		size_t errlen);
/* The image keeps its holes both ways (image_make_sparse after resize2fs). */
int distro_resize(const struct lxs_paths *p, const char *name, uint64_t bytes, char *err,
		  size_t errlen);
/* --set-sparse true: the image's all-zero blocks given back to the host; *freed bytes. */
int distro_make_sparse(const struct lxs_paths *p, const char *name, uint64_t *freed, char *err,
		       size_t errlen);

/*
 * --set-version: convert between a VolFs folder (1) and an ext4 image of
 * bytes (2; 0 = the default size), both ways through a tar stream, with
 * progress. The new form is complete before one registry write switches to
 * it, so an interrupted conversion leaves the original registered and intact
 * (and a leftover the next conversion replaces). -EBUSY while it runs.
 */
int distro_set_version(const struct lxs_paths *p, const char *name, int version, uint64_t bytes,
		       image_progress_fn cb, void *arg, char *err, size_t errlen);

#endif
