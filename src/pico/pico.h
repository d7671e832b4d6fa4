/*
 * pico.h - the freestanding half of lxs-pico: the loader (lxs-pico-loader)
 * and the in-process SIGSYS translator it installs into every guest program.
 *
 * Everything declared here is linked into lxs-pico-loader only, is built
 * without libc, and is safe to call from the SIGSYS handler in any guest
 * thread: no locks, no TLS, no allocation except mmap. Functions return 0 or
 * a count on success and -errno on failure, like the kernel.
 *
 * Guest paths are Linux paths as the distro sees them; host paths are what
 * the host kernel is given. The mapping (see path.c):
 *   /mnt/host/...        -> <share>/...   (only with --host-share)
 *   /usr/lib/lxs/...     -> <tools>/...   (only with --tools; read-only:
 *                           every change is EROFS; owned by 0:0; the
 *                           distro's own /usr/lib/lxs is hidden)
 *   /proc /sys /dev      -> the host's, with /proc/<pid>/{exe,cwd,root,fd}
 *                           answered in guest terms
 *   everything else      -> <root>/...    (VolFs, metadata in xattrs)
 */
#ifndef LXS_PICO_H
#define LXS_PICO_H

#include <stddef.h>
#include <stdint.h>

#define PICO_PATH     4096 /* longest guest path, with NUL (PATH_MAX) */
#define PICO_ROOT_MAX 1024 /* longest root or share path */
#define PICO_HOST     (PICO_PATH + PICO_ROOT_MAX)
#define PICO_NGROUPS  64

/* Where a canonical guest path lives. */
enum pico_region { R_VOL, R_HOST, R_PROC, R_DEV, R_SYS, R_TOOLS };
/* The guest path of the tools folder (--tools), and its length. */
#define PICO_TOOLS_G    "/usr/lib/lxs"
#define PICO_TOOLS_GLEN 12

/* Per-process translator state. It lives in the loader's .bss, so fork
 * copies it, threads share it, and execve passes it on in LXS_PICO_STATE
 * (pico_state_format / pico_state_parse). */
struct pico_state {
	char root[PICO_ROOT_MAX]; /* the guest's "/": the distro's, or a chroot's in it */
	unsigned rootlen;
	char distro[PICO_ROOT_MAX]; /* the distro's root, which names its processes */
	unsigned distrolen;
	char share[PICO_ROOT_MAX]; /* "" = no /mnt/host; "/" is kept as "" + has_share */
	unsigned sharelen;
	int has_share;
	/* The host's tools folder (--tools), seen read-only at PICO_TOOLS_G:
	 * lxs's programs for the distro and its interop socket. "" = none. */
	char tools[PICO_ROOT_MAX];
	unsigned toolslen;
	unsigned long tools_dev; /* its st_dev (0: not known) */
	/* The real cwd is in the tools folder: set at each start (loader.c)
	 * and by chdir and fchdir, so that pico_lexical's fast path need not
	 * ask the kernel at every relative call. */
	int cwd_tools;
	char loader[PICO_ROOT_MAX]; /* host path of lxs-pico-loader */
	char exe[PICO_PATH];        /* guest path of the running program (/proc/self/exe) */
	unsigned ruid, euid, suid, fsuid, rgid, egid, sgid, fsgid;
	unsigned ngroups, groups[PICO_NGROUPS];
	unsigned host_uid, host_gid; /* the real ids, for stat fix-ups */
	unsigned long root_dev;      /* st_dev of the root folder */
	/* The guest's virtual sigactions of the signals the translator keeps
	 * for itself: SIGSYS (its traps), SIGSEGV and SIGBUS (EFAULT for bad
	 * pointers); see trap.c, VSIG_*. */
	unsigned long vsig[3][4];
	int vsig_pid; /* the process vsig belongs to */
	/* Threads that hold SIGSYS (virtually: it is never really blocked),
	 * one slot each while they do, with the one that came meanwhile. */
	struct pico_sys_hold {
		int tid; /* 0: a free slot */
		int pending;
		unsigned char si[128]; /* its siginfo_t */
	} sys_hold[32];
	int sealed;          /* the session's images are mseal()ed (see filter.c) */
	char cwd[PICO_PATH]; /* initial guest cwd, first start only */
	int first;           /* 1: install the filter, then look PROG up in PATH */
	/* The guest's umask. The real one never masks the owner's bits (077
	 * at most): every VolFs file must stay readable and writable by the
	 * user who runs lxs, or its attribute cannot be read or written
	 * (useradd creates /etc/passwd+ under umask 0777). ~0u: not known yet. */
	unsigned umask;
	/* privilege.c: the emulated capability sets (one for the whole
	 * process), and what the faked root set that the host would not take,
	 * kept to be read back (see privilege.c). */
	unsigned long cap_eff, cap_perm, cap_inh;
	unsigned long cap_bdrop; /* dropped from the bounding set */
	int nnp;                 /* the guest's no_new_privs (the host's is always set) */
	int oom_set, oom_adj;    /* oom_score_adj as the guest last set it */
	unsigned long oom_page;  /* a written oom_score_adj memfd, mapped, not yet read */
	int nice_set, nice;
	int sched_set, sched_policy, sched_prio, sched_pid;
	unsigned long sched_dl[3]; /* SCHED_DEADLINE's runtime, deadline, period */
	unsigned rl_set;           /* a bit per resource with a limit of its own */
	unsigned long rl[16][2];
	char *ids_pub; /* LXS_PICO_IDS's value in this process's environment block */
};

