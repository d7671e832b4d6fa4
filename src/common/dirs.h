/*
 * dirs.h - making folders, for the host programs and lxs-init alike.
 */
#ifndef LXS_COMMON_DIRS_H
#define LXS_COMMON_DIRS_H

/*
 * Make path and every missing folder on the way to it with mode (less the
 * umask), as `mkdir -p`: 0 when it is a folder in the end, or -errno
 * (-ENOTDIR when something else has the name).
 */
int mkdir_p(const char *path, unsigned mode);

#endif
