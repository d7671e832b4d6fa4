/*
 * tar_rules.h - the sentences both tar importers (version 1's volfs_tar.c,
 * version 2's image builder) fail with, so that a hostile or broken archive
 * is refused in the same words whichever version it is imported as.
 *
 * The rules behind them: no entry's name may hold "..", no entry is ever
 * written through a symlink (one the archive made or one already there),
 * and a hard link's target is looked up the same way. A later entry that
 * replaces an earlier one of the same name (a symlink by a file or a
 * folder) is ordinary tar behaviour and is allowed: the old name is removed
 * first, never followed. Absolute names are taken as inside the root.
 *
 * Each is one sentence without the final full stop; callers prefix what
 * they were doing ("cannot import X: ").
 *
 * Why two importers and not one: the tar codec is libarchive in both, and
 * only this file's rules are shared, because what they write has nothing
 * else in common. src/image writes inodes, extents and directory blocks
 * straight into an unmounted ext4 image with libext2fs (no root, no mount,
 * a tree kept in memory); src/pico/volfs_tar.c creates real files through
 * descriptors beneath a folder and keeps owners, modes and device numbers
 * in VolFs xattrs. A common "entry sink" interface between them would be
 * as large as either writer and serve no third user; the same goes for
 * export, where each walks its own kind of tree into libarchive.
 */
#ifndef LXS_COMMON_TAR_RULES_H
#define LXS_COMMON_TAR_RULES_H

#include <string.h>

#define TAR_MSG_DOTDOT                                                                             \
	"the archive's entry '%s' has '..' in its name, which could lead outside the root; it "    \
	"cannot be imported safely"
/* entry, the symlink on its way */
#define TAR_MSG_THROUGH                                                                            \
	"the archive's entry '%s' would be written through the symlink '%s'; it cannot be "        \
	"imported safely"
/* entry, link target */
#define TAR_MSG_LINK_DOTDOT                                                                        \
	"the archive's entry '%s' is a hard link to '%s', which has '..' in it and could lead "    \
	"outside the root; it cannot be imported safely"
/* entry, link target, the symlink on its way */
#define TAR_MSG_LINK_THROUGH                                                                       \
	"the archive's entry '%s' is a hard link to '%s', which is reached through the "           \
	"symlink '%s'; it cannot be imported safely"
/* entry, link target */
#define TAR_MSG_LINK_MISSING                                                                       \
	"the archive's entry '%s' is a hard link to '%s', which the archive does not hold "        \
	"before it; it cannot be imported safely"
/* entry, the name on its way that is not a folder */
#define TAR_MSG_NOT_DIR                                                                            \
	"the archive's entry '%s' needs '%s' to be a folder, but the archive made it something "   \
	"else; it cannot be imported"
#define TAR_MSG_EMPTY "the archive holds no entries; give a tarball of a root file system"
/* entries read whole before the end came */
#define TAR_MSG_TRUNCATED "the archive is truncated after %llu entries; copy or download it again"

/* Whether libarchive's error text says the input ended early. */
static inline int tar_truncated(const char *why)
{
	return why && strcasestr(why, "truncat") != NULL;
}

#endif
