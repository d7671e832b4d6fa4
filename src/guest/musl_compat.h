/*
 * musl_compat.h - what glibc gives src/p9 and musl 1.2.3 (Debian 12's
 * musl-tools) lacks, for compiling that library into the static lxs-init
 * unchanged: statx() with its struct and flags (musl has them from 1.2.5)
 * and the xattr name limit. The Makefile force-includes this file (-include)
 * into lxs-init's sources; nothing includes it by name.
 */
#ifndef LXS_GUEST_MUSL_COMPAT_H
#define LXS_GUEST_MUSL_COMPAT_H

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* musl 1.2.5 declares statx() and defines STATX_TYPE with it; older has neither. */
#ifndef STATX_TYPE
#include <linux/stat.h> /* the kernel's struct statx and STATX_* */

static inline int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *st)
{
	return (int)syscall(SYS_statx, dirfd, path, flags, mask, st);
}
#endif

/* The kernel's limit on an xattr name (linux/limits.h, which clashes with musl's limits.h). */
#ifndef XATTR_NAME_MAX
#define XATTR_NAME_MAX 255
#endif

#endif
