/*
 * import.c - image_from_tar(): a tarball becomes a sparse ext4 image.
 *
 * mke2fs makes the empty file system (10 ms for 64 GiB: nothing to gain by
 * rebuilding its layout logic on ext2fs_initialize()), then every entry is
 * written with libext2fs straight into the image: inodes with the owners,
 * modes, times and xattrs the tarball gives, file data into extents
 * allocated once per file so that a file is a few large extents.
 *
 * The directory tree lives in memory while we work (struct node, one per
 * name, hashed by parent and name): it answers every lookup without reading
 * directory blocks back, and each directory's blocks are written once at
 * the end, which keeps the conversion linear in the number of entries where
 * ext2fs_link() would rescan a directory for each name it adds.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/posix_const.h"
#include "common/tar_rules.h"
#include "internal.h"

extern char **environ;

#define NONE           UINT32_MAX
#define ROOT_NODE      0
#define NODE_DIRTY     0x1        /* directory blocks must be (re)written */
#define MAX_SYMLINKS   40         /* per lookup, as the kernel's limit */
#define WIN_BYTES      (4u << 20) /* file data is written in pieces this big */
#define PROGRESS_BYTES (8u << 20) /* report at least this often inside big files */
#define INODE_BUF      1024       /* largest inode size we handle */
#define READ_BLOCK     (1u << 20) /* libarchive's read size */
#define MKE2FS_OUT     2048
/* libarchive's errno for "not this format" on Linux (archive_private.h, not exported). */
#define LA_ERRNO_FILE_FORMAT EILSEQ

struct node {
	uint32_t ino;
	uint32_t parent;                  /* node index; the root is its own parent */
	uint32_t first_child, last_child; /* directories */
	uint32_t next;                    /* sibling */
	uint32_t name;                    /* arena offset, NUL-terminated */
	uint32_t link;                    /* symlinks: arena offset of the target */
	uint16_t name_len;
	uint8_t ftype; /* EXT2_FT_* */
	uint8_t flags;
};

struct comp {
	const char *s;
	size_t len;
};

struct split {
	struct comp *c;
	size_t n, cap;
};

#define VFS_ACL_VERSION 2
#define ACL_MAX         64
#define ACL_USER        0x02
#define ACL_GROUP       0x08
#define ACL_MASK        0x10

struct vfs_acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

struct acl {
	int type; /* ARCHIVE_ENTRY_ACL_TYPE_ACCESS or _DEFAULT */
	int n, unresolved;
	struct vfs_acl_entry e[ACL_MAX];
	char *name[ACL_MAX]; /* set while the entry's id is still unknown */
};

struct pending_acl {
	ext2_ino_t ino; /* 0 once the file is gone */
	char *path;
	struct acl acl;
};

union ibuf {
	struct ext2_inode_large l;
	char raw[INODE_BUF];
};

struct imp {
	ext2_filsys fs;
	struct archive *a;
	const char *tar_name;
	char *err;
	size_t errlen;
	bool fatal; /* err holds the reason; stop */

	image_progress_fn cb;
	void *cb_arg;
	struct image_progress prog;
	uint64_t next_report;
	char warnbuf[600];

	struct timespec now;
	unsigned int bs, inode_size;

	struct node *nodes;
	uint32_t nnodes, nodes_cap;
	char *arena;
	size_t arena_len, arena_cap;
	uint32_t *hash; /* node index + 1, 0 = empty */
	uint32_t hash_cap, hash_used;
	struct split sp, sp2;

	blk64_t goal; /* files are laid out one after the other */
	uint8_t *win;
	uint64_t win_start;
	size_t win_len;
	struct img_run *runs;
	size_t nruns, runs_cap;
	uint8_t *dirbuf;
	size_t dirbuf_cap;
	struct pending_acl *pend; /* ACLs naming users, resolved at the end */
	size_t npend, pend_cap;
};

/* ---- errors, warnings, progress ------------------------------------------ */

static int fail(struct imp *im, int neg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct imp *im, int neg, const char *fmt, ...)
{
	va_list ap;

	if (im->fatal)
		return neg; /* keep the first, most specific reason */
	im->fatal = true;
	if (im->err && im->errlen) {
		va_start(ap, fmt);
		vsnprintf(im->err, im->errlen, fmt, ap);
		va_end(ap);
	}
	return neg;
}

static int fail_ext2(struct imp *im, errcode_t code, const char *what)
{
	int neg = img_ext2_errno(code);

	/*
	 * The disk that holds the image file ran out (libext2fs passes the
	 * host's errno through, or says "short write" when a write stopped
	 * half-way): the image itself has room, so "give it a larger size"
	 * would send the user the wrong way.
	 */
	if (code == ENOSPC || code == EDQUOT || code == EXT2_ET_SHORT_WRITE)
		return fail(im, -ENOSPC,
			    "no space left on the disk that holds the image (after %llu entries, "
			    "at %s); free some space there and try again",
			    (unsigned long long)im->prog.entries, what);
	if (neg == -ENOSPC)
		return fail(im, neg,
			    "the image is full after %llu entries (%s): give it a larger size",
			    (unsigned long long)im->prog.entries, what);
	return fail(im, neg, "cannot write %s into the image: %s", what, img_ext2_msg(code));
}

static int fail_archive(struct imp *im)
{
	const char *why = archive_error_string(im->a);
	int e = archive_errno(im->a);

	if (!why)
		why = "unknown error";
	if (e == LA_ERRNO_FILE_FORMAT && im->prog.entries == 0)
		return fail(im, -EINVAL, "%s is not a tar archive (%s)", im->tar_name, why);
	if (tar_truncated(why))
		return fail(im, -EINVAL, TAR_MSG_TRUNCATED, (unsigned long long)im->prog.entries);
	/* libarchive says EINVAL for damaged data; other errnos are the system's (I/O, no
	 * decompressor). */
	if (e > 0 && e != LA_ERRNO_FILE_FORMAT && e != EINVAL)
		return fail(im, -e, "cannot read %s: %s", im->tar_name, why);
	return fail(im, -EINVAL, "%s is damaged or truncated: %s", im->tar_name, why);
}

static int report(struct imp *im, const char *warning)
{
	int r;

	im->prog.in_bytes = (uint64_t)archive_filter_bytes(im->a, -1);
	im->prog.warning = warning;
	if (!im->cb) {
		if (warning)
			log_warnx("%s", warning);
		return 0;
	}
	r = im->cb(&im->prog, im->cb_arg);
	im->prog.warning = NULL;
	if (r)
		return fail(im, -ECANCELED, "the conversion of %s was cancelled", im->tar_name);
	return 0;
}

