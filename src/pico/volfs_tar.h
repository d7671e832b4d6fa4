/*
 * volfs_tar.h - tar archives in and out of a VolFs distro folder (the
 * version-1 on-disk format, see common/volfs.h), as an ordinary user.
 *
 * Both return 0 or -errno and put one line saying what went wrong into err.
 * Neither needs privilege: owners, modes beyond the user's, device numbers
 * and the types of special files go into user.lxs.stat, xattrs outside the
 * user namespace into user.lxs.x.<name>.
 */
#ifndef LXS_PICO_VOLFS_TAR_H
#define LXS_PICO_VOLFS_TAR_H

#include <stddef.h>

/* Called (if not NULL) after every 1,000 entries and once at the end with
 * the entries and file bytes done so far. */
typedef void volfs_progress_fn(void *arg, long entries, long long bytes);

/* Unpacks tarball (any format and compression libarchive reads; "-" is
 * stdin) into dir, created if missing. The archive is hostile: an entry
 * with ".." in its name, or one (or a hard link's target) that would be
 * reached through a symlink, fails the whole unpack with one sentence of
 * common/tar_rules.h, as do an archive with no entries and a truncated one.
 * Nothing outside dir is ever written; dir is left as far as it got. */
int volfs_unpack(const char *tarball, const char *dir, volfs_progress_fn *progress, void *arg,
		 char *err, size_t errlen);

/* Packs dir into a pax tarball ("-" is stdout; .gz/.xz/.zst names get that
 * compression) with the Linux owners, modes, device numbers, symlinks, hard
 * links and xattrs. Entries are named "./path", owners numeric. */
int volfs_pack(const char *dir, const char *tarball, volfs_progress_fn *progress, void *arg,
	       char *err, size_t errlen);

#endif
