/*
 * meta.c - DrvFs-style ownership and permissions (see struct p9_mount_opts
 * in p9.h for the rules and the xattr format).
 *
 * Stored values are read defensively: an attribute of the wrong size is
 * treated as absent, since anything with write access to the host file can
 * put any bytes there.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "p9/internal.h"

#define XA_UID     "user.lxs.uid"
#define XA_GID     "user.lxs.gid"
#define XA_MODE    "user.lxs.mode"
#define XA_RDEV    "user.lxs.rdev"
#define XA_PRIVATE "user.lxs."

void p9_mount_opts_default(struct p9_mount_opts *o)
{
	*o = (struct p9_mount_opts){.uid = 1000, .gid = 1000, .umask = 022};
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

int p9_mount_opts_parse(struct p9_mount_opts *o, const char *s)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	if (!s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
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

bool p9_meta_private_xattr(const char *name)
{
	return !strncmp(name, XA_PRIVATE, strlen(XA_PRIVATE));
}

static bool get_u32(struct p9_server *s, struct p9_obj *o, const char *name, uint32_t *v)
{
	uint8_t b[4];

	if (p9_host_getxattr(s, o, name, b, sizeof(b)) != sizeof(b))
		return false;
	*v = p9_get32(b);
	return true;
}

static int set_u32(struct p9_server *s, struct p9_obj *o, const char *name, uint32_t v)
{
	uint8_t b[4];

	p9_put32(b, v);
	return p9_host_setxattr(s, o, name, b, sizeof(b), 0);
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

void p9_meta_get(struct p9_server *s, const struct p9_mount_opts *opt, struct p9_obj *o,
		 const struct statx *st, struct p9_meta *m)
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
		get_u32(s, o, XA_UID, &m->uid);
		get_u32(s, o, XA_GID, &m->gid);
		if (get_u32(s, o, XA_MODE, &xmode)) {
			have_mode = true;
			perm = xmode & 07777;
			/* A device or FIFO the guest made is a plain file on the host. */
			if (S_ISREG(type) && is_special(xmode & S_IFMT))
				type = xmode & S_IFMT;
		}
		if ((S_ISCHR(type) || S_ISBLK(type)) &&
		    p9_host_getxattr(s, o, XA_RDEV, rdev, sizeof(rdev)) == sizeof(rdev)) {
			m->rdev_major = p9_get32(rdev);
			m->rdev_minor = p9_get32(rdev + 4);
		}
	}
	if (!have_mode)
		perm &= ~(opt->umask | (S_ISDIR(type) ? opt->dmask : opt->fmask));
	m->mode = type | perm;
}

int p9_meta_set(struct p9_server *s, const struct p9_mount_opts *opt, struct p9_obj *o,
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
		if (S_ISREG(type) && get_u32(s, o, XA_MODE, &xmode) && is_special(xmode & S_IFMT))
			type = xmode & S_IFMT;
		err = set_u32(s, o, XA_MODE, type | ((uint32_t)mode & 07777));
	}
	if (!err && uid >= 0)
		err = set_u32(s, o, XA_UID, (uint32_t)uid);
	if (!err && gid >= 0)
		err = set_u32(s, o, XA_GID, (uint32_t)gid);
	return err;
}

int p9_meta_created(struct p9_server *s, const struct p9_mount_opts *opt, struct p9_obj *o,
		    uint32_t mode, uint32_t uid, uint32_t gid, uint32_t major, uint32_t minor)
{
	uint8_t rdev[8];
	int err;

	if (!opt->metadata || !can_hold(o->type))
		return 0;
	err = set_u32(s, o, XA_UID, uid);
	if (!err)
		err = set_u32(s, o, XA_GID, gid);
	if (!err)
		err = set_u32(s, o, XA_MODE, mode);
	if (!err && (S_ISCHR(mode) || S_ISBLK(mode))) {
		p9_put32(rdev, major);
		p9_put32(rdev + 4, minor);
		err = p9_host_setxattr(s, o, XA_RDEV, rdev, sizeof(rdev), 0);
	}
	return err;
}