extern struct pico_state pico;

/* rt.c: what the compiler expects from a libc, and small string helpers. */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int pico_streq(const char *a, const char *b);
char *pico_utoa(char *p, unsigned long v); /* writes digits, returns the end (no NUL) */
int pico_atou(const char **p, unsigned long *v);
void pico_write_err(const char *a, const char *b, const char *c);
/* The folder holding a host path's last component (PICO_HOST bytes): "."
 * for a relative name alone, "/" for a name in the host's root. */
void pico_parent_dir(const char *host, char *dir);
/* The value of the environment entry that starts with key in the environ
 * file path (another process's: /proc/<pid>/environ), NUL-terminated in
 * out (max bytes, truncated to fit); its length, or -1. */
long pico_proc_env(const char *path, const char *key, char *out, size_t max);
/* Guest memory, fault-safe (rt.c): -EFAULT instead of a crash. */
long pico_ustrlen(const char *s, unsigned long max);
long pico_ucopy(void *dst, const void *src, unsigned long n);
long pico_uwritable(void *p, unsigned long n);
/* fn(arg) run on the stack whose top is top (16-byte aligned). */
long pico_on_stack(long (*fn)(void *), void *arg, void *top);

/* path.c */
#define P_FOLLOW 1 /* follow a symlink in the last component */
#define P_WALK   2 /* no lexical fast path: the region must be right */
/* Resolves guest path `path` (relative to dirfd, or AT_FDCWD) to a host path
 * (PICO_HOST bytes). guest, if not NULL, gets the canonical guest path
 * (PICO_PATH bytes; may be path itself). Returns the region (>= 0) or
 * -errno. Uses about 9 KiB of stack (13 without guest). */
int pico_resolve(int dirfd, const char *path, int flags, char *host, char *guest);
/* The fast path: a guest path with no ".." that lies in VolFs, joined
 * lexically (host, PICO_HOST bytes), or for the faked root a relative path
 * as it is (relative to the real cwd, which stays inside the guest's view).
 * Returns its number of components, or -EAGAIN if it needs pico_resolve.
 * Only valid if the host call refuses symlinks (pico_open_nolinks); on
 * -ELOOP use pico_resolve. */
int pico_lexical(int dirfd, const char *path, char *host);
/* openat2(host, flags, mode, RESOLVE_NO_SYMLINKS). */
long pico_open_nolinks(const char *host, long flags, long mode);
/* Host path -> guest path (PICO_PATH bytes; may be the same buffer);
 * -ENOENT if the guest cannot name it. */
