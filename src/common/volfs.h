/*
 * volfs.h - the VolFs metadata format, shared by lxs-pico's translator
 * (freestanding: this header uses no libc), its tar import/export and the
 * 9P server's HFS_OWNERS_VOLFS mode (hosted). This is the on-disk contract
 * of a version-1 distro folder; anything that reads or writes one uses it,
 * so that a file made through one of them looks the same through the others.
 *
 * A file in the distro folder is an ordinary host file owned by the user who
 * runs lxs. What the host cannot hold for an ordinary user lives in one
 * extended attribute:
 *
 *   user.lxs.stat = "<uid>:<gid>:<mode, octal, with S_IFMT type bits>:<major>:<minor>"
 *
 * e.g. "0:5:20620:136:0" is a crw--w---- root:tty 136,0 character device.
 * Without the attribute a file is owned by 0:0 and its mode is the host mode.
 *
 * - Host permission bits are the Linux ones with u+rw (files) / u+rwx (dirs)
 *   added and setuid/setgid/sticky removed, so that the faked root can always
 *   read, write and search; the attribute is written whenever the Linux mode
 *   differs from that, or the owner is not 0:0, or the type is special.
 * - Character and block devices (and FIFOs and sockets from an archive) are
 *   empty regular placeholder files with the real type in the attribute,
 *   because Linux refuses unprivileged user.* xattrs on anything but regular
 *   files and directories (xattr(7)). FIFOs and sockets made at run time are
 *   real ones (so they work) and report the host's mode, owner 0:0.
 * - Symlinks are real symlinks (target = Linux target), owned by 0:0.
 * - Linux xattrs outside the user namespace (security.capability,
 *   system.posix_acl_access, ...) are stored as user.lxs.x.<name>; the guest's
 *   own user.* attributes are stored as they are. Other user.lxs.* names are
 *   reserved and hidden from the guest.
 */
#ifndef LXS_COMMON_VOLFS_H
#define LXS_COMMON_VOLFS_H

#define LXS_META_XATTR   "user.lxs.stat"
#define LXS_XATTR_PREFIX "user.lxs."
#define LXS_XATTR_OTHER  "user.lxs.x."
#define LXS_META_MAX     64

struct lxs_meta {
	unsigned uid, gid, mode;
	unsigned major, minor;
};

/* Host permission bits for a Linux mode; see above. */
static inline unsigned lxs_host_perm(unsigned mode)
{
	unsigned p = mode & 0777;
	if ((mode & 0170000) == 0040000)
		p |= 0700;
	else
		p |= 0600;
	return p;
}

/* Whether a file with this Linux metadata needs the attribute, given the
 * host permission bits it actually has. */
static inline int lxs_meta_needed(const struct lxs_meta *m, unsigned host_perm)
{
	unsigned t = m->mode & 0170000;
	if (m->uid || m->gid)
		return 1;
	if (t != 0100000 && t != 0040000 && t != 0120000)
		return 1;
	return (m->mode & 07777) != (host_perm & 07777);
}

static inline int lxs_meta__num(const char **p, const char *end, unsigned base, unsigned *out)
{
	unsigned long v = 0;
	const char *s = *p;
	if (s >= end)
		return -1;
	while (s < end && *s != ':') {
		unsigned d = (unsigned)(*s - '0');
		if (d >= base)
			return -1;
		v = v * base + d;
		if (v > 0xffffffffUL)
			return -1;
		s++;
	}
	if (s == *p)
		return -1;
	*out = (unsigned)v;
	*p = s < end ? s + 1 : s;
	return 0;
}

/* Parses an attribute value of len bytes; returns 0 or -1 if malformed. */
static inline int lxs_meta_parse(const char *v, long len, struct lxs_meta *m)
{
	const char *end = v + len;
	if (len <= 0 || len > LXS_META_MAX || v[len - 1] == ':')
		return -1;
	if (lxs_meta__num(&v, end, 10, &m->uid) || lxs_meta__num(&v, end, 10, &m->gid) ||
	    lxs_meta__num(&v, end, 8, &m->mode) || lxs_meta__num(&v, end, 10, &m->major) ||
	    lxs_meta__num(&v, end, 10, &m->minor))
		return -1;
	return v == end ? 0 : -1;
}

