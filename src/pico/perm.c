/*
 * perm.c - a guest user's file permissions, decided from VolFs metadata.
 * The host lets the user who runs lxs do anything to the distro's files
 * (they are all that user's), so for a guest user other than root the
 * Linux rules are applied here: mode bits by owner, group and others,
 * search permission on every folder along a path, and sticky folders.
 * The fake root (fsuid 0) passes every check, as root does. The owner
 * and mode come from meta.c.
 */
#include <asm/stat.h>
#include <linux/stat.h>
#include <linux/fcntl.h>
#include <linux/errno.h>

#include "common/volfs.h"
#include "pico.h"
#include "sys.h"

int pico_in_groups(unsigned g)
{
	if (g == pico.fsgid || g == pico.egid)
		return 1;
	for (unsigned i = 0; i < pico.ngroups; i++)
		if (pico.groups[i] == g)
			return 1;
	return 0;
}

unsigned pico_perm_bits(const struct lxs_meta *m)
{
	if (pico.fsuid == m->uid)
		return (m->mode >> 6) & 7;
	if (pico_in_groups(m->gid))
		return (m->mode >> 3) & 7;
	return m->mode & 7;
}

/* Owner and mode of a host path (not followed): the attribute, or 0:0 and
 * the host's mode. */
static long meta_at(const char *host, struct lxs_meta *m)
{
	struct stat st;
	long r = sys4(__NR_newfstatat, AT_FDCWD, (long)host, (long)&st, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return r;
	if (S_ISLNK(st.st_mode) || pico_meta_get(host, -1, m) < 0) {
		m->uid = m->gid = 0;
		m->mode = st.st_mode;
	}
	return 0;
}

/*
 * Every folder of the distro from its root down to the one holding the
 * last component must let the guest user search it. The host's group and
 * other bits are the guest's (common/volfs.h), so a folder both grant search to
 * is passed on one stat; only the others need their attribute. The
 * resolved path is checked, not the links the walk went through.
 */
long pico_may_search(const char *host)
{
	char dir[PICO_HOST];
	if (pico.fsuid == 0)
		return 0;
	size_t n = strlen(host), rl = pico.rootlen;
	if (rl == 0 || n <= rl || n >= PICO_HOST || memcmp(host, pico.root, rl) != 0 ||
	    host[rl] != '/')
		return 0;
	while (n > rl && host[n - 1] == '/')
		n--;
	memcpy(dir, host, n);
	dir[n] = 0;
	for (size_t i = rl; i < n; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = 0; /* the folder dir[0..i), the root itself first */
		struct stat st;
		struct lxs_meta m;
		long r = sys4(__NR_newfstatat, AT_FDCWD, (long)dir, (long)&st, AT_SYMLINK_NOFOLLOW);
		if (r == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 011) != 011 &&
		    meta_at(dir, &m) == 0 && !(pico_perm_bits(&m) & 1))
			return -EACCES;
		dir[i] = '/';
		if (r < 0 || !S_ISDIR(st.st_mode))
			return 0; /* the real call says what is missing */
	}
	return 0;
}

/* In a sticky folder only the file's owner, the folder's owner (or root)
 * may remove or replace a name. host: the name's host path. */
long pico_may_unlink(const char *host)
{
	char dir[PICO_HOST];
	struct lxs_meta dm, fm;
	if (pico.fsuid == 0)
		return 0;
	pico_parent_dir(host, dir);
	if (meta_at(dir, &dm) < 0 || !(dm.mode & S_ISVTX) || dm.uid == pico.fsuid)
		return 0;
	if (meta_at(host, &fm) < 0 || fm.uid == pico.fsuid)
		return 0;
	return -EPERM;
}

/*
 * Permission checks for a guest user other than root. The host lets the
 * user who runs lxs do anything to VolFs files (they are all theirs), so
 * for such a guest user the Linux mode bits are checked here: on open, and
 * on the directory for calls that add or remove names (above: search
 * permission along every path, sticky folders).
 */
long pico_dac_check(const char *host, unsigned want)
{
	struct stat st;
	struct lxs_meta m;
	if (pico.fsuid == 0)
		return 0;
	long r = pico_meta_of(host, &st, &m);
	if (r < 0)
		return r == -ENOENT || r == -ENOTDIR ? 0 : r; /* the real call decides */
	return (want & ~pico_perm_bits(&m)) ? -EACCES : 0;
}

/* O_NOATIME is for the file's owner only (or CAP_FOWNER). */
long pico_noatime_ok(const char *host)
{
	struct stat st;
	struct lxs_meta m;
	long r = pico_meta_of(host, &st, &m);
	return r == 0 && m.uid != pico.fsuid ? -EPERM : 0;
}

/* ...of the directory a host path is in */
long pico_dac_parent(const char *host)
{
	char dir[PICO_HOST];
	if (pico.fsuid == 0)
		return 0;
	pico_parent_dir(host, dir);
	return pico_dac_check(dir, 3); /* write and search */
}