int pico_to_guest(const char *host, char *guest);
/* The guest path of an open fd (PICO_PATH bytes), or -errno. */
int pico_fd_guest(int fd, char *guest);
/* The host path of an open fd (PICO_HOST bytes), its length, or -errno. */
long pico_fd_host(int fd, char *host);
/* -EROFS when fd is open on a file of the tools folder (R_TOOLS, which
 * is read-only), else 0: for the calls that change a file by its fd. */
long pico_fd_readonly(long fd);
/* Region of a host path the kernel gave us (R_VOL if under root). */
int pico_host_region(const char *host);
/* Region of a canonical guest path. */
int pico_guest_region(const char *guest);

/* meta.c: the VolFs metadata attribute (common/volfs.h), read and written. */
struct lxs_meta;
struct stat;
/* The metadata attribute of a host path (or of fd when host is NULL):
 * 0, -ENODATA when there is none, else -errno. */
long pico_meta_get(const char *host, int fd, struct lxs_meta *m);
/* A file whose metadata changes: by path, or by an open fd when the guest
 * gave one (fchown, fchmod: no path walks). fd is -1, or dropped to -1
 * when the kernel refuses xattr calls on it (O_PATH). */
struct pico_target {
	const char *host; /* NULL only with an fd that takes xattr calls */
	long fd;
};
/* Writes m as the attribute of host (or of t), or removes the attribute
 * when the host's permission bits host_perm say it all (common/volfs.h). */
long pico_meta_put(const char *host, const struct lxs_meta *m, unsigned host_perm);
long pico_meta_put_t(const struct pico_target *t, const struct lxs_meta *m, unsigned host_perm);
/* The Linux view of a VolFs file: the attribute, or host mode and 0:0
 * (st gets the host's stat). */
long pico_meta_of_t(struct pico_target *t, struct stat *st, struct lxs_meta *m);
long pico_meta_of(const char *host, struct stat *st, struct lxs_meta *m);
/* A new name in a set-group-id folder takes the folder's group (and a new
 * folder its set-group-id bit): 1 and the group if host's folder is one. */
int pico_setgid_parent(const char *host, unsigned *gid);
/* After creating a host file for the guest (by path, or by descriptor
 * for an O_TMPFILE; name: its path, or one in its folder): record owner
 * and the mode the host could not take. */
void pico_created_t(struct pico_target *t, const char *name, unsigned type, unsigned req_mode);
void pico_created(const char *host, unsigned type, unsigned req_mode);
/* Whether a file the guest creates at host (type S_IFREG or S_IFDIR, the
 * mode it asked for) needs the attribute written after it is made. */
int pico_need_meta_on_create(const char *host, unsigned type, unsigned mode);
/* The guest's umask (pico.umask). */
static inline unsigned pico_cur_umask(void)
{
	return pico.umask & 0777;
}
/* Device numbers: major and minor of a dev_t, and the dev_t of a pair. */
static inline unsigned pico_dev_major(unsigned long d)
{
	return (unsigned)(((d >> 8) & 0xfff) | ((d >> 32) & ~0xfffUL));
}
static inline unsigned pico_dev_minor(unsigned long d)
{
	return (unsigned)((d & 0xff) | ((d >> 12) & ~0xffUL));
}
static inline unsigned long pico_dev_make(unsigned ma, unsigned mi)
{
	return (mi & 0xffUL) | ((ma & 0xfffUL) << 8) | (((unsigned long)mi & ~0xffUL) << 12) |
	       (((unsigned long)ma & ~0xfffUL) << 32);
}

/* perm.c: a guest user's file permissions from VolFs metadata (common/volfs.h). */
int pico_in_groups(unsigned g);                    /* fsgid, egid or a supplementary group */
unsigned pico_perm_bits(const struct lxs_meta *m); /* rwx the fsuid has */
/* 0, or -EACCES when a folder on the way to the host path's last component
 * denies the guest user search. */