static inline char *lxs_meta__put(char *p, unsigned v, unsigned base, char sep)
{
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % base);
		v /= base;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	if (sep)
		*p++ = sep;
	return p;
}

/* Formats into buf (LXS_META_MAX bytes); returns the length (no NUL). */
static inline int lxs_meta_format(const struct lxs_meta *m, char *buf)
{
	char *p = buf;
	p = lxs_meta__put(p, m->uid, 10, ':');
	p = lxs_meta__put(p, m->gid, 10, ':');
	p = lxs_meta__put(p, m->mode, 8, ':');
	p = lxs_meta__put(p, m->major, 10, ':');
	p = lxs_meta__put(p, m->minor, 10, 0);
	return (int)(p - buf);
}

/* --- xattr names: the guest's <-> the host's (see above) --- */

#define LXS_XATTR_NAME_MAX 255 /* the kernel's XATTR_NAME_MAX */
/* A host name's room: the longest guest name behind LXS_XATTR_OTHER, and its NUL. */
#define LXS_XATTR_HOST_MAX (sizeof LXS_XATTR_OTHER - 1 + LXS_XATTR_NAME_MAX + 1)

/* Why a guest name has no host name (callers give their own errno). */
enum lxs_xname {
	LXS_XNAME_OK = 0,
	LXS_XNAME_LONG,     /* longer than LXS_XATTR_NAME_MAX (ERANGE) */
	LXS_XNAME_RESERVED, /* user.lxs.*: ours (get: ENODATA, set/remove: EPERM) */
	LXS_XNAME_UNKNOWN,  /* no namespace Linux knows (EOPNOTSUPP) */
};

static inline int lxs_volfs__prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

/* The host name of the guest's xattr name, into out (LXS_XATTR_HOST_MAX
 * bytes): user.* as it is, the other namespaces under LXS_XATTR_OTHER. */
static inline enum lxs_xname lxs_xattr_to_host(const char *name, char *out)
{
	unsigned long n = 0, i = 0;
	while (name[n])
		if (++n > LXS_XATTR_NAME_MAX)
			return LXS_XNAME_LONG;
	if (lxs_volfs__prefix(name, LXS_XATTR_PREFIX))
		return LXS_XNAME_RESERVED;
	if (lxs_volfs__prefix(name, "user.")) {
		while (i <= n) {
			out[i] = name[i];
			i++;
		}
		return LXS_XNAME_OK;
	}
	if (!lxs_volfs__prefix(name, "trusted.") && !lxs_volfs__prefix(name, "security.") &&
	    !lxs_volfs__prefix(name, "system."))
		return LXS_XNAME_UNKNOWN;
	for (const char *p = LXS_XATTR_OTHER; *p; p++)
		out[i++] = *p;
	for (unsigned long k = 0; k <= n; k++)
		out[i++] = name[k];
	return LXS_XNAME_OK;
}

/* Turns a host listxattr result buf[0..n) into the guest's, in place:
 * LXS_XATTR_OTHER's names without it, other user.lxs.* names left out.
 * A last name without its NUL (never from the kernel) is dropped.
 * Returns the guest's length. */
static inline long lxs_xattr_list_to_guest(char *buf, long n)
{
	const long ol = sizeof LXS_XATTR_OTHER - 1;
	long in = 0, out = 0;
	while (in < n) {
		char *s = buf + in;
		long l = 0, skip = 0;
		while (in + l < n && s[l])
			l++;
		if (in + l >= n)
			break;
		l++; /* its NUL */
		in += l;
		if (l > ol + 1 && lxs_volfs__prefix(s, LXS_XATTR_OTHER))
			skip = ol;
		else if (lxs_volfs__prefix(s, LXS_XATTR_PREFIX))
			continue;
		for (long k = skip; k < l; k++)
			buf[out++] = s[k];
	}
	return out;
}

#endif
