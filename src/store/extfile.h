/*
 * extfile.h - read one small file out of a distro's ext4 image on the host,
 * without mounting it (libext2fs, read-only): lxsd reads /etc/wsl.conf and
 * /etc/passwd this way before it starts a distro, and `lxs --manage
 * --set-default-user` checks a user. Symlinks are followed inside the image
 * (absolute ones from the image's root), as in a chroot.
 *
 * Returns the number of bytes read into a malloc'd, NUL-terminated *out,
 * -ENOENT when the file is not there, -EFBIG above max bytes, or -EIO when
 * the image is not a readable ext4 file system.
 */
#ifndef LXS_STORE_EXTFILE_H
#define LXS_STORE_EXTFILE_H

#include <stddef.h>

#include "store/passwd.h" /* what extfile_read of /etc/passwd is for */

long extfile_read(const char *image, const char *path, size_t max, char **out);

/* Whether path looks like an ext2/3/4 image (its superblock magic): 0 or -errno. */
int extfile_check_image(const char *image);

#endif