long pico_may_search(const char *host);
/* 0, or -EPERM when the name is in a sticky folder and neither it nor the
 * folder is the guest user's. */
long pico_may_unlink(const char *host);
/* For a guest user other than root (the fake root passes): 0, or -EACCES
 * when the mode bits of host (pico_dac_check: want, rwx as 4, 2, 1) or of
 * the folder it is in (pico_dac_parent: write and search) deny it. */
long pico_dac_check(const char *host, unsigned want);
long pico_dac_parent(const char *host);
/* 0, or -EPERM: O_NOATIME is for the file's owner only. */
long pico_noatime_ok(const char *host);

/* privilege.c: prctl's bounding-set and no_new_privs options; whether
 * the guest may install a seccomp filter or a Landlock domain (its
 * no_new_privs or CAP_SYS_ADMIN). */
long pico_prctl(const long *a);
int pico_may_confine(void);

/* ipc.c: shmctl, semctl, msgctl (a: the call's arguments) with owners in
 * guest terms. */
long pico_ipc_ctl(long nr, const long *a);

/* trap.c */
int pico_install_handler(void);
/* The umask at a start: the guest's from the state, or the real one at the
 * first; the real one then made to keep the owner's bits (pico.h). */
void pico_umask_init(void);
/* execve/execveat as the guest sees it: on success does not return. */
long pico_execve(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);
/* The state string LXS_PICO_STATE carries; returns its length or -E2BIG. */
long pico_state_format(char *buf, size_t size);
int pico_state_parse(const char *s);

/* filter.c: traps what needs translation; lets through what comes from
 * the loader's text. sealed: the session's images are mseal()ed, so the
 * kernel refuses what would unmap, remap, reprotect or replace them;
 * else the filter sends the calls that might to pico_guard_call. */
int pico_install_filter(int sealed);
/* The loader's image as mapped, [lo, hi): headers to the end of .bss. */
void pico_image(unsigned long *lo, unsigned long *hi);
/* mmap (fixed), munmap, mprotect, pkey_mprotect, madvise, mremap, shmat
 * (SHM_REMAP) or process_madvise as the guest made it: -EPERM if it would
 * reach the image, else made. PICO_NOT_GUARDED for any other call. */
#define PICO_NOT_GUARDED (-4096L - 3)
long pico_guard_call(long nr, const long *a);
/* seccomp(op, flags, uargs) as the guest made it: a filter of its own is
 * installed rewritten, so that it never applies to the translator's calls
 * and its ERRNO and TRAP results come to the handler as traps whose data
 * (si_errno) says what the guest's filter wanted: */
#define PICO_GUEST_ERRNO  0xf000u /* | errno: fail the call with it */
#define PICO_GUEST_TRAP0  0xe000u /* its TRAP with data 0; other data as is */
#define PICO_GUEST_STRICT 0xe001u /* strict mode's end: SIGKILL */
long pico_guest_seccomp(long op, long flags, const void *uargs);

/* procview.c: a memfd with the guest's view of /proc/<pid>/{maps,smaps,
 * environ} if host (what the guest's path resolved to) is one of them and
 * flags open it for reading; else PICO_NOT_VIEW. */
#define PICO_NOT_VIEW (-4096L - 2)
long pico_proc_view(const char *host, long flags);
/* Whether a path's last component is the name of one of those files (or
 * of oom_score_adj, privilege.c's). */
int pico_proc_view_name(const char *path);

/* privilege.c: capabilities, and the calls whose privileged forms the
 * faked root is answered as root would be. */
#define PICO_IDS_LEN (8 * (8 + 1 + PICO_NGROUPS)) /* LXS_PICO_IDS's value, fixed */
int pico_capable(int cap);
/* The sets a program starts with after execve (from the ids, as Linux
 * gives root's), and after the ids changed (old uids given). */