static int vwarn(struct imp *im, bool skip, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int vwarn(struct imp *im, bool skip, const char *fmt, va_list ap)
{
	vsnprintf(im->warnbuf, sizeof(im->warnbuf), fmt, ap);
	if (skip)
		im->prog.skipped++;
	return report(im, im->warnbuf);
}

/* An entry we leave out: say so and carry on (returns 0 unless cancelled). */
static int skip(struct imp *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int skip(struct imp *im, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vwarn(im, true, fmt, ap);
	va_end(ap);
	return r;
}

/* Part of an entry we leave out (an xattr), the entry itself is kept. */
static int warn(struct imp *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(struct imp *im, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vwarn(im, false, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- the in-memory tree -------------------------------------------------- */

static uint32_t name_hash(uint32_t parent, const char *s, size_t len)
{
	uint32_t h = 2166136261u ^ (parent * 0x9e3779b1u);

	while (len--) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}

static const char *node_name(const struct imp *im, uint32_t n)
{
	return im->arena + im->nodes[n].name;
}

static uint32_t node_find(const struct imp *im, uint32_t parent, const char *s, size_t len)
{
	uint32_t mask = im->hash_cap - 1;
	uint32_t h = name_hash(parent, s, len) & mask;

	for (;; h = (h + 1) & mask) {
		uint32_t slot = im->hash[h];
		const struct node *n;

		if (!slot)
			return NONE;
		n = &im->nodes[slot - 1];
		if (n->parent == parent && n->name_len == len &&
		    !memcmp(node_name(im, slot - 1), s, len))
			return slot - 1;
	}
}

static void hash_put(struct imp *im, uint32_t idx)
{
	const struct node *n = &im->nodes[idx];
	uint32_t mask = im->hash_cap - 1;
	uint32_t h = name_hash(n->parent, node_name(im, idx), n->name_len) & mask;

	while (im->hash[h])
		h = (h + 1) & mask;
	im->hash[h] = idx + 1;
}

static int hash_grow(struct imp *im)
{
	uint32_t cap = im->hash_cap ? im->hash_cap * 2 : 4096, i;
	uint32_t *old = im->hash;

	if (cap < im->hash_cap)
		return -ENOMEM;
	im->hash = calloc(cap, sizeof(*im->hash));
	if (!im->hash) {
		im->hash = old;
		return -ENOMEM;
	}
	im->hash_cap = cap;
	for (i = 1; i < im->nnodes; i++) /* node 0, the root, has no name */
		if (im->nodes[i].ino)
			hash_put(im, i);
	free(old);
	return 0;
}

/* Copies s[0..len) and a NUL into the arena; its offset in *off. */
static int arena_add(struct imp *im, const char *s, size_t len, uint32_t *off)
{
	if (im->arena_len + len + 1 > im->arena_cap) {
		size_t cap = im->arena_cap ? im->arena_cap : 1 << 16;
		char *p;

		while (cap < im->arena_len + len + 1)
			cap *= 2;
		if (cap > UINT32_MAX)
			return fail(im, -ENOMEM, "the tarball has more names than fit in 4 GiB");
		p = realloc(im->arena, cap);
		if (!p)
			return fail(im, -ENOMEM, "out of memory");
		im->arena = p;
		im->arena_cap = cap;
	}
	memcpy(im->arena + im->arena_len, s, len);
	im->arena[im->arena_len + len] = 0;
	*off = (uint32_t)im->arena_len;
	im->arena_len += len + 1;
	return 0;
}

static int node_add(struct imp *im, uint32_t parent, const char *s, size_t len, ext2_ino_t ino,
		    uint8_t ftype, uint32_t *out)
{
	struct node *n;
	uint32_t idx, name;
	int r;

	if (im->nnodes == im->nodes_cap) {
		uint32_t cap = im->nodes_cap ? im->nodes_cap * 2 : 4096;
		struct node *p;

		if (cap < im->nodes_cap || cap == NONE)
			return fail(im, -ENOMEM, "the tarball has too many entries");
		p = realloc(im->nodes, (size_t)cap * sizeof(*p));
		if (!p)
			return fail(im, -ENOMEM, "out of memory");
		im->nodes = p;
		im->nodes_cap = cap;
	}
	if ((uint64_t)(im->hash_used + 1) * 2 > im->hash_cap && hash_grow(im) < 0)
		return fail(im, -ENOMEM, "out of memory");
	r = arena_add(im, s, len, &name);
	if (r)
		return r;
	idx = im->nnodes++;
	n = &im->nodes[idx];
	*n = (struct node){
	    .ino = ino,
	    .parent = parent,
	    .first_child = NONE,
	    .last_child = NONE,
	    .next = NONE,
	    .name = name,
	    .link = NONE,
	    .name_len = (uint16_t)len,
	    .ftype = ftype,
	    .flags = ftype == EXT2_FT_DIR ? NODE_DIRTY : 0,
	};
	hash_put(im, idx);
	im->hash_used++;
	if (im->nodes[parent].last_child == NONE)
		im->nodes[parent].first_child = idx;
	else
		im->nodes[im->nodes[parent].last_child].next = idx;
	im->nodes[parent].last_child = idx;
	im->nodes[parent].flags |= NODE_DIRTY;
	if (out)
		*out = idx;
	return 0;
}

/*
 * Normalizes a name from the tarball into components: empty and "."
 * components go. A leading "/" just means the image root. -EXDEV for a ".."
 * anywhere (tar_rules.h: a name with one is refused, as tar does, rather than
 * resolved), -ENAMETOOLONG for a component ext4 cannot store.
 */
static int split_path(struct split *sp, const char *path)
{
	const char *p = path;

	sp->n = 0;
	while (*p) {
		const char *s;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - s);
		if (len == 1 && s[0] == '.')
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return -EXDEV;
		if (len > EXT2_NAME_LEN)
			return -ENAMETOOLONG;
		if (sp->n == sp->cap) {
			size_t cap = sp->cap ? sp->cap * 2 : 64;
			struct comp *c = realloc(sp->c, cap * sizeof(*c));

			if (!c)
				return -ENOMEM;
			sp->c = c;
			sp->cap = cap;
		}
		sp->c[sp->n++] = (struct comp){s, len};
	}
	return 0;
}

/*
 * Where the symlink node `link` leads inside the image, as a chroot would
 * resolve it: an absolute target starts at the image root and ".." stops at
 * the root, so nothing ever leads outside. *budget counts the symlinks this
 * lookup may still follow. -ENOENT, -ENOTDIR or -ELOOP when it leads nowhere.
 */
static int follow(const struct imp *im, uint32_t link, int *budget, uint32_t *out)
{
	const char *t = im->arena + im->nodes[link].link;
	uint32_t cur = *t == '/' ? ROOT_NODE : im->nodes[link].parent;
	int r;

	if (--*budget < 0)
		return -ELOOP;
	while (*t) {
		const char *s;
		size_t len;
		uint32_t child;

		while (*t == '/')
			t++;
		if (!*t)
			break;
		s = t;
		while (*t && *t != '/')
			t++;
		len = (size_t)(t - s);
		if (im->nodes[cur].ftype != EXT2_FT_DIR)
			return -ENOTDIR;
		if (len == 1 && s[0] == '.')
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			cur = im->nodes[cur].parent;
			continue;
		}
		child = node_find(im, cur, s, len);
		if (child == NONE)
			return -ENOENT;
		if (im->nodes[child].ftype == EXT2_FT_SYMLINK) {
			r = follow(im, child, budget, &child);
			if (r)
				return r;
		}
		cur = child;
	}
	*out = cur;
	return 0;
}

/* ---- inodes -------------------------------------------------------------- */

static int new_inode(struct imp *im, uint32_t parent, __u16 mode, ext2_ino_t *ino, const char *path)
{
	errcode_t err = ext2fs_new_inode(im->fs, im->nodes[parent].ino, mode, NULL, ino);

	if (err)
		return fail_ext2(im, err, path);
	ext2fs_inode_alloc_stats2(im->fs, *ino, +1, LINUX_S_ISDIR(mode));
	return 0;
}

static __u32 entry_id(struct imp *im, la_int64_t id, const char *what, const char *path)
{
	/* (uid_t)-1 means "no owner" to the kernel; keep such files away from root. */
	if (id < 0 || id >= 0xffffffffLL) {
		warn(im, "%s: %s %lld is out of range, using 65534", path, what, (long long)id);
		return 65534;
	}
	return (__u32)id;
}

static void set_owner(struct ext2_inode_large *li, __u32 uid, __u32 gid)
{
	li->i_uid = (__u16)uid;
	ext2fs_set_i_uid_high(*li, uid >> 16);
	li->i_gid = (__u16)gid;
	ext2fs_set_i_gid_high(*li, gid >> 16);
}

/* Times the tarball leaves out are "now", as when extracting. */
static void set_times(struct imp *im, struct ext2_inode_large *li, struct archive_entry *e)
{
	struct timespec a = im->now, m = im->now, c = im->now;

	if (e && archive_entry_mtime_is_set(e))
		m = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
	if (e && archive_entry_atime_is_set(e))
		a = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
	if (e && archive_entry_ctime_is_set(e))
		c = (struct timespec){archive_entry_ctime(e), archive_entry_ctime_nsec(e)};
	img_time_encode(a.tv_sec, a.tv_nsec, &li->i_atime, &li->i_atime_extra);
	img_time_encode(m.tv_sec, m.tv_nsec, &li->i_mtime, &li->i_mtime_extra);
	img_time_encode(c.tv_sec, c.tv_nsec, &li->i_ctime, &li->i_ctime_extra);
}

/* A fresh inode image: zeroed to the full inode size so no stale xattrs survive. */
static void init_inode(struct imp *im, union ibuf *ib, __u16 mode, struct archive_entry *e,
		       const char *path)
{
	struct ext2_inode_large *li = &ib->l;

	memset(ib->raw, 0, im->inode_size);
	li->i_mode = mode;
	li->i_links_count = 1;
	li->i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	if (e)
		set_owner(li, entry_id(im, archive_entry_uid(e), "owner", path),
			  entry_id(im, archive_entry_gid(e), "group", path));
	set_times(im, li, e);
	img_time_encode(im->now.tv_sec, im->now.tv_nsec, &li->i_crtime, &li->i_crtime_extra);
}

static int write_inode(struct imp *im, ext2_ino_t ino, union ibuf *ib, const char *path)
{
	errcode_t err =
	    ext2fs_write_inode_full(im->fs, ino, (struct ext2_inode *)&ib->l, im->inode_size);

	return err ? fail_ext2(im, err, path) : 0;
}

static int read_inode(struct imp *im, ext2_ino_t ino, union ibuf *ib, const char *path)
{
	errcode_t err =
	    ext2fs_read_inode_full(im->fs, ino, (struct ext2_inode *)&ib->l, im->inode_size);

	return err ? fail_ext2(im, err, path) : 0;
}

/* Gives the inode an (empty) extent tree, as the kernel does for new files. */
static int init_extents(struct imp *im, ext2_ino_t ino, union ibuf *ib, const char *path)
{
	ext2_extent_handle_t h;
	errcode_t err = ext2fs_extent_open2(im->fs, ino, (struct ext2_inode *)&ib->l, &h);

	if (err)
		return fail_ext2(im, err, path);
	ext2fs_extent_free(h);
	return 0;
}

/* Drops one name of a non-directory inode; frees it with its last name. */
static int release(struct imp *im, ext2_ino_t ino, const char *path)
{
	union ibuf ib;
	errcode_t err;
	size_t i;
	int r;

	r = read_inode(im, ino, &ib, path);
	if (r)
		return r;
	if (ib.l.i_links_count > 1) {
		ib.l.i_links_count--;
		return write_inode(im, ino, &ib, path);
	}
	if (ext2fs_inode_has_valid_blocks2(im->fs, (struct ext2_inode *)&ib.l)) {
		err = ext2fs_punch(im->fs, ino, (struct ext2_inode *)&ib.l, NULL, 0, ~0ULL);
		if (err)
			return fail_ext2(im, err, path);
	}
	if (ext2fs_file_acl_block(im->fs, (struct ext2_inode *)&ib.l)) {
		err = ext2fs_free_ext_attr(im->fs, ino, &ib.l);
		if (err)
			return fail_ext2(im, err, path);
	}
	for (i = 0; i < im->npend; i++)
		if (im->pend[i].ino == ino)
			im->pend[i].ino = 0;
	ib.l.i_links_count = 0;
	ib.l.i_dtime = (__u32)im->now.tv_sec;
	r = write_inode(im, ino, &ib, path);
	if (r)
		return r;
	ext2fs_inode_alloc_stats2(im->fs, ino, -1, 0);
	return 0;
}

/* ---- xattrs and ACLs ----------------------------------------------------- */

static bool xattr_name_ok(const char *name)
{
	static const char *const prefixes[] = {"user.", "trusted.", "security."};
	size_t i, len = strlen(name);

	if (!strcmp(name, "system.posix_acl_access") || !strcmp(name, "system.posix_acl_default"))
		return true;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (!strncmp(name, prefixes[i], pl))
			return len > pl && len - pl <= 255;
	}
	return false;
}

/*
 * POSIX ACLs. libarchive hands them over parsed (SCHILY.acl.* and friends);
 * ext2fs_xattr_set() takes them in Linux's xattr layout: a version word,
 * then {tag, perm, id} sorted by tag and id. GNU tar writes named entries
 * by name ("group:adm:r-x"), and names mean what the distribution's own
 * /etc/passwd and /etc/group say: such ACLs wait until the end, when those
 * files are in the image.
 */
static uint16_t acl_tag(int tag)
{
	switch (tag) {
	case ARCHIVE_ENTRY_ACL_USER_OBJ:
		return 0x01;
	case ARCHIVE_ENTRY_ACL_USER:
		return ACL_USER;
	case ARCHIVE_ENTRY_ACL_GROUP_OBJ:
		return 0x04;
	case ARCHIVE_ENTRY_ACL_GROUP:
		return ACL_GROUP;
	case ARCHIVE_ENTRY_ACL_MASK:
		return ACL_MASK;
	case ARCHIVE_ENTRY_ACL_OTHER:
		return 0x20;
	default:
		return 0;
	}
}

static void acl_free(struct acl *a)
{
	int i;

	for (i = 0; i < a->n; i++) {
		free(a->name[i]);
		a->name[i] = NULL;
	}
}

/* Whether s is a decimal number up to `end` (or its NUL). */
static bool all_digits_until(const char *s, char end)
{
	const char *p = s;

	for (; *p && *p != end; p++)
		if (*p < '0' || *p > '9')
			return false;
	return p > s;
}

static bool all_digits(const char *s)
{
	return all_digits_until(s, 0);
}

/* The entry's ACL of a->type; a->n is 0 when it has none. */
static int acl_collect(struct archive_entry *e, struct acl *a)
{
	int atype, perm, tag, id;
	const char *name;

	a->n = a->unresolved = 0;
	if (archive_entry_acl_reset(e, a->type) <= 0)
		return 0;
	while (archive_entry_acl_next(e, a->type, &atype, &perm, &tag, &id, &name) == ARCHIVE_OK) {
		uint16_t vt = acl_tag(tag);
		struct vfs_acl_entry *v = &a->e[a->n];

		if (!vt || a->n == ACL_MAX)
			continue;
		v->tag = vt;
		v->perm = (uint16_t)(perm & 7);
		v->id = 0xffffffffu;
		a->name[a->n] = NULL;
		if (vt == ACL_USER || vt == ACL_GROUP) {
			if (id >= 0) {
				v->id = (uint32_t)id;
			} else if (name && all_digits(name)) {
				v->id = (uint32_t)strtoul(name, NULL, 10);
			} else if (name) {
				a->name[a->n] = strdup(name);
				if (!a->name[a->n]) {
					acl_free(a);
					return -ENOMEM;
				}
				a->unresolved++;
			} else {
				continue;
			}
		}
		a->n++;
	}
	return 0;
}

/*
 * The xattr value for a resolved ACL, sorted as the kernel wants it, with
 * the mask setfacl would add when named entries come without one. Entries
 * still carrying a name (unresolvable) are left out. 0 when empty.
 */
static size_t acl_encode(const struct acl *a, uint8_t *buf, size_t cap)
{
	struct vfs_acl_entry ents[ACL_MAX + 1], t;
	uint16_t group_class = 0;
	bool named = false, mask = false;
	uint32_t version = VFS_ACL_VERSION;
	int n = 0, i, j;
	size_t len;

	for (i = 0; i < a->n; i++) {
		if (a->name[i])
			continue;
		ents[n] = a->e[i];
		named |= ents[n].tag == ACL_USER || ents[n].tag == ACL_GROUP;
		mask |= ents[n].tag == ACL_MASK;
		if (ents[n].tag == ACL_USER || ents[n].tag == ACL_GROUP || ents[n].tag == 0x04)
			group_class |= ents[n].perm;
		n++;
	}
	if (named && !mask)
		ents[n++] = (struct vfs_acl_entry){ACL_MASK, group_class, 0xffffffffu};
	for (i = 1; i < n; i++) {
		t = ents[i];
		for (j = i; j > 0 && (ents[j - 1].tag > t.tag ||
				      (ents[j - 1].tag == t.tag && ents[j - 1].id > t.id));
		     j--)
			ents[j] = ents[j - 1];
		ents[j] = t;
	}
	len = sizeof(version) + (size_t)n * sizeof(ents[0]);
	if (!n || len > cap)
		return 0;
	memcpy(buf, &version, sizeof(version));
	memcpy(buf + sizeof(version), ents, (size_t)n * sizeof(ents[0]));
	return len;
}

/*
 * The permission bits to store. With an access ACL that has a mask, Linux
 * keeps the mask in the group bits, while libarchive puts the owning
 * group's entry there when it parses the ACL: put the mask back.
 */
static __u16 entry_perm(struct archive_entry *e)
{
	__u16 perm = (__u16)(archive_entry_perm(e) & 07777);
	int atype, p, tag, id;
	const char *name;

	if (archive_entry_acl_reset(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) <= 0)
		return perm;
	while (archive_entry_acl_next(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &atype, &p, &tag, &id,
				      &name) == ARCHIVE_OK)
		if (tag == ARCHIVE_ENTRY_ACL_MASK)
			perm = (__u16)((perm & ~070) | ((p & 7) << 3));
	return perm;
}

static int xattr_put(struct imp *im, struct ext2_xattr_handle *h, const char *name, const void *val,
		     size_t len, const char *path)
{
	errcode_t err;

	if (!xattr_name_ok(name))
		return warn(im, "%s: extended attribute %s left out, ext4 cannot store that name",
			    path, name);
	err = ext2fs_xattr_set(h, name, val, len);
	if (err == EXT2_ET_EA_NO_SPACE || err == EXT2_ET_EA_BAD_VALUE_SIZE || err == EINVAL ||
	    err == EXT2_ET_EA_BAD_NAME_LEN)
		return warn(im, "%s: extended attribute %s (%zu bytes) left out: %s", path, name,
			    len, img_ext2_msg(err));
	if (err)
		return fail_ext2(im, err, path);
	return 0;
}

static const char *acl_xattr_name(int type)
{
	return type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS ? "system.posix_acl_access"
						     : "system.posix_acl_default";
}

static int acl_put(struct imp *im, struct ext2_xattr_handle *h, const struct acl *a,
		   const char *path)
{
	uint8_t buf[4 + (ACL_MAX + 1) * sizeof(struct vfs_acl_entry)];
	size_t len = acl_encode(a, buf, sizeof(buf));

	return len ? xattr_put(im, h, acl_xattr_name(a->type), buf, len, path) : 0;
}

static int acl_defer(struct imp *im, ext2_ino_t ino, struct acl *a, const char *path)
{
	struct pending_acl *p;

	if (im->npend == im->pend_cap) {
		size_t cap = im->pend_cap ? im->pend_cap * 2 : 16;

		p = realloc(im->pend, cap * sizeof(*p));
		if (!p)
			return fail(im, -ENOMEM, "out of memory");
		im->pend = p;
		im->pend_cap = cap;
	}
	p = &im->pend[im->npend];
	p->path = strdup(path);
	if (!p->path)
		return fail(im, -ENOMEM, "out of memory");
	p->ino = ino;
	p->acl = *a; /* takes the names */
	im->npend++;
	return 0;
}

static int set_xattrs(struct imp *im, ext2_ino_t ino, struct archive_entry *e, const char *path)
{
	static const int types[] = {ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT};
	struct ext2_xattr_handle *h = NULL;
	const char *name;
	const void *val;
	const char **seen;
	struct acl *a = NULL;
	size_t len, i;
	errcode_t err;
	int r = 0, k, nx;

	if (archive_entry_xattr_count(e) == 0 &&
	    archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E) == 0)
		return 0;
	err = ext2fs_xattrs_open(im->fs, ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	if (err) {
		r = fail_ext2(im, err, path);
		goto out;
	}
	/*
	 * libarchive's pax writer stores each xattr twice (LIBARCHIVE.xattr.*
	 * and SCHILY.xattr.*) and its reader returns both: once is enough.
	 */
	nx = archive_entry_xattr_reset(e);
	seen = nx > 0 ? calloc((size_t)nx, sizeof(*seen)) : NULL;
	if (nx > 0 && !seen)
		r = fail(im, -ENOMEM, "out of memory");
	for (k = 0; !r && k < nx && archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK;
	     k++) {
		bool dup = false;
		int j;

		for (j = 0; j < k && !dup; j++)
			dup = !strcmp(seen[j], name);
		seen[k] = name;
		if (!dup)
			r = xattr_put(im, h, name, val, len, path);
	}
	free(seen);
	if (!r && archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E) > 0) {
		a = malloc(sizeof(*a));
		if (!a)
			r = fail(im, -ENOMEM, "out of memory");
	}
	for (i = 0; a && !r && i < sizeof(types) / sizeof(types[0]); i++) {
		a->type = types[i];
		if (acl_collect(e, a) < 0) {
			r = fail(im, -ENOMEM, "out of memory");
		} else if (a->unresolved) {
			r = acl_defer(im, ino, a, path);
			if (r)
				acl_free(a);
		} else {
			r = acl_put(im, h, a, path);
		}
	}
	free(a);
out:
	if (h) {
		err = ext2fs_xattrs_close(&h);
		if (err && !r)
			r = fail_ext2(im, err, path);
	}
	return r;
}

/* ---- file data ----------------------------------------------------------- */

static int load_runs(struct imp *im, ext2_ino_t ino, union ibuf *ib, const char *path)
{
	errcode_t err = 0;
	int r = img_load_runs(im->fs, ino, (struct ext2_inode *)&ib->l, 0, &im->runs, &im->nruns,
			      &im->runs_cap, &err);

	if (r == -ENOMEM)
		return fail(im, -ENOMEM, "out of memory");
	if (r < 0)
		return fail_ext2(im, err, path);
	if (im->nruns) {
		struct img_run *last = &im->runs[im->nruns - 1];

		im->goal = last->pblk + last->len;
	}
	return 0;
}

/* Index of the run holding lblk, or NONE; *next_lblk: where the next run starts. */
static size_t find_run(const struct imp *im, blk64_t lblk, blk64_t *next_lblk)
{
	size_t lo = 0, hi = im->nruns;

	while (lo < hi) { /* first run starting after lblk */
		size_t mid = (lo + hi) / 2;

		if (im->runs[mid].lblk <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	*next_lblk = lo < im->nruns ? im->runs[lo].lblk : ~0ULL;
	if (lo && lblk < im->runs[lo - 1].lblk + im->runs[lo - 1].len)
		return lo - 1;
	return NONE;
}

static int allocate(struct imp *im, ext2_ino_t ino, union ibuf *ib, blk64_t lblk, blk64_t n,
		    const char *path)
{
	errcode_t err = ext2fs_fallocate(im->fs, EXT2_FALLOCATE_FORCE_INIT, ino,
					 (struct ext2_inode *)&ib->l, im->goal, lblk, n);

	return err ? fail_ext2(im, err, path) : 0;
}

/* Writes the window (whole blocks, zero-padded) to the file's blocks, allocating any unmapped. */
static int win_flush(struct imp *im, ext2_ino_t ino, union ibuf *ib, const char *path)
{
	blk64_t lblk = im->win_start / im->bs, nblk, next;
	uint8_t *p = im->win;
	errcode_t err;
	int r;

	if (!im->win_len)
		return 0;
	nblk = (im->win_len + im->bs - 1) / im->bs;
	memset(im->win + im->win_len, 0, nblk * im->bs - im->win_len);
	while (nblk) {
		size_t i = find_run(im, lblk, &next);
		blk64_t n;

		if (i == NONE) {
			/* Data beyond what the sparse map announced: map it now. */
			n = next - lblk < nblk ? next - lblk : nblk;
			r = allocate(im, ino, ib, lblk, n, path);
			if (!r)
				r = load_runs(im, ino, ib, path);
			if (r)
				return r;
			continue;
		}
		n = im->runs[i].lblk + im->runs[i].len - lblk;
		if (n > nblk)
			n = nblk;
		err = io_channel_write_blk64(
		    im->fs->io, im->runs[i].pblk + (lblk - im->runs[i].lblk), (int)n, p);
		if (err)
			return fail_ext2(im, err, path);
		lblk += n;
		nblk -= n;
		p += n * im->bs;
	}
	im->win_len = 0;
	return 0;
}

/* Allocates what the entry says holds data (all of it unless sparse), in as few extents as
 * possible. */
static int preallocate(struct imp *im, ext2_ino_t ino, union ibuf *ib, struct archive_entry *e,
		       uint64_t size, const char *path)
{
	la_int64_t off, len;
	int r;

	if (archive_entry_sparse_reset(e) <= 0)
		return allocate(im, ino, ib, 0, (size + im->bs - 1) / im->bs, path);
	while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
		uint64_t first, end;

		if (off < 0 || len <= 0 || (uint64_t)off >= size)
			continue;
		end = (uint64_t)len > size - (uint64_t)off ? size : (uint64_t)off + (uint64_t)len;
		first = (uint64_t)off / im->bs;
		r = allocate(im, ino, ib, first, (end + im->bs - 1) / im->bs - first, path);
		if (r)
			return r;
	}
	return 0;
}

static int copy_data(struct imp *im, ext2_ino_t ino, union ibuf *ib, struct archive_entry *e,
		     uint64_t size, const char *path)
{
	const void *buf;
	size_t sz;
	la_int64_t off;
	int r;

	r = preallocate(im, ino, ib, e, size, path);
	if (!r)
		r = load_runs(im, ino, ib, path);
	if (r)
		return r;
	im->win_len = 0;
	for (;;) {
		const uint8_t *p;
		uint64_t o;

		r = archive_read_data_block(im->a, &buf, &sz, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return fail_archive(im);
		if (off < 0 || (uint64_t)off > size || sz > size - (uint64_t)off)
			return fail(im, -EINVAL,
				    "%s is damaged: the data of %s goes beyond its size",
				    im->tar_name, path);
		p = buf;
		o = (uint64_t)off;
		while (sz) {
			uint64_t end = im->win_start + im->win_len;
			size_t n;

			if (im->win_len && o != end) {
				if (o < end)
					return fail(im, -EINVAL,
						    "%s is damaged: the data of %s overlaps",
						    im->tar_name, path);
				if (o < (end + im->bs - 1) / im->bs * im->bs) {
					memset(im->win + im->win_len, 0, o - end);
					im->win_len = o - im->win_start;
				} else {
					r = win_flush(im, ino, ib, path);
					if (r)
						return r;
				}
			}
			if (!im->win_len) {
				im->win_start = o - o % im->bs;
				im->win_len = o - im->win_start;
				memset(im->win, 0, im->win_len);
			}
			n = WIN_BYTES - im->win_len < sz ? WIN_BYTES - im->win_len : sz;
			memcpy(im->win + im->win_len, p, n);
			im->win_len += n;
			o += n;
			p += n;
			sz -= n;
			im->prog.data_bytes += n;
			if (im->win_len == WIN_BYTES) {
				r = win_flush(im, ino, ib, path);
				if (r)
					return r;
			}
		}
		if (im->prog.data_bytes >= im->next_report) {
			im->next_report = im->prog.data_bytes + PROGRESS_BYTES;
			r = report(im, NULL);
			if (r)
				return r;
		}
	}
	return win_flush(im, ino, ib, path);
}

/* ---- entries ------------------------------------------------------------- */

/*
 * Names as raw bytes when libarchive has them, else its UTF-8 form: either
 * way names in any charset survive a C locale.
 */
static const char *entry_path(struct archive_entry *e)
{
	const char *s = archive_entry_pathname(e);

	return s ? s : archive_entry_pathname_utf8(e);
}

static const char *entry_hardlink(struct archive_entry *e)
{
	const char *s = archive_entry_hardlink(e);

	return s ? s : archive_entry_hardlink_utf8(e);
}

static const char *entry_symlink(struct archive_entry *e)
{
	const char *s = archive_entry_symlink(e);

	return s ? s : archive_entry_symlink_utf8(e);
}

static uint8_t ftype_of(__u16 mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:
		return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR:
		return EXT2_FT_DIR;
	case LINUX_S_IFCHR:
		return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK:
		return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO:
		return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK:
		return EXT2_FT_SOCK;
	case LINUX_S_IFLNK:
		return EXT2_FT_SYMLINK;
	default:
		return EXT2_FT_UNKNOWN;
	}
}

/* A directory inode (links and blocks are settled when its entries are written at the end). */
static int make_dir(struct imp *im, uint32_t parent, struct archive_entry *e, const char *path,
		    ext2_ino_t *out)
{
	__u16 mode = LINUX_S_IFDIR | (e ? entry_perm(e) : 0755);
	union ibuf ib;
	ext2_ino_t ino;
	int r;

	r = new_inode(im, parent, mode, &ino, path);
	if (r)
		return r;
	init_inode(im, &ib, mode, e, path);
	ib.l.i_links_count = 2;
	r = init_extents(im, ino, &ib, path);
	if (!r)
		r = write_inode(im, ino, &ib, path);
	if (!r && e)
		r = set_xattrs(im, ino, e, path);
	*out = ino;
	return r;
}

/*
 * The directory node for c[0..n), creating missing ones (root:root 0755,
 * time now) when create is set. A symlink on the way is followed inside the
 * image when links is set (for reading the image's own files); otherwise it
 * ends the walk with -ELOOP, since the archive's entries are never placed
 * through a symlink (common/tar_rules.h). -ENOENT, -ENOTDIR, -ELOOP: no such
 * directory, with the index of the component in the way in *at; other
 * errors are fatal (im->fatal). path is for messages.
 */
static int walk(struct imp *im, const struct comp *c, size_t n, bool create, bool links,
		const char *path, uint32_t *out, size_t *at)
{
	uint32_t cur = ROOT_NODE, child;
	int budget = MAX_SYMLINKS, r;
	size_t i;

	for (i = 0; i < n; i++) {
		*at = i;
		child = node_find(im, cur, c[i].s, c[i].len);
		if (child == NONE) {
			ext2_ino_t ino;

			if (!create)
				return -ENOENT;
			r = make_dir(im, cur, NULL, path, &ino);
			if (!r)
				r = node_add(im, cur, c[i].s, c[i].len, ino, EXT2_FT_DIR, &child);
			if (r)
				return r;
		} else if (im->nodes[child].ftype == EXT2_FT_SYMLINK) {
			if (!links)
				return -ELOOP;
			r = follow(im, child, &budget, &child);
			if (r)
				return r;
		}
		if (im->nodes[child].ftype != EXT2_FT_DIR)
			return -ENOTDIR;
		cur = child;
	}
	*out = cur;
	return 0;
}

/* c[0..n) joined with "/": the cleaned name messages show, as version 1 does. */
static const char *comp_join(const struct comp *c, size_t n, char *buf, size_t size)
{
	size_t o = 0, i;

	buf[0] = 0;
	for (i = 0; i < n; i++) {
		int k = snprintf(buf + o, size - o, "%s%.*s", i ? "/" : "", (int)c[i].len, c[i].s);

		if (k < 0 || (size_t)k >= size - o)
			break;
		o += (size_t)k;
	}
	return buf;
}

static int update_meta(struct imp *im, ext2_ino_t ino, struct archive_entry *e, const char *path)
{
	union ibuf ib;
	int r;

	r = read_inode(im, ino, &ib, path);
	if (r)
		return r;
	ib.l.i_mode = (__u16)((ib.l.i_mode & LINUX_S_IFMT) | entry_perm(e));
	set_owner(&ib.l, entry_id(im, archive_entry_uid(e), "owner", path),
		  entry_id(im, archive_entry_gid(e), "group", path));
	set_times(im, &ib.l, e);
	r = write_inode(im, ino, &ib, path);
	if (!r)
		r = set_xattrs(im, ino, e, path);
	return r;
}

static int make_file(struct imp *im, uint32_t parent, struct archive_entry *e, const char *path,
		     ext2_ino_t *out)
{
	__u16 mode = LINUX_S_IFREG | entry_perm(e);
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	union ibuf ib;
	ext2_ino_t ino;
	errcode_t err;
	int r;

	if (size < 0)
		return fail(im, -EINVAL, "%s is damaged: %s has a negative size", im->tar_name,
			    path);
	r = new_inode(im, parent, mode, &ino, path);
	if (r)
		return r;
	init_inode(im, &ib, mode, e, path);
	err = ext2fs_inode_size_set(im->fs, (struct ext2_inode *)&ib.l, (ext2_off64_t)size);
	if (err)
		return fail_ext2(im, err, path);
	r = init_extents(im, ino, &ib, path);
	if (!r)
		r = write_inode(im, ino, &ib, path);
	if (!r && size)
		r = copy_data(im, ino, &ib, e, (uint64_t)size, path);
	if (!r && size)
		r = write_inode(im, ino, &ib, path);
	if (!r)
		r = set_xattrs(im, ino, e, path);
	*out = ino;
	return r;
}

static int make_symlink(struct imp *im, uint32_t parent, struct archive_entry *e,
			const char *target, const char *path, ext2_ino_t *out)
{
	__u16 mode = LINUX_S_IFLNK | entry_perm(e);
	size_t len = strlen(target);
	union ibuf ib;
	ext2_ino_t ino;
	int r;

	r = new_inode(im, parent, mode, &ino, path);
	if (r)
		return r;
	init_inode(im, &ib, mode, e, path);
	ib.l.i_size = (__u32)len;
	if (len < sizeof(ib.l.i_block)) {
		/* A fast symlink: the target lives in the inode itself. */
		memcpy(ib.l.i_block, target, len);
		r = write_inode(im, ino, &ib, path);
	} else {
		r = init_extents(im, ino, &ib, path);
		if (!r)
			r = write_inode(im, ino, &ib, path);
		if (!r) {
			im->nruns = 0;
			im->win_start = 0;
			im->win_len = len;
			memcpy(im->win, target, len);
			r = win_flush(im, ino, &ib, path);
		}
		if (!r)
			r = write_inode(im, ino, &ib, path);
	}
	if (!r)
		r = set_xattrs(im, ino, e, path);
	*out = ino;
	return r;
}

static int make_special(struct imp *im, uint32_t parent, struct archive_entry *e, __u16 type,
			const char *path, ext2_ino_t *out)
{
	__u16 mode = type | entry_perm(e);
	union ibuf ib;
	ext2_ino_t ino;
	int r;

	r = new_inode(im, parent, mode, &ino, path);
	if (r)
		return r;
	init_inode(im, &ib, mode, e, path);
	if (type == LINUX_S_IFCHR || type == LINUX_S_IFBLK)
		img_rdev_encode((struct ext2_inode *)&ib.l,
				(unsigned int)archive_entry_rdevmajor(e),
				(unsigned int)archive_entry_rdevminor(e));
	r = write_inode(im, ino, &ib, path);
	if (!r)
		r = set_xattrs(im, ino, e, path);
	*out = ino;
	return r;
}

/* Puts (ino, ftype) under the name, replacing the non-directory that had it. */
static int place(struct imp *im, uint32_t dir, const struct comp *name, uint32_t old,
		 ext2_ino_t ino, uint8_t ftype, uint32_t link, const char *path)
{
	uint32_t idx;
	int r;

	if (old != NONE) {
		r = release(im, im->nodes[old].ino, path);
		if (r)
			return r;
		im->nodes[old].ino = ino;
		im->nodes[old].ftype = ftype;
		im->nodes[old].link = link;
		im->nodes[old].flags = ftype == EXT2_FT_DIR ? NODE_DIRTY : 0;
		im->nodes[dir].flags |= NODE_DIRTY;
		return 0;
	}
	r = node_add(im, dir, name->s, name->len, ino, ftype, &idx);
	if (!r)
		im->nodes[idx].link = link;
	return r;
}

static int do_hardlink(struct imp *im, struct archive_entry *e, const char *path, const char *ename,
		       const char *target, uint32_t dir, const struct comp *name, uint32_t old)
{
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	char via[PATH_MAX];
	uint32_t tdir, t;
	union ibuf ib;
	ext2_ino_t ino;
	size_t at = 0;
	int r;

	r = split_path(&im->sp2, target);
	if (r == -ENOMEM)
		return fail(im, r, "out of memory");
	if (r == -EXDEV)
		return fail(im, -EXDEV, TAR_MSG_LINK_DOTDOT, ename, target);
	if (r == -ENAMETOOLONG)
		return skip(im,
			    "%s: skipped, a name in its hard link target is longer than 255 bytes",
			    path);
	if (im->sp2.n == 0)
		return fail(im, -ENOENT, TAR_MSG_LINK_MISSING, ename, target);
	r = walk(im, im->sp2.c, im->sp2.n - 1, false, false, path, &tdir, &at);
	if (im->fatal)
		return r;
	if (r == -ELOOP)
		return fail(im, r, TAR_MSG_LINK_THROUGH, ename, target,
			    comp_join(im->sp2.c, at + 1, via, sizeof(via)));
	t = r ? NONE
	      : node_find(im, tdir, im->sp2.c[im->sp2.n - 1].s, im->sp2.c[im->sp2.n - 1].len);
	if (t == NONE)
		return fail(im, -ENOENT, TAR_MSG_LINK_MISSING, ename, target);
	if (im->nodes[t].ftype == EXT2_FT_DIR)
		return skip(im, "%s: skipped, it is a hard link to the directory %s", path, target);
	ino = im->nodes[t].ino;
	if (old != NONE && im->nodes[old].ino == ino)
		return 0; /* already a name of that file */
	r = read_inode(im, ino, &ib, path);
	if (r)
		return r;
	if (ib.l.i_links_count >= EXT2_LINK_MAX)
		return skip(im, "%s: skipped, %s has too many hard links", path, target);
	ib.l.i_links_count++;
	r = write_inode(im, ino, &ib, path);
	if (!r)
		r = place(im, dir, name, old, ino, im->nodes[t].ftype, im->nodes[t].link, path);
	if (r)
		return r;
	/*
	 * A hard link may carry the file's data (cpio, pax): the first name was
	 * empty, the data comes with a later one.
	 */
	if (size > 0 && LINUX_S_ISREG(ib.l.i_mode) && EXT2_I_SIZE(&ib.l) == 0 &&
	    !ext2fs_inode_data_blocks2(im->fs, (struct ext2_inode *)&ib.l)) {
		r = read_inode(im, ino, &ib, path);
		if (r)
			return r;
		ext2fs_inode_size_set(im->fs, (struct ext2_inode *)&ib.l, (ext2_off64_t)size);
		r = write_inode(im, ino, &ib, path);
		if (!r)
			r = copy_data(im, ino, &ib, e, (uint64_t)size, path);
		if (!r)
			r = write_inode(im, ino, &ib, path);
	}
	return r;
}

static int do_entry(struct imp *im, struct archive_entry *e)
{
	const char *path = entry_path(e);
	const char *hl = entry_hardlink(e);
	__u16 type = (__u16)archive_entry_filetype(e);
	const struct comp *name;
	uint32_t dir, old, link = NONE;
	char ename[PATH_MAX], via[PATH_MAX];
	ext2_ino_t ino;
	size_t at = 0;
	int r;

	if (!path)
		return skip(im, "an entry without a usable name was skipped");
	r = split_path(&im->sp, path);
	if (r == -ENOMEM)
		return fail(im, r, "out of memory");
	if (r == -EXDEV)
		return fail(im, r, TAR_MSG_DOTDOT, path);
	if (r == -ENAMETOOLONG)
		return skip(im, "%s: skipped, a name in it is longer than 255 bytes", path);
	if (im->sp.n == 0) {
		if (hl || type != AE_IFDIR)
			return skip(im, "%s: skipped, the image root can only be a directory",
				    path);
		return update_meta(im, EXT2_ROOT_INO, e, path);
	}
	comp_join(im->sp.c, im->sp.n, ename, sizeof(ename));
	r = walk(im, im->sp.c, im->sp.n - 1, true, false, path, &dir, &at);
	if (im->fatal)
		return r;
	if (r == -ELOOP)
		return fail(im, r, TAR_MSG_THROUGH, ename,
			    comp_join(im->sp.c, at + 1, via, sizeof(via)));
	if (r)
		return fail(im, r, TAR_MSG_NOT_DIR, ename,
			    comp_join(im->sp.c, at + 1, via, sizeof(via)));
	name = &im->sp.c[im->sp.n - 1];
	old = node_find(im, dir, name->s, name->len);
	if (old != NONE && im->nodes[old].ftype == EXT2_FT_DIR) {
		if (!hl && type == AE_IFDIR)
			return update_meta(im, im->nodes[old].ino, e, path);
		return skip(im, "%s: skipped, a directory of that name is already there", path);
	}
	if (hl)
		return do_hardlink(im, e, path, ename, hl, dir, name, old);

	switch (type) {
	case AE_IFDIR:
		r = make_dir(im, dir, e, path, &ino);
		break;
	case AE_IFREG:
		r = make_file(im, dir, e, path, &ino);
		break;
	case AE_IFLNK: {
		const char *target = entry_symlink(e);

		if (!target || !*target)
			return skip(im, "%s: skipped, a symbolic link without a target", path);
		if (strlen(target) >= im->bs)
			return skip(im,
				    "%s: skipped, its symbolic link target is longer than %u bytes",
				    path, im->bs - 1);
		r = arena_add(im, target, strlen(target), &link);
		if (!r)
			r = make_symlink(im, dir, e, target, path, &ino);
		break;
	}
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
	case AE_IFSOCK:
		r = make_special(im, dir, e, type, path, &ino);
		break;
	default:
		return skip(im, "%s: skipped, unknown entry type 0%o", path, type);
	}
	if (r)
		return r;
	return place(im, dir, name, old, ino, ftype_of(type), link, path);
}

/* ---- directories, written once at the end -------------------------------- */

struct dirw {
	size_t nblk, off, last;
	unsigned int usable;
};

static int dir_block(struct imp *im, struct dirw *w)
{
	size_t need = (w->nblk + 1) * im->bs;

	if (need > im->dirbuf_cap) {
		size_t cap = im->dirbuf_cap ? im->dirbuf_cap * 2 : 16 * im->bs;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(im->dirbuf, cap);
		if (!p)
			return fail(im, -ENOMEM, "out of memory");
		im->dirbuf = p;
		im->dirbuf_cap = cap;
	}
	memset(im->dirbuf + w->nblk * im->bs, 0, im->bs);
	w->nblk++;
	w->off = 0;
	return 0;
}

/* Ends the current block: its last entry takes the rest, the checksum tail goes after. */
static void dir_close(struct imp *im, struct dirw *w)
{
	uint8_t *blk = im->dirbuf + (w->nblk - 1) * im->bs;
	struct ext2_dir_entry *de;

	if (w->off == 0) /* an empty block: one unused entry spans it */
		w->last = 0;
	de = (struct ext2_dir_entry *)(blk + w->last);
	ext2fs_set_rec_len(im->fs, w->usable - (unsigned int)w->last, de);
	if (w->usable < im->bs)
		ext2fs_initialize_dirent_tail(im->fs,
					      (struct ext2_dir_entry_tail *)(blk + w->usable));
}

static int dir_put(struct imp *im, struct dirw *w, const char *s, size_t len, ext2_ino_t ino,
		   uint8_t ftype)
{
	unsigned int rl = EXT2_DIR_REC_LEN(len);
	struct ext2_dir_entry *de;
	int r;

	if (!w->nblk || w->off + rl > w->usable) {
		if (w->nblk)
			dir_close(im, w);
		r = dir_block(im, w);
		if (r)
			return r;
	}
	de = (struct ext2_dir_entry *)(im->dirbuf + (w->nblk - 1) * im->bs + w->off);
	de->inode = ino;
	ext2fs_set_rec_len(im->fs, rl, de);
	ext2fs_dirent_set_name_len(de, (int)len);
	ext2fs_dirent_set_file_type(de, ext2fs_has_feature_filetype(im->fs->super) ? ftype : 0);
	memcpy(de->name, s, len);
	w->last = w->off;
	w->off += rl;
	return 0;
}

static int write_dir(struct imp *im, uint32_t n)
{
	const struct node *d = &im->nodes[n];
	const char *path = n == ROOT_NODE ? "/" : node_name(im, n);
	struct dirw w = {0};
	blk64_t total, i, next;
	unsigned int subdirs = 0;
	union ibuf ib;
	errcode_t err;
	uint32_t c;
	int r;

	w.usable = im->bs;
	if (ext2fs_has_feature_metadata_csum(im->fs->super))
		w.usable -= sizeof(struct ext2_dir_entry_tail);
	r = dir_put(im, &w, ".", 1, d->ino, EXT2_FT_DIR);
	if (!r)
		r = dir_put(im, &w, "..", 2, im->nodes[d->parent].ino, EXT2_FT_DIR);
	for (c = d->first_child; !r && c != NONE; c = im->nodes[c].next) {
		r = dir_put(im, &w, node_name(im, c), im->nodes[c].name_len, im->nodes[c].ino,
			    im->nodes[c].ftype);
		subdirs += im->nodes[c].ftype == EXT2_FT_DIR;
	}
	if (r)
		return r;
	dir_close(im, &w);

	r = read_inode(im, d->ino, &ib, path);
	if (r)
		return r;
	if (!(ib.l.i_flags & EXT4_EXTENTS_FL))
		return fail(im, -EINVAL, "the new file system's directory %s has no extents", path);
	/* Never shrink: lost+found keeps the blocks mke2fs gave it for e2fsck. */
	total = EXT2_I_SIZE(&ib.l) / im->bs;
	while (w.nblk < total) {
		r = dir_block(im, &w);
		if (r)
			return r;
		dir_close(im, &w);
	}
	total = w.nblk;
	err = ext2fs_inode_size_set(im->fs, (struct ext2_inode *)&ib.l, total * im->bs);
	if (err)
		return fail_ext2(im, err, path);
	r = allocate(im, d->ino, &ib, 0, total, path);
	if (!r)
		r = load_runs(im, d->ino, &ib, path);
	if (r)
		return r;
	for (i = 0; i < total; i++) {
		size_t ri = find_run(im, i, &next);

		if (ri == NONE)
			return fail(im, -EIO, "directory %s was not allocated", path);
		err = ext2fs_write_dir_block4(im->fs, im->runs[ri].pblk + (i - im->runs[ri].lblk),
					      im->dirbuf + i * im->bs, 0, d->ino);
		if (err)
			return fail_ext2(im, err, path);
	}
	/* dir_nlink: past the limit a directory's count is 1, meaning "many". */
	ib.l.i_links_count = subdirs + 2 <= EXT2_LINK_MAX ? (__u16)(subdirs + 2) : 1;
	return write_inode(im, d->ino, &ib, path);
}

static int write_dirs(struct imp *im)
{
	uint32_t n;
	int r;

	for (n = 0; n < im->nnodes; n++) {
		if (im->nodes[n].ftype != EXT2_FT_DIR || !(im->nodes[n].flags & NODE_DIRTY))
			continue;
		r = write_dir(im, n);
		if (r)
			return r;
	}
	return 0;
}

/* ---- set-up -------------------------------------------------------------- */

static int mke2fs(struct imp *im, const char *path)
{
	static const char *const cands[] = {"/usr/sbin/mke2fs", "/sbin/mke2fs"};
	const char *prog = "mke2fs";
	const char *argv[] = {
	    "mke2fs",
	    "-t",
	    "ext4",
	    "-q",
	    "-F",
	    "-b",
	    "4096",
	    "-I",
	    "256",
	    "-E",
	    "lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0",
	    "-O",
	    "^metadata_csum_seed",
	    path,
	    NULL,
	};
	posix_spawn_file_actions_t fa;
	char out[MKE2FS_OUT];
	size_t len = 0, i;
	int p[2], status, r;
	pid_t pid;
	ssize_t n;

	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (access(cands[i], X_OK) == 0) {
			prog = cands[i];
			break;
		}
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail(im, -errno, "cannot run mke2fs: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	r = posix_spawnp(&pid, prog, &fa, NULL, exec_vec(argv), environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		close(p[0]);
		return fail(im, -r, "cannot run mke2fs (from e2fsprogs): %s", strerror(r));
	}
	while ((n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && (len += (size_t)n) == sizeof(out) - 1)
			break;
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	out[len] = 0;
	while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = 0;
	for (i = 0; i < len; i++)
		if (out[i] == '\n')
			out[i] = ' ';
	return fail(im, -EIO, "mke2fs could not make the file system: %s",
		    len ? out : "it failed without a message");
}

static int load_root(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		     int blocksize, char *buf, void *priv)
{
	struct imp *im = priv;
	int len = ext2fs_dirent_name_len(de);

	(void)dir;
	(void)entry;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (img_dirent_is_dot(de))
		return 0;
	if (node_add(im, ROOT_NODE, de->name, (size_t)len, de->inode,
		     (uint8_t)ext2fs_dirent_file_type(de), NULL))
		return DIRENT_ABORT;
	return 0;
}

static int open_fs(struct imp *im, const char *path)
{
	errcode_t err;

	err = ext2fs_open2(path, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager,
			   &im->fs);
	if (err) {
		im->fs = NULL;
		return fail(im, img_ext2_errno(err), "cannot open the new file system: %s",
			    img_ext2_msg(err));
	}
	err = ext2fs_read_bitmaps(im->fs);
	if (err)
		return fail(im, img_ext2_errno(err), "cannot read the new file system: %s",
			    img_ext2_msg(err));
	im->bs = im->fs->blocksize;
	im->inode_size = EXT2_INODE_SIZE(im->fs->super);
	if (im->inode_size > INODE_BUF || im->inode_size < sizeof(struct ext2_inode_large) ||
	    !ext2fs_has_feature_extents(im->fs->super))
		return fail(im, -EINVAL, "mke2fs made an unexpected file system (inode size %u)",
			    im->inode_size);
	im->win = malloc(WIN_BYTES + im->bs);
	if (!im->win)
		return fail(im, -ENOMEM, "out of memory");
	/* The tree starts with what mke2fs made: the root and lost+found. */
	im->nnodes = 0;
	if (hash_grow(im) < 0 || !(im->nodes = malloc(4096 * sizeof(*im->nodes))))
		return fail(im, -ENOMEM, "out of memory");
	im->nodes_cap = 4096;
	im->nodes[0] = (struct node){.ino = EXT2_ROOT_INO,
				     .parent = ROOT_NODE,
				     .first_child = NONE,
				     .last_child = NONE,
				     .next = NONE,
				     .link = NONE,
				     .ftype = EXT2_FT_DIR};
	im->nnodes = 1;
	err = ext2fs_dir_iterate2(im->fs, EXT2_ROOT_INO, 0, NULL, load_root, im);
	if (im->fatal)
		return -ENOMEM;
	if (err)
		return fail_ext2(im, err, "/");
	im->nodes[0].flags = 0;
	return 0;
}

/* ---- ACLs that name users and groups --------------------------------------- */

struct idmap {
	char *text; /* the file, its lines cut into names */
	size_t n;
	struct {
		const char *name;
		uint32_t id;
	} * v;
};

/* "name:x:id:..." lines of the image's etc/passwd or etc/group; empty when absent. */
static int idmap_load(struct imp *im, const char *path, struct idmap *m)
{
	union ibuf ib;
	ext2_file_t f;
	unsigned int got = 0;
	uint32_t dir, n;
	char *line, *save = NULL;
	int budget = MAX_SYMLINKS, r;
	uint64_t size;
	size_t at;

	if (split_path(&im->sp2, path) || !im->sp2.n ||
	    walk(im, im->sp2.c, im->sp2.n - 1, false, true, path, &dir, &at))
		return im->fatal ? -EIO : 0;
	n = node_find(im, dir, im->sp2.c[im->sp2.n - 1].s, im->sp2.c[im->sp2.n - 1].len);
	if (n != NONE && im->nodes[n].ftype == EXT2_FT_SYMLINK && follow(im, n, &budget, &n))
		n = NONE;
	if (n == NONE || im->nodes[n].ftype != EXT2_FT_REG_FILE)
		return 0;
	r = read_inode(im, im->nodes[n].ino, &ib, path);
	if (r)
		return r;
	size = EXT2_I_SIZE(&ib.l);
	if (size > (16u << 20))
		return 0;
	m->text = malloc(size + 1);
	if (!m->text)
		return fail(im, -ENOMEM, "out of memory");
	if (ext2fs_file_open(im->fs, im->nodes[n].ino, 0, &f))
		return 0;
	if (size && ext2fs_file_read(f, m->text, (unsigned int)size, &got))
		got = 0;
	ext2fs_file_close(f);
	m->text[got] = 0;
	for (line = strtok_r(m->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		void *p;

		if (!c2 || !all_digits_until(c2 + 1, ':'))
			continue;
		p = realloc(m->v, (m->n + 1) * sizeof(*m->v));
		if (!p)
			return fail(im, -ENOMEM, "out of memory");
		m->v = p;
		*c1 = 0;
		m->v[m->n].name = line;
		m->v[m->n].id = (uint32_t)strtoul(c2 + 1, NULL, 10);
		m->n++;
	}
	return 0;
}

static void idmap_free(struct idmap *m)
{
	free(m->text);
	free(m->v);
}

/* The distribution's id for a name; failing that the host's, as tar -x would use. */
static bool resolve_name(const struct idmap *m, bool group, const char *name, uint32_t *id)
{
	char buf[16384];
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].name, name)) {
			*id = m->v[i].id;
			return true;
		}
	if (group) {
		struct group gr, *g = NULL;

		if (!getgrnam_r(name, &gr, buf, sizeof(buf), &g) && g) {
			*id = g->gr_gid;
			return true;
		}
	} else {
		struct passwd pw, *u = NULL;

		if (!getpwnam_r(name, &pw, buf, sizeof(buf), &u) && u) {
			*id = u->pw_uid;
			return true;
		}
	}
	return false;
}

static int resolve_acls(struct imp *im)
{
	struct idmap users = {0}, groups = {0};
	size_t i;
	int r, k;

	if (!im->npend)
		return 0;
	r = idmap_load(im, "etc/passwd", &users);
	if (!r)
		r = idmap_load(im, "etc/group", &groups);
	for (i = 0; !r && i < im->npend; i++) {
		struct pending_acl *p = &im->pend[i];
		struct ext2_xattr_handle *h = NULL;
		errcode_t err;

		if (!p->ino)
			continue;
		for (k = 0; !r && k < p->acl.n; k++) {
			bool group = p->acl.e[k].tag == ACL_GROUP;

			if (!p->acl.name[k])
				continue;
			if (resolve_name(group ? &groups : &users, group, p->acl.name[k],
					 &p->acl.e[k].id)) {
				free(p->acl.name[k]);
				p->acl.name[k] = NULL;
			} else {
				r = warn(
				    im,
				    "%s: ACL entry for %s %s left out, the image has no such %s",
				    p->path, group ? "group" : "user", p->acl.name[k],
				    group ? "group" : "user");
			}
		}
		if (r)
			break;
		err = ext2fs_xattrs_open(im->fs, p->ino, &h);
		if (!err)
			err = ext2fs_xattrs_read(h);
		if (err) {
			r = fail_ext2(im, err, p->path);
		} else {
			r = acl_put(im, h, &p->acl, p->path);
		}
		if (h) {
			err = ext2fs_xattrs_close(&h);
			if (err && !r)
				r = fail_ext2(im, err, p->path);
		}
	}
	idmap_free(&users);
	idmap_free(&groups);
	return r;
}

static int convert(struct imp *im, int in_fd, const char *tmp)
{
	struct archive_entry *e;
	errcode_t err;
	int r;

	r = mke2fs(im, tmp);
	if (!r)
		r = open_fs(im, tmp);
	if (r)
		return r;
	if (archive_read_open_fd(im->a, in_fd, READ_BLOCK) != ARCHIVE_OK)
		return fail_archive(im);
	for (;;) {
		r = archive_read_next_header(im->a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return fail_archive(im);
		r = do_entry(im, e);
		if (r)
			return r;
		im->prog.entries++;
		r = report(im, NULL);
		if (r)
			return r;
	}
	if (im->prog.entries == 0)
		return fail(im, -EINVAL, TAR_MSG_EMPTY);
	r = resolve_acls(im);
	if (!r)
		r = write_dirs(im);
	if (r)
		return r;
	err = ext2fs_close_free(&im->fs);
	if (err)
		return fail_ext2(im, err, "the file system's summary");
	return 0;
}

int image_from_tar(const char *tar_path, int tar_fd, const char *image_path, uint64_t fs_bytes,
		   image_progress_fn cb, void *cb_arg, char *err, size_t errlen)
{
	struct imp *im;
	struct outfile of = {.fd = -1};
	struct stat st;
	bool own_fd = false;
	int fd = -1, r;

	if (err && errlen)
		err[0] = 0;
	if (!tar_path || !image_path)
		return img_err(err, errlen, -EINVAL, "no tarball or image given");
	if (!fs_bytes)
		fs_bytes = IMAGE_DEFAULT_BYTES;
	fs_bytes &= ~4095ULL;
	if (fs_bytes < IMAGE_MIN_BYTES)
		return img_err(err, errlen, -EINVAL, "an image must be at least %llu MiB",
			       IMAGE_MIN_BYTES >> 20);
	im = calloc(1, sizeof(*im));
	if (!im)
		return img_err(err, errlen, -ENOMEM, "out of memory");
	im->err = err;
	im->errlen = errlen;
	im->cb = cb;
	im->cb_arg = cb_arg;
	clock_gettime(CLOCK_REALTIME, &im->now);

	if (!strcmp(tar_path, "-")) {
		im->tar_name = "the tarball on standard input";
		fd = tar_fd;
	} else {
		im->tar_name = tar_path;
		fd = open(tar_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = fail(im, -errno, "cannot open %s: %s", tar_path, strerror(errno));
			goto out;
		}
		own_fd = true;
	}
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			r = fail(im, -EISDIR, "%s is a directory, not a tarball", im->tar_name);
			goto out;
		}
		if (S_ISREG(st.st_mode))
			im->prog.in_total = (uint64_t)st.st_size;
	}
	im->a = archive_read_new();
	if (!im->a) {
		r = fail(im, -ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_filter_all(im->a);
	archive_read_support_format_tar(im->a);
	archive_read_support_format_cpio(im->a);
	/* an empty input is an archive with no entries, refused below as such */
	archive_read_support_format_empty(im->a);

	r = outfile_create(&of, image_path, err, errlen);
	if (r) {
		im->fatal = true;
		goto out;
	}
	if (ftruncate(of.fd, (off_t)fs_bytes) < 0) {
		r = fail(im, -errno, "cannot make %s %llu bytes long: %s", image_path,
			 (unsigned long long)fs_bytes, strerror(errno));
		goto out;
	}
	r = convert(im, fd, of.tmp);
	if (r)
		goto out;
	r = outfile_commit(&of, err, errlen);
	if (r)
		goto out;
	im->prog.done = 1;
	report(im, NULL);
out:
	if (r && of.tmp)
		outfile_abort(&of);
	if (im->fs)
		ext2fs_free(im->fs);
	if (im->a)
		archive_read_free(im->a);
	if (own_fd)
		close(fd);
	free(im->nodes);
	free(im->arena);
	free(im->hash);
	free(im->sp.c);
	free(im->sp2.c);
	free(im->win);
	free(im->runs);
	free(im->dirbuf);
	for (size_t i = 0; i < im->npend; i++) {
		acl_free(&im->pend[i].acl);
		free(im->pend[i].path);
	}
	free(im->pend);
	free(im);
	return r;
}
