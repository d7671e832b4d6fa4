/*
 * hostfs.h - a host folder shared with a guest, reached only in ways that
 * keep the guest inside it. The one place that turns what a guest names
 * into host descriptors, for every file server lxs has (9P in src/p9, FUSE
 * for virtio-fs in src/fusesrv).
 *
 * Safety contract: everything is reached from the share's root descriptor
 * one name at a time, with O_PATH|O_NOFOLLOW (openat2 with RESOLVE_BENEATH|
 * RESOLVE_NO_MAGICLINKS when the kernel has it). A name a guest sends must
 * pass hfs_name_ok() before it reaches any call here: no '/', no NUL, not
 * "", "." or "..". ".." is hfs_parent()'s alone: at the share root it stays
 * at the root, elsewhere it is checked to lead to a directory still beneath
 * the root. Symlinks are never followed (the guest resolves them). Files
 * are reopened for I/O through /proc/self/fd/N of their own O_PATH
 * descriptor, which can only name that inode; device nodes are never opened.
 * The per-process part of a procfs is not served (host.c, proc_guard).
 *
 * Ownership follows WSL's DrvFs `[automount] options`, the host's own, or a
 * version-1 distro folder's VolFs metadata: struct hfs_opts, enum
 * hfs_owners.
 *
 * Descriptors: an hfs_obj is one O_PATH (or, after an open, open) host
 * descriptor, reference counted and immutable. What a client holds is
 * counted against its own struct hfs_budget and against one budget for
 * the whole process (hfs_set_fd_budget), because what runs out is the
 * process's RLIMIT_NOFILE, shared by every share and device of a VM.
 *
 * Thread-safe: an hfs and its objs may be used from any number of threads.
 * Functions return 0 (or a count) or -errno.
 */