void pico_caps_exec(void);
void pico_caps_setuid(unsigned old_r, unsigned old_e, unsigned old_s);
void pico_caps_setfsuid(unsigned old_fs);
long pico_capget(void *hdr, void *data);
long pico_capset(void *hdr, const void *data);
/* Writes the ids into LXS_PICO_IDS (for other processes' status views). */
void pico_ids_publish(void);
/* A guest process's ids as it published them: 8 ids, ngroups, groups. */
int pico_ids_of(const char *procdir, size_t n, unsigned *ids, unsigned *groups);
/* Called for the faked root's trapped calls: priorities, scheduling
 * policies, memory locks, resource limits. PICO_NOT_PRIV if nr is none. */
#define PICO_NOT_PRIV (-4096L - 5)
long pico_priv_call(long nr, const long *a);
/* /proc/<self>/oom_score_adj: PICO_NOT_VIEW, or a memfd. */
long pico_oom_open(const char *host, long flags);
/* Reads back a write to such a memfd (before execve). */
void pico_oom_collect(void);
/* State across execve: appends to / parses pico_state_format's lines. */
char *pico_priv_format(char *p, char *end);
int pico_priv_parse(char key, const char *v, const char *e);

/* open.c: open/openat as the guest sees it; and the open of a path already
 * translated (region its region): the guest's permission checks, /proc
 * views, a new file's metadata. resolve: openat2 flags for the host's
 * walk of host, or 0. */
long pico_open(long dirfd, const char *path, long flags, long mode);
long pico_open_host(const char *host, int region, long flags, long mode, unsigned long resolve);

/* open2.c: openat2 and name_to_handle_at, translated. */
long pico_openat2(long dirfd, const char *path, const void *how, unsigned long size);
long pico_name_to_handle_at(long dirfd, const char *path, void *handle, void *mnt, long flags);

/* pidview.c: the distro sees only its own processes (README, "Processes").
 * pico_proc_visible: for a canonical guest path "/proc/<name>" (n bytes),
 * 0 if name is a process that is not the distro's. pico_pid_call: the
 * calls that name processes (kill, tgkill, ptrace attach, sched_*, ...)
 * and getdents on /proc, answered ESRCH (or left out) for other
 * processes; PICO_NOT_PID for any other call. pico_is_proc_root: whether
 * a stat's ino and dev are the folder /proc. */
#define PICO_NOT_PID (-4096L - 4)
/* getdents64 with this count (glibc's readdir buffer for a folder whose
 * st_blksize is at most 32 KiB) passes the filter untrapped; fstat and
 * statx on /proc's own fd give st_blksize PICO_PROC_BLKSIZE, so that
 * glibc lists /proc with a bigger buffer, which traps. */
#define PICO_DIRBUF_FAST  32768
#define PICO_PROC_BLKSIZE 65536
int pico_is_proc_root(unsigned long ino, unsigned long dev);
int pico_proc_visible(const char *g, size_t n);
long pico_pid_call(long nr, const long *a);
/* 1 when the guest user may signal, trace, or change the scheduling of
 * process pid (one of the distro's) as Linux would let it; see pidview.c. */
enum { PICO_MAY_SIGNAL, PICO_MAY_TRACE, PICO_MAY_SCHED };
int pico_pid_may(long pid, int what);

/* exec.c */
struct stat;
/* Parses "#!interp [arg]" in buf (n bytes) in place; returns 0 or -ENOEXEC. */
int pico_parse_shebang(char *buf, long n, char **interp, char **arg);
/* Opens host, refuses what is not a regular file, reads its first size
 * bytes into buf; returns how many, or -errno. With fdp, the file stays
 * open there. */
long pico_read_head(const char *host, char *buf, long size, struct stat *st, int *fdp);
/* Checks a file is something the guest may execute (an ELF file or a #!
 * script) and returns 0, or -errno as execve would. For a script, sb (if
 * not NULL) gets its interpreter and optional argument; sb->interp is
 * NULL for an ELF file. */
struct pico_shebang {
	char buf[256];
	char *interp, *arg;
};
int pico_check_exec(const char *host, int region, struct pico_shebang *sb);

#endif
