/*
 * paths.h - where lxs keeps its state, found once from the environment and
 * passed around explicitly:
 *   data     $XDG_DATA_HOME/lxs or ~/.local/share/lxs   registry, locks, distros
 *   config   $XDG_CONFIG_HOME/lxs/lxs.conf or ~/.config/lxs/lxs.conf
 *   run      $XDG_RUNTIME_DIR/lxs, or /tmp/lxs-UID      lxsd's socket, the VM's sockets
 *   cache    $LXS_CACHE or $XDG_CACHE_HOME/lxs or ~/.cache/lxs   kernel, distro tarballs
 *   bindir   the directory of the running program (lxs, lxsd and lxs-vm sit together)
 * Nothing here creates files except paths_make_run_dir and paths_make_data_dir.
 */
#ifndef LXS_STORE_PATHS_H
#define LXS_STORE_PATHS_H

#include <stddef.h>

#include "common/dirs.h" /* mkdir_p, which callers of paths.h use */

#define LXS_PATH_MAX 4096

struct lxs_paths {
	char data[LXS_PATH_MAX];
	char registry[LXS_PATH_MAX]; /* data/registry */
	char config[LXS_PATH_MAX];
	char run[LXS_PATH_MAX];
	char sock[LXS_PATH_MAX];  /* run/lxsd.sock */
	char tools[LXS_PATH_MAX]; /* run/tools: what distros see at /usr/lib/lxs (cli/interop.h) */
	char cache[LXS_PATH_MAX];
	char bindir[LXS_PATH_MAX];
};

/* Fill p from the environment: 0, or -errno with one sentence in err. */
int paths_init(struct lxs_paths *p, char *err, size_t errlen);

/*
 * Whether the run directory is safe to meet lxsd in: a real folder (not a
 * symbolic link) owned by us with no group or other bits. 0, -ENOENT when it
 * does not exist, -EPERM when it fails; one sentence in err either way. lxs
 * calls it before it connects, lxsd before it uses the folder.
 */
int paths_check_run_dir(const struct lxs_paths *p, char *err, size_t errlen);
/*
 * Create the run directory 0700 and check it as above, or the data directory
 * with its locks/ folder: 0 or -errno.
 */
int paths_make_run_dir(const struct lxs_paths *p, char *err, size_t errlen);
int paths_make_data_dir(const struct lxs_paths *p, char *err, size_t errlen);

/* snprintf into a fixed buffer that fails with -ENAMETOOLONG instead of truncating. */
int path_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Make dir absolute (relative to the working directory) without touching the disk. */
int absolute_path(const char *dir, char *out, size_t len);

#endif
