/*
 * meta.c - the owners, modes and device numbers the guest sees and sets,
 * and the xattr names it may use, in each ownership mode (enum hfs_owners
 * in hostfs.h): DrvFs's rules and `metadata` attributes, the host's own (real),
 * or a version-1 distro folder's VolFs attribute (common/volfs.h, the
 * format lxs-pico reads and writes: what one creates the other shows alike).
 *
 * Stored values are read defensively: an attribute of the wrong size or
 * form is treated as absent, since anything with write access to the host
 * file can put any bytes there.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/volfs.h"
#include "hostfs/hostfs.h"

_Static_assert(LXS_XATTR_HOST_MAX <= HFS_XNAME_MAX, "a VolFs host xattr name fits HFS_XNAME_MAX");

#define XA_UID     "user.lxs.uid"
#define XA_GID     "user.lxs.gid"
#define XA_MODE    "user.lxs.mode"
#define XA_RDEV    "user.lxs.rdev"
#define XA_PRIVATE "user.lxs."

/* The stored numbers are little-endian whatever the host's order, as WSL's. */
static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void hfs_opts_default(struct hfs_opts *o)
{
	*o = (struct hfs_opts){.uid = 1000, .gid = 1000, .umask = 022};
}

static int parse_num(const char *s, int base, unsigned long max, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int hfs_opts_parse(struct hfs_opts *o, const char *s)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	if (!s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	/* ':' too: a 9P aname or a mount option string cannot carry commas. */
	for (tok = strtok_r(copy, ",:", &save); tok && !err; tok = strtok_r(NULL, ",:", &save)) {
		if (!strcmp(tok, "metadata"))
			o->metadata = true;
		else if (!strcmp(tok, "nometadata"))
			o->metadata = false;
		else if (!strncmp(tok, "uid=", 4))
			err = parse_num(tok + 4, 10, UINT32_MAX - 1, &o->uid);
		else if (!strncmp(tok, "gid=", 4))
			err = parse_num(tok + 4, 10, UINT32_MAX - 1, &o->gid);
		else if (!strncmp(tok, "umask=", 6))
			err = parse_num(tok + 6, 8, 07777, &o->umask);
		else if (!strncmp(tok, "fmask=", 6))
			err = parse_num(tok + 6, 8, 07777, &o->fmask);
		else if (!strncmp(tok, "dmask=", 6))
			err = parse_num(tok + 6, 8, 07777, &o->dmask);
		else if (!strncmp(tok, "case=", 5))
			; /* Linux hosts are case-sensitive; nothing to choose */
		else
			err = -EINVAL;
	}
	free(copy);
	return err;
}

static bool drvfs_private_xattr(const char *name)
{
	return !strncmp(name, XA_PRIVATE, strlen(XA_PRIVATE));
}

static bool get_u32(struct hostfs *h, struct hfs_obj *o, const char *name, uint32_t *v)
{
	uint8_t b[4];

	if (hfs_getxattr(h, o, name, b, sizeof(b)) != sizeof(b))
		return false;
	*v = get_le32(b);
	return true;
}

static int set_u32(struct hostfs *h, struct hfs_obj *o, const char *name, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	return hfs_setxattr(h, o, name, b, sizeof(b), 0);
}

static bool is_special(mode_t type)
{
	return S_ISCHR(type) || S_ISBLK(type) || S_ISFIFO(type) || S_ISSOCK(type);
}

/* Linux keeps user.* attributes on regular files and directories only. */
static bool can_hold(mode_t host_type)
{
	return S_ISREG(host_type) || S_ISDIR(host_type);
}

static void drvfs_get(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
		      const struct statx *st, struct hfs_meta *m)
{
	mode_t type = st->stx_mode & S_IFMT;
	uint32_t perm = st->stx_mode & 07777, xmode;
	bool have_mode = false;
	uint8_t rdev[8];

	m->uid = opt->uid;
	m->gid = opt->gid;
	m->rdev_major = st->stx_rdev_major;
	m->rdev_minor = st->stx_rdev_minor;
	if (S_ISLNK(type)) {
		m->mode = S_IFLNK | 0777;
		return;
	}
	if (opt->metadata && can_hold(type)) {
		get_u32(h, o, XA_UID, &m->uid);
		get_u32(h, o, XA_GID, &m->gid);
		if (get_u32(h, o, XA_MODE, &xmode)) {
			have_mode = true;
			perm = xmode & 07777;
			/* A device or FIFO the guest made is a plain file on the host. */
			if (S_ISREG(type) && is_special(xmode & S_IFMT))
				type = xmode & S_IFMT;
		}
		if ((S_ISCHR(type) || S_ISBLK(type)) &&
		    hfs_getxattr(h, o, XA_RDEV, rdev, sizeof(rdev)) == sizeof(rdev)) {
			m->rdev_major = get_le32(rdev);
			m->rdev_minor = get_le32(rdev + 4);
		}
	}
	if (!have_mode)
		perm &= ~(opt->umask | (S_ISDIR(type) ? opt->dmask : opt->fmask));
	m->mode = type | perm;
}

static int drvfs_set(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
		     const struct statx *st, int64_t mode, int64_t uid, int64_t gid)
{
	mode_t type = st->stx_mode & S_IFMT;
	uint32_t xmode;
	int err = 0;

	/* Without metadata, or on a symlink or FIFO, there is nowhere to keep
	 * it: succeed, as DrvFs does. */
	if (!opt->metadata || !can_hold(type))
		return 0;
	if (mode >= 0) {
		if (S_ISREG(type) && get_u32(h, o, XA_MODE, &xmode) && is_special(xmode & S_IFMT))
			type = xmode & S_IFMT;
		err = set_u32(h, o, XA_MODE, type | ((uint32_t)mode & 07777));
	}
	if (!err && uid >= 0)
		err = set_u32(h, o, XA_UID, (uint32_t)uid);
	if (!err && gid >= 0)
		err = set_u32(h, o, XA_GID, (uint32_t)gid);
	return err;
}

static int drvfs_created(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
			 uint32_t mode, uint32_t uid, uint32_t gid, uint32_t major, uint32_t minor)
{
	uint8_t rdev[8];
	int err;

	if (!opt->metadata || !can_hold(o->type))
		return 0;
	err = set_u32(h, o, XA_UID, uid);
	if (!err)
		err = set_u32(h, o, XA_GID, gid);
	if (!err)
		err = set_u32(h, o, XA_MODE, mode);
	if (!err && (S_ISCHR(mode) || S_ISBLK(mode))) {
		put_le32(rdev, major);
		put_le32(rdev + 4, minor);
		err = hfs_setxattr(h, o, XA_RDEV, rdev, sizeof(rdev), 0);
	}
	return err;
}

/* --- HFS_OWNERS_REAL: the host's own, changed for real --------------------- */

static void real_get(const struct statx *st, struct hfs_meta *m)
{
	m->mode = st->stx_mode;
	m->uid = st->stx_uid;
	m->gid = st->stx_gid;
	m->rdev_major = st->stx_rdev_major;
	m->rdev_minor = st->stx_rdev_minor;
}

static int real_set(struct hostfs *h, struct hfs_obj *o, int64_t mode, int64_t uid, int64_t gid)
{
	int err = 0;

	/* chown first: it clears set-user-ID bits, which a mode sent with it
	 * (the client's notify_change does so) then says for itself. */
	if (uid >= 0 || gid >= 0)
		err = hfs_chown(o, uid >= 0 ? (uint32_t)uid : (uint32_t)-1,
				gid >= 0 ? (uint32_t)gid : (uint32_t)-1);
	if (!err && mode >= 0)
		err = S_ISLNK(o->type) ? -EOPNOTSUPP : hfs_chmod(h, o, (mode_t)mode & 07777);
	return err;
}

static int real_created(struct hostfs *h, struct hfs_obj *o, uint32_t mode, uint32_t uid,
			uint32_t gid)
{
	struct statx st;
	int err;

	/* The server is root: what it made is its own until given away. */
	err = hfs_chown(o, uid, gid);
	if (err || S_ISLNK(o->type))
		return err;
	/* The client applied its umask; the server's own may have taken more
	 * (and chown took set-user-ID bits): the requested mode, exactly. */
	err = hfs_stat(o, &st);
	if (!err && (st.stx_mode & 07777) != (mode & 07777))
		err = hfs_chmod(h, o, mode & 07777);
	return err;
}

/* --- HFS_OWNERS_VOLFS: user.lxs.stat, as lxs-pico keeps it (pico/meta.c) --- */

/*
 * The Linux view of a VolFs file (pico_meta_of_t): the attribute, or the
 * host's mode and device numbers owned by 0:0. The type is the host's,
 * except a regular placeholder's device, FIFO or socket type: an attribute
 * naming any other type than the host object's is not believed, since the
 * host object (and the qid) decide what the guest can do with it.
 */
static void volfs_get(struct hostfs *h, struct hfs_obj *o, const struct statx *st,
		      struct lxs_meta *m)
{
	mode_t type = st->stx_mode & S_IFMT, t;
	char v[LXS_META_MAX];
	ssize_t n;

	if (!S_ISLNK(type) && (n = hfs_getxattr(h, o, LXS_META_XATTR, v, sizeof(v))) > 0 &&
	    lxs_meta_parse(v, n, m) == 0) {
		t = m->mode & S_IFMT;
		if (t != type && !(S_ISREG(type) && is_special(t)))
			m->mode = type | (m->mode & 07777);
		return;
	}
	m->uid = m->gid = 0;
	m->mode = st->stx_mode;
	m->major = st->stx_rdev_major;
	m->minor = st->stx_rdev_minor;
}

/* Write m as pico_meta_put_t does: the attribute only where the host's
 * permission bits host_perm and 0:0 do not say it all. */
static int volfs_put(struct hostfs *h, struct hfs_obj *o, const struct lxs_meta *m,
		     unsigned host_perm)
{
	char v[LXS_META_MAX];
	int n, err;

	if (!lxs_meta_needed(m, host_perm)) {
		err = hfs_removexattr(h, o, LXS_META_XATTR);
		return err == -ENODATA ? 0 : err;
	}
	n = lxs_meta_format(m, v);
	return hfs_setxattr(h, o, LXS_META_XATTR, v, (size_t)n, 0);
}

/* Linux keeps no user.* attributes on symlinks, FIFOs and sockets (xattr(7)). */
static bool volfs_no_attr(mode_t host_type)
{
	return S_ISLNK(host_type) || S_ISFIFO(host_type) || S_ISSOCK(host_type);
}

/* pico's do_chown and do_chmod, less the permission checks the guest's
 * kernel has made already. */
static int volfs_set(struct hostfs *h, struct hfs_obj *o, const struct statx *st, int64_t mode,
		     int64_t uid, int64_t gid)
{
	mode_t type = st->stx_mode & S_IFMT;
	struct lxs_meta m;
	unsigned hp;
	int err;

	/* chown first, as real_set: a mode sent with it is the final word. */
	if ((uid >= 0 || gid >= 0) && !volfs_no_attr(type)) {
		volfs_get(h, o, st, &m);
		if (uid >= 0)
			m.uid = (unsigned)uid;
		if (gid >= 0)
			m.gid = (unsigned)gid;
		if (!S_ISDIR(m.mode)) {
			m.mode &= ~(unsigned)S_ISUID;
			if (m.mode & S_IXGRP)
				m.mode &= ~(unsigned)S_ISGID;
		}
		err = volfs_put(h, o, &m, st->stx_mode & 07777);
		if (err)
			return err;
	}
	if (mode < 0)
		return 0;
	if (S_ISLNK(type))
		return -EOPNOTSUPP;
	if (S_ISFIFO(type) || S_ISSOCK(type)) /* no attribute: the host's mode is all */
		return hfs_chmod(h, o, (mode_t)mode & 07777);
	volfs_get(h, o, st, &m);
	m.mode = (m.mode & S_IFMT) | ((unsigned)mode & 07777);
	hp = S_ISREG(type) && !S_ISREG(m.mode) ? 0600 : lxs_host_perm(m.mode);
	err = hfs_chmod(h, o, hp);
	return err ? err : volfs_put(h, o, &m, hp);
}

/* pico_created_t (and do_mknod's device placeholder). */
static int volfs_created(struct hostfs *h, struct hfs_obj *o, uint32_t mode, uint32_t uid,
			 uint32_t gid, uint32_t major, uint32_t minor)
{
	struct lxs_meta m = {uid, gid, mode, 0, 0};
	struct statx st;
	unsigned hp;
	int err;

	if (S_ISLNK(o->type))
		return 0; /* a real symlink, 0:0 */
	hp = S_ISFIFO(o->type) || S_ISSOCK(o->type)          ? mode & 07777
	     : S_ISREG(o->type) && is_special(mode & S_IFMT) ? 0600
							     : lxs_host_perm(mode);
	/* What the client's umask left is the mode; the server's own umask
	 * must not take more from the host's bits than lxs-pico's would. */
	err = hfs_stat(o, &st);
	if (!err && (st.stx_mode & 07777) != hp)
		err = hfs_chmod(h, o, hp);
	if (err || volfs_no_attr(o->type))
		return err; /* a run-time FIFO or socket is real, 0:0 */
	if (S_ISCHR(mode) || S_ISBLK(mode)) {
		m.major = major;
		m.minor = minor;
	}
	return volfs_put(h, o, &m, hp);
}

/* --- by mode ----------------------------------------------------------------- */

void hfs_meta_get(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
		  const struct statx *st, struct hfs_meta *m)
{
	struct lxs_meta v;

	switch (opt->owners) {
	case HFS_OWNERS_REAL:
		real_get(st, m);
		break;
	case HFS_OWNERS_VOLFS:
		volfs_get(h, o, st, &v);
		*m = (struct hfs_meta){.mode = v.mode,
				       .uid = v.uid,
				       .gid = v.gid,
				       .rdev_major = v.major,
				       .rdev_minor = v.minor};
		break;
	default:
		drvfs_get(h, opt, o, st, m);
	}
}

int hfs_meta_set(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
		 const struct statx *st, int64_t mode, int64_t uid, int64_t gid)
{
	switch (opt->owners) {
	case HFS_OWNERS_REAL:
		return real_set(h, o, mode, uid, gid);
	case HFS_OWNERS_VOLFS:
		return volfs_set(h, o, st, mode, uid, gid);
	default:
		return drvfs_set(h, opt, o, st, mode, uid, gid);
	}
}

int hfs_meta_host_mode(const struct hfs_opts *opt, uint32_t mode, mode_t *host)
{
	mode_t type = mode & S_IFMT, perm = mode & 07777;

	switch (type) {
	case S_IFREG:
	case S_IFDIR:
		*host = opt->owners == HFS_OWNERS_VOLFS ? type | lxs_host_perm(mode) : type | perm;
		return 0;
	case S_IFIFO:
	case S_IFSOCK:
		*host = type | perm;
		return 0;
	case S_IFCHR:
	case S_IFBLK:
		if (opt->owners == HFS_OWNERS_REAL)
			*host = type | perm;
		else if (opt->owners == HFS_OWNERS_VOLFS)
			*host = S_IFREG | 0600; /* lxs-pico's placeholder */
		else if (opt->metadata)
			*host = S_IFREG | perm; /* only metadata can hold a device */
		else
			return -EPERM;
		return 0;
	default:
		return -EINVAL;
	}
}

int hfs_meta_created(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o, uint32_t mode,
		     uint32_t uid, uint32_t gid, uint32_t major, uint32_t minor)
{
	switch (opt->owners) {
	case HFS_OWNERS_REAL:
		return real_created(h, o, mode, uid, gid);
	case HFS_OWNERS_VOLFS:
		return volfs_created(h, o, mode, uid, gid, major, minor);
	default:
		return drvfs_created(h, opt, o, mode, uid, gid, major, minor);
	}
}

/* pico's user_xattrs_allowed: a placeholder device holds no user.* of the guest's. */
static bool volfs_user_xattrs(struct hostfs *h, struct hfs_obj *o)
{
	char v[LXS_META_MAX];
	struct lxs_meta m;
	ssize_t n = hfs_getxattr(h, o, LXS_META_XATTR, v, sizeof(v));

	if (n <= 0 || lxs_meta_parse(v, n, &m) < 0)
		return true; /* as the host has it */
	return S_ISREG(m.mode) || S_ISDIR(m.mode);
}

int hfs_meta_xattr_name(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
			const char *name, bool set, char out[HFS_XNAME_MAX])
{
	size_t n = strlen(name);

	if (n > XATTR_NAME_MAX)
		return -ERANGE;
	switch (opt->owners) {
	case HFS_OWNERS_REAL:
		break;
	case HFS_OWNERS_VOLFS:
		switch (lxs_xattr_to_host(name, out)) {
		case LXS_XNAME_OK:
			break;
		case LXS_XNAME_LONG:
			return -ERANGE;
		case LXS_XNAME_RESERVED:
			return set ? -EPERM : -ENODATA;
		default:
			return -EOPNOTSUPP;
		}
		if (!strncmp(out, "user.", 5) && !volfs_user_xattrs(h, o))
			return set ? -EPERM : -ENODATA;
		return 0;
	default:
		if (drvfs_private_xattr(name))
			return set ? -EPERM : -ENODATA;
	}
	memcpy(out, name, n + 1);
	return 0;
}

/* DrvFs: the guest's view of a listxattr result, ours removed. */
static size_t drvfs_list(char *buf, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t n = strnlen(buf + in, len - in);

		if (!drvfs_private_xattr(buf + in)) {
			memmove(buf + out, buf + in, n);
			out += n;
			if (in + n < len)
				buf[out++] = '\0';
		}
		in += n + 1;
	}
	return out;
}

size_t hfs_meta_xattr_list(const struct hfs_opts *opt, char *buf, size_t len)
{
	switch (opt->owners) {
	case HFS_OWNERS_REAL:
		return len;
	case HFS_OWNERS_VOLFS:
		return (size_t)lxs_xattr_list_to_guest(buf, (long)len);
	default:
		return drvfs_list(buf, len);
	}
}
