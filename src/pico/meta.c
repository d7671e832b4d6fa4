/*
 * meta.c - the VolFs metadata attribute (common/volfs.h) as the translator reads
 * and writes it: a file's Linux owner, mode and device numbers (the
 * attribute, or the host's mode and 0:0), and what a file the guest
 * creates gets (its owner, the mode the host could not take, a
 * set-group-id folder's group). It calls nothing of the translator's
 * but rt.c: the open path (open.c), the permission checks (perm.c) and
 * the handler (trap.c) build on it.
 */
#include <asm/stat.h>
#include <linux/stat.h>
#include <linux/fcntl.h>
#include <linux/errno.h>

#include "common/volfs.h"
#include "pico.h"
#include "sys.h"

long pico_meta_get(const char *host, int fd, struct lxs_meta *m)
{
	char v[LXS_META_MAX];
	long n = host ? sys4(__NR_lgetxattr, (long)host, (long)LXS_META_XATTR, (long)v, sizeof v)
		      : sys4(__NR_fgetxattr, fd, (long)LXS_META_XATTR, (long)v, sizeof v);
	if (n == -ERANGE)
		return -ENODATA;
	if (n < 0)
		return n == -EOPNOTSUPP ? -ENODATA : n;
	return lxs_meta_parse(v, n, m) ? -ENODATA : 0;
}

long pico_meta_put(const char *host, const struct lxs_meta *m, unsigned host_perm)
{
	char v[LXS_META_MAX];
	if (!lxs_meta_needed(m, host_perm)) {
		long r = sys2(__NR_lremovexattr, (long)host, (long)LXS_META_XATTR);
		return r == -ENODATA ? 0 : r;
	}
	int n = lxs_meta_format(m, v);
	return sys5(__NR_lsetxattr, (long)host, (long)LXS_META_XATTR, (long)v, n, 0);
}

/* The Linux view of a VolFs file: the attribute, or host mode and 0:0. */
long pico_meta_of_t(struct pico_target *t, struct stat *st, struct lxs_meta *m)
{
	long r;
	if (t->fd >= 0) {
		r = sys2(__NR_fstat, t->fd, (long)st);
		if (r < 0)
			return r;
		r = pico_meta_get(NULL, (int)t->fd, m);
		if (r == 0)
			return 0;
		if (r == -EBADF && t->host)
			t->fd = -1;
	}
	if (t->fd < 0) {
		r = sys4(__NR_newfstatat, AT_FDCWD, (long)t->host, (long)st, AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return r;
		if (!S_ISLNK(st->st_mode) && pico_meta_get(t->host, -1, m) == 0)
			return 0;
	}
	m->uid = m->gid = 0;
	m->mode = st->st_mode;
	m->major = pico_dev_major(st->st_rdev);
	m->minor = pico_dev_minor(st->st_rdev);
	return 0;
}

long pico_meta_put_t(const struct pico_target *t, const struct lxs_meta *m, unsigned host_perm)
{
	char v[LXS_META_MAX];
	if (t->fd < 0)
		return pico_meta_put(t->host, m, host_perm);
	if (!lxs_meta_needed(m, host_perm)) {
		long r = sys2(__NR_fremovexattr, t->fd, (long)LXS_META_XATTR);
		return r == -ENODATA ? 0 : r;
	}
	int n = lxs_meta_format(m, v);
	return sys5(__NR_fsetxattr, t->fd, (long)LXS_META_XATTR, (long)v, n, 0);
}

long pico_meta_of(const char *host, struct stat *st, struct lxs_meta *m)
{
	struct pico_target t = {host, -1};
	return pico_meta_of_t(&t, st, m);
}

/* A new name in a set-group-id folder takes the folder's group (and a new
 * folder its set-group-id bit): 1 and the group if host's folder is one. */
int pico_setgid_parent(const char *host, unsigned *gid)
{
	char dir[PICO_HOST];
	pico_parent_dir(host, dir);
	struct lxs_meta m;
	if (pico_meta_get(dir, -1, &m) < 0 || (m.mode & S_IFMT) != S_IFDIR || !(m.mode & S_ISGID))
		return 0;
	*gid = m.gid;
	return 1;
}

/* After creating a host file for the guest (by path, or by descriptor
 * for an O_TMPFILE; name: its path, or one in its folder): record owner
 * and the mode the host could not take. */
void pico_created_t(struct pico_target *t, const char *name, unsigned type, unsigned req_mode)
{
	struct stat st;
	long r = t->fd >= 0 ? sys2(__NR_fstat, t->fd, (long)&st)
			    : sys4(__NR_newfstatat, AT_FDCWD, (long)t->host, (long)&st,
				   AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return;
	struct lxs_meta m = {pico.fsuid, pico.fsgid, 0, 0, 0};
	m.mode = type | (req_mode & 07777 & ~pico_cur_umask());
	if (pico_setgid_parent(name, &m.gid) && type == S_IFDIR)
		m.mode |= S_ISGID;
	pico_meta_put_t(t, &m, st.st_mode & 07777);
}

void pico_created(const char *host, unsigned type, unsigned req_mode)
{
	struct pico_target t = {host, -1};
	pico_created_t(&t, host, type, req_mode);
}

int pico_need_meta_on_create(const char *host, unsigned type, unsigned mode)
{
	unsigned forced = type == S_IFDIR ? 0700 : 0600, g;
	/* (the real umask keeps the owner's bits: any the guest's takes away
	 * leave the host's mode other than the guest's) */
	return pico.fsuid || pico.fsgid || (mode & ~pico_cur_umask() & forced) != forced ||
	       (mode & pico_cur_umask() & 0700) || (mode & 07000) || pico_setgid_parent(host, &g);
}
