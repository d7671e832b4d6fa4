/*
 * v1.h - the host side of version-1 distributions (issue 6): their root file
 * system is a VolFs folder (src/pico/README.md) that build/lxs-pico, which
 * sits next to lxs, fills, packs and runs. lxs calls lxs-pico as a child
 * process rather than linking src/pico: that code is built freestanding for
 * the loader, and a child keeps its libarchive work and its failures apart.
 *
 * The folder of a version-1 distro is DIR/rootfs (V1_ROOT_NAME); an import
 * or a conversion unpacks into DIR/rootfs.tmp-XXXXXX and renames it into
 * place only when complete, so a kill -9 leaves a stray temporary folder,
 * never a half distro. All return 0 or -errno with one sentence in err.
 */
#ifndef LXS_STORE_V1_H
#define LXS_STORE_V1_H

#include <stddef.h>
#include <sys/types.h>

#include "image/image.h"
#include "paths.h"
#include "store/config.h"
#include "store/registry.h"

#define V1_ROOT_NAME "rootfs"

/* bindir/lxs-pico, checked to be there with its loader. */
int v1_pico_path(const struct lxs_paths *p, char *out, size_t len, char *err, size_t errlen);

/*
 * Start lxs-pico with args (NULL-terminated, without argv[0]); in_fd/out_fd
 * become its stdin/stdout when >= 0. *errfd receives the read end of its
 * stderr. It dies with us (PR_SET_PDEATHSIG). Returns the pid or -errno.
 */
pid_t v1_spawn(const char *pico, const char *const args[], int in_fd, int out_fd, int *errfd);
/*
 * Read lxs-pico's stderr ("progress ENTRIES BYTES" lines go to cb, others
 * are kept as the error), wait for it: 0 when it exited 0, else -EIO with
 * "what: its last line" in err. cancel asks it to stop when cb returns non-zero.
 */
int v1_finish(pid_t pid, int errfd, image_progress_fn cb, void *arg, const char *what, char *err,
	      size_t errlen);

/*
 * Unpack a tarball (or in_fd when file is "-") into a new folder
 * parent/rootfs.tmp-XXXXXX; its name in tmp_out. On failure the folder is gone.
 */
int v1_unpack_tmp(const struct lxs_paths *p, const char *file, int in_fd, const char *parent,
		  char *tmp_out, size_t tmplen, image_progress_fn cb, void *arg, char *err,
		  size_t errlen);

/* Pack root into file ("-": out_fd), compression by format (an image_tar_format). */
int v1_pack(const struct lxs_paths *p, const char *root, const char *file, int out_fd,
	    enum image_tar_format format, image_progress_fn cb, void *arg, char *err,
	    size_t errlen);

/* rm -rf of a tree that is ours (VolFs keeps u+rwx on folders); one file system only. */
int v1_remove_tree(const char *dir);

/*
 * Read a small file of the distro as the guest sees it (symlinks resolved
 * inside root): bytes read into a malloc'd NUL-terminated *out, or -errno.
 */
long v1_read_file(const char *root, const char *path, size_t max, char **out);
/* Whether path is a folder inside the distro (symlinks resolved inside root). */
int v1_is_dir(const char *root, const char *path);

/* The supplementary groups of user in an /etc/group text, as "G,G,.." led by gid. */
/* The distro's wsl-distribution.conf and wsl.conf over the defaults (warnings to warn). */
void v1_wsl_conf(const struct reg_distro *d, struct wsl_conf *wsl, config_warn_fn warn, void *arg);
void v1_groups(const char *group_text, const char *user, unsigned gid, char *out, size_t len);

#endif