#ifndef LXS_HOSTFS_HOSTFS_H
#define LXS_HOSTFS_HOSTFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * WSL DrvFs mount options, e.g. "metadata,uid=1000,gid=1000,umask=022".
 *
 * Without `metadata`, every file is reported as owned by uid:gid, with the
 * host's permission bits minus umask and minus fmask (files) or dmask
 * (directories); chmod and chown succeed and change nothing, as on DrvFs.
 * (DrvFs starts from 0777 because NTFS has no mode; a Linux host has real
 * bits, and masking them keeps executables executable and nothing else.)
 *
 * With `metadata`, owner, mode and device numbers live in user.* extended
 * attributes of the host file, little-endian binary like WSL's $LX* EAs:
 *   user.lxs.uid  4 bytes    user.lxs.gid  4 bytes
 *   user.lxs.mode 4 bytes (st_mode with file type)
 *   user.lxs.rdev 8 bytes: major[4] minor[4]
 * A file without them is reported as without `metadata`. chmod/chown write
 * them (the host file's own mode and owner are left alone); files created by
 * the guest get them; mknod of a character or block device creates an empty
 * regular host file carrying the device's type and numbers. Only regular
 * files and directories can hold user.* attributes on Linux: symlinks,
 * FIFOs and sockets are real host objects reported with the defaults, and
 * chmod/chown on them succeed without effect. The guest never sees or sets
 * user.lxs.* through its own xattr calls.
 *
 * Options change only how files look and what chmod/chown keep, never what
 * can be reached.
 */
/*
 * Whose owners and modes the guest sees (hfs_opts.owners):
 *  HFS_OWNERS_DRVFS  the DrvFs rules above (uid/gid/umask, `metadata`);
 *  HFS_OWNERS_REAL   the host's own owner, mode and device numbers, with
 *                    chmod/chown/mknod done for real (a server running as
 *                    root on a Linux file system: lxs-init's distro export);
 *                    what is created is chowned to the uid and gid the
 *                    request names; xattrs are the host's, all;
 *  HFS_OWNERS_VOLFS  a version-1 distro folder: owner, mode and device
 *                    numbers from VolFs's user.lxs.stat (common/volfs.h), as
 *                    lxs-pico shows them, and written the same way
 *                    (user.* xattrs as they are, the other namespaces'
 *                    under user.lxs.x., the rest of user.lxs.* hidden;
 *                    a device is a placeholder file holding its type, a
 *                    FIFO or socket a real one, owned by 0:0, as lxs-pico
 *                    makes them at run time).
 * The DrvFs keys (uid, gid, masks, metadata) apply to HFS_OWNERS_DRVFS only.
 */
enum hfs_owners { HFS_OWNERS_DRVFS = 0, HFS_OWNERS_REAL, HFS_OWNERS_VOLFS };

struct hfs_opts {
	uint32_t uid, gid;
	uint32_t umask, fmask, dmask; /* permission bits to clear (07777) */
	bool metadata;
	enum hfs_owners owners;
};

/* uid=gid=1000, umask=022, fmask=dmask=0, no metadata (WSL's defaults). */
void hfs_opts_default(struct hfs_opts *o);

/*
 * Parse a DrvFs option string over *o (keys: metadata, uid=N, gid=N,
 * umask=OCTAL, fmask=OCTAL, dmask=OCTAL; case=... is accepted and ignored;
 * ',' or ':' between options). 0 or -EINVAL (o may then be partly updated).
 */
int hfs_opts_parse(struct hfs_opts *o, const char *s);

/* A client's share of the descriptor budget (zero-initialise; max 0 = none allowed). */
struct hfs_budget {
	atomic_uint used;
	unsigned max;
};

/* One host inode, held by an O_PATH (or, after an open or create, open) descriptor. */
struct hfs_obj {
	atomic_int refs;
	int fd;
	dev_t dev;
	ino_t ino;
	mode_t type;                /* S_IFMT bits; an inode's type never changes */
	bool on_proc;               /* on a proc file system (host.c, proc_guard) */
	struct hfs_budget *charged; /* whose budget it counts in, or NULL */
};

#define HFS_DEVMAP 256 /* distinct devices given their own inode-number prefix */

/* One shared folder. Read-only after hfs_new() but for the lazily learnt fields. */
struct hostfs {
	struct hfs_obj *root;
	int proc_fd;      /* /proc/self/fd, or -1 */
	bool root_is_top; /* the root's ".." is itself: nothing to escape to */
	bool has_openat2;
	atomic_int has_xattrat; /* 1 yes, 0 no, -1 not known yet */
	pthread_mutex_t dev_lock;
	dev_t devs[HFS_DEVMAP];
	unsigned ndevs;
};

/*
 * A share of the directory `root_fd` (any descriptor of a directory; it is
 * reopened O_PATH and the caller keeps its own). Opens /proc/self/fd for
 * reopening files; without /proc, files can still be walked and stat'ed but
 * only directories can be opened. A share rooted on a procfs must be its
 * top. Also sets the process budget's default (hfs_set_fd_budget).
 */
int hfs_new(int root_fd, struct hostfs **out);
/* Same, for a host path chosen by the host (never by the guest). */
int hfs_open(const char *root_path, struct hostfs **out);
void hfs_free(struct hostfs *h);

/* --- objs --- */
/* A new obj for fd (taken) and its statx; NULL (fd closed) without memory. */
struct hfs_obj *hfs_obj_new(int fd, const struct statx *st);
struct hfs_obj *hfs_obj_get(struct hfs_obj *o);
/* The last reference closes the descriptor and gives back what it counted. */
void hfs_obj_put(struct hfs_obj *o);
/* statx of o itself (AT_EMPTY_PATH, no follow; basic stats and btime). */
int hfs_stat(struct hfs_obj *o, struct statx *st);
/* Is o the share's root? */
bool hfs_is_root(const struct hostfs *h, const struct hfs_obj *o);

/*
 * Host descriptors held for the guest, counted for the whole process. The
 * budget is max (0: RLIMIT_NOFILE's soft limit, read at each hfs_new(),
 * minus an eighth of it, at least 256 and at most 8192, kept for everything
 * else the process opens).
 */
void hfs_set_fd_budget(unsigned max);
/*
 * Count o against b and the process budget, once, unless it is the share's
 * root or already counted. 0, -EMFILE (b is full) or -ENFILE (the process).
 * The caller serialises charges of one obj (objs shared between clients
 * are counted in the first one's budget).
 */
int hfs_charge(struct hostfs *h, struct hfs_budget *b, struct hfs_obj *o);
/* Give back what o counts before its last reference goes (undoing a charge). */
void hfs_uncharge(struct hfs_obj *o);

/* --- names and walking --- */
/* A guest's name of one entry: len bytes, not "", ".", "..", no '/' or NUL, at most NAME_MAX. */
int hfs_name_ok(const char *name, size_t len);
/* One step of a walk from dir (a name that passed hfs_name_ok). */
int hfs_lookup(struct hostfs *h, struct hfs_obj *dir, const char *name, struct hfs_obj **out,
	       struct statx *st);
/* ".." of dir, clamped to the share root and never leading out of it. */
int hfs_parent(struct hostfs *h, struct hfs_obj *dir, struct hfs_obj **out, struct statx *st);
/*
 * Open o for I/O with host open flags (O_CLOEXEC added; O_CREAT, O_EXCL
 * and O_NOFOLLOW refused). o must be a regular file or a directory. dir/
 * name (may be NULL) are the fallback when /proc is not available.
 * Returns a descriptor or -errno.
 */
int hfs_reopen(struct hostfs *h, struct hfs_obj *o, struct hfs_obj *dir, const char *name,
	       int flags);
/* Find o's current name in its parent (directories only). */
int hfs_find_name(struct hostfs *h, struct hfs_obj *o, struct hfs_obj **dir, char **name);
/* Does dir/name still name o? 0, or -ESTALE. */
int hfs_check_name(struct hfs_obj *dir, const char *name, struct hfs_obj *o);
/*
 * The inode number a guest sees for (dev, ino): ino with the device's index
 * in the top bits, so that files of two host file systems never share one.
 */
uint64_t hfs_ino(struct hostfs *h, dev_t dev, uint64_t ino);

/* --- xattrs, chmod, chown of an inode itself (never a symlink's target) --- */
ssize_t hfs_getxattr(struct hostfs *h, struct hfs_obj *o, const char *name, void *buf, size_t size);
ssize_t hfs_listxattr(struct hostfs *h, struct hfs_obj *o, char *buf, size_t size);
int hfs_setxattr(struct hostfs *h, struct hfs_obj *o, const char *name, const void *val,
		 size_t size, int flags);
int hfs_removexattr(struct hostfs *h, struct hfs_obj *o, const char *name);
/* chmod of o itself (a symlink: -EOPNOTSUPP, as Linux). */
int hfs_chmod(struct hostfs *h, struct hfs_obj *o, mode_t mode);
/* chown of o itself, a symlink included; (uint32_t)-1 leaves that id alone. */
int hfs_chown(struct hfs_obj *o, uint32_t uid, uint32_t gid);

/* --- owners and modes under the options (meta.c) --- */
struct hfs_meta {
	uint32_t mode, uid, gid;
	uint32_t rdev_major, rdev_minor;
};
/* What the guest sees for a file with host attributes st. */
void hfs_meta_get(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
		  const struct statx *st, struct hfs_meta *m);
/* chmod/chown under the options; mode/uid/gid < 0 leaves that alone. */
int hfs_meta_set(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
		 const struct statx *st, int64_t mode, int64_t uid, int64_t gid);
/*
 * The host mode (type and permission bits) to create the host object of a
 * new file of Linux mode `mode` with (S_IFREG, S_IFDIR, a device, FIFO or
 * socket): a device may be a plain host file. 0, -EPERM (no device can be
 * kept) or -EINVAL (no such type).
 */
int hfs_meta_host_mode(const struct hfs_opts *opt, uint32_t mode, mode_t *host);
/* Record owner and mode (and rdev) of a file the guest just created. */
int hfs_meta_created(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o, uint32_t mode,
		     uint32_t uid, uint32_t gid, uint32_t major, uint32_t minor);
/* Room for a host xattr name (VolFs's prefix before the kernel's longest). */
#define HFS_XNAME_MAX 300
/*
 * The host name for the guest's xattr name on o, into out: the same, or
 * VolFs's mapping. -ENODATA (get, set false) or -EPERM (set or remove) for
 * names that are the server's own; -EOPNOTSUPP, -ERANGE.
 */
int hfs_meta_xattr_name(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *o,
			const char *name, bool set, char out[HFS_XNAME_MAX]);
/* A host listxattr result buf[0..len) made the guest's, in place; its new length. */
size_t hfs_meta_xattr_list(const struct hfs_opts *opt, char *buf, size_t len);

/* --- making entries (make.c): the host object, its owner and mode, undone on failure --- */
/*
 * Each makes dir/name (a name that passed hfs_name_ok) as the guest's
 * Linux mode says under opt, records owner uid:gid (and device numbers)
 * with hfs_meta_created, removes what it made if that fails, and returns
 * the new entry's obj and statx in *out and *st (either may be NULL).
 */
int hfs_mkdir(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
	      uint32_t mode, uint32_t uid, uint32_t gid, struct hfs_obj **out, struct statx *st);
/* mode's type 0 is a regular file; S_IFDIR is -EINVAL (hfs_mkdir's). */
int hfs_mknod(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
	      uint32_t mode, uint32_t major, uint32_t minor, uint32_t uid, uint32_t gid,
	      struct hfs_obj **out, struct statx *st);
/* target is stored, never resolved; "" is -ENOENT. */
int hfs_symlink(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
		const char *target, uint32_t uid, uint32_t gid, struct hfs_obj **out,
		struct statx *st);
/*
 * Create and open a regular file with host open flags `flags` (access mode
 * and O_APPEND/O_TRUNC/...; O_CREAT, O_EXCL, O_NOFOLLOW added here): made
 * by us, or, unless excl, an existing regular file reopened (never a device
 * or FIFO dropped in under that name; a directory is -EISDIR). *out is an
 * obj holding the open descriptor; *created says whether it is new (its
 * owner recorded). On a later failure the caller removes a created file
 * with hfs_unmake().
 */
int hfs_create(struct hostfs *h, const struct hfs_opts *opt, struct hfs_obj *dir, const char *name,
	       uint32_t mode, int flags, bool excl, uint32_t uid, uint32_t gid,
	       struct hfs_obj **out, struct statx *st, bool *created);
/* Remove what a make just made (a file or an empty directory), for undoing. */
void hfs_unmake(struct hfs_obj *dir, const char *name, bool is_dir);
/* A hard link dir/name to o (not a directory: -EPERM). */
int hfs_link(struct hostfs *h, struct hfs_obj *o, struct hfs_obj *dir, const char *name);

#endif
