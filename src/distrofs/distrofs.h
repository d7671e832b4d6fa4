/*
 * distrofs.h - lxs-fs, the host's view of the distros' files (WSL's
 * \\wsl$): one FUSE file system at $XDG_RUNTIME_DIR/lxs/fs whose top folder
 * holds a folder per registered distro. Each distro is reached over 9P:
 *   version 2  lxs-init's 9P server in the VM (vsock port
 *              LXS_VSOCK_PORT_DISTROFS), the distro started through lxsd
 *              as for a session, whose connection lxs-fs keeps while the
 *              files are in use;
 *   version 1  src/p9's server in this process over the distro's folder,
 *              with VolFs's metadata (HFS_OWNERS_VOLFS).
 * So one translator (ops.c: FUSE requests to 9P) serves both, and the 9P
 * client (p9/client.h) treats the other side as hostile.
 *
 *   main.c     the lifecycle: mount, serve, unmount
 *   ops.c      the FUSE operations and the inode table
 *   distros.c  a distro's connection: registry, starting it, transports
 */
#ifndef LXS_DISTROFS_H
#define LXS_DISTROFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "p9/client.h"
#include "store/paths.h"
#include "store/registry.h"

/*
 * How long the kernel may keep an entry or attributes without asking, and
 * so how long a change made inside a distro can take to show on the host
 * (README, "Distro files from the host"). Chosen in bench/distrofs.
 * DFS_TIMEOUT_S where nothing tells lxs-fs of changes (version 1, an
 * lxs-init without Tlxswatch); DFS_WATCHED_TIMEOUT_S where lxs-init does
 * (p9/watch.h): a change then shows as soon as it is told, and the timeout
 * only bounds what a lost change (or a reply that raced one) can leave.
 */
#ifndef DFS_TIMEOUT_S /* bench/RESULTS.md's alternatives were built with -DDFS_TIMEOUT_S=... */
#define DFS_TIMEOUT_S 1.0
#endif
#ifndef DFS_WATCHED_TIMEOUT_S
#define DFS_WATCHED_TIMEOUT_S 60.0
#endif
/* A version-2 distro is held running while its files were used this recently. */
#define DFS_HOLD_MS 60000

/* One distro's 9P connection. Reference counted: nodes and handles hold it. */
struct dconn {
	struct dfs *fs;
	int refs; /* under dfs.lock */
	char name[REG_NAME_MAX + 1];
	int version;
	struct p9c *c;
	uint32_t root_fid;
	uint32_t gid; /* the group of what the host creates (version 1: the default user's) */
	bool dead;    /* the server went away: every call fails, the next lookup reconnects */
	/* version 2 */
	int lxsd_fd; /* the session connection that keeps the distro running, or -1 */
	int sock_fd; /* the 9P stream, or -1 */
	void *mux;   /* distros.c's socket transport */
	/*
	 * What the distro changes, as lxs-init tells it (Tlxswatch): while
	 * watched, replies may be cached for DFS_WATCHED_TIMEOUT_S unless a
	 * change was applied while they were on their way (gen moved: see
	 * ops.c's reply_entry).
	 */
	atomic_bool watched;
	pthread_t watcher;
	bool watcher_started;
	pthread_rwlock_t gen_lock; /* read: a reply going to the kernel; write: gen++ */
	atomic_uint_fast64_t gen;  /* batches of changes applied */
	int64_t used_ms;
	int open_handles;
	/* version 1 */
	void *srv, *conn; /* struct p9_server, struct p9_conn */
};

struct dnode;
struct fuse_session;

struct dfs {
	struct lxs_paths p;
	pthread_mutex_t lock; /* refs, the tables, used times, open handles */
	/* ops.c's inodes, DFS_NODE_HASH chains */
	struct dnode **nodes;
	/* the live connection per distro name, at most one each */
	struct dconn **conns;
	int nconns;
	pthread_mutex_t conn_lock; /* one connection being made at a time */
	int64_t used_ms;           /* any distro's files */
	pthread_mutex_t hold_lock;
	int hold_fd;             /* LXSD_HOLD, or -1 */
	struct fuse_session *se; /* for telling the kernel what changed */
	/* Where distros.c hands an Rlxswatch of dc: ops.c's dfs_changed (main.c sets it). */
	void (*changed)(struct dfs *fs, struct dconn *dc, uint32_t flags, const void *recs,
			size_t len);
	volatile bool stop;
};

#define DFS_NODE_HASH 4096

/* distros.c */
/*
 * The connection to distro `name` (starting it if need be), with a
 * reference: 0, -ENOENT when no such distro is registered, or -errno.
 */
int dconn_get(struct dfs *fs, const char *name, struct dconn **out);
void dconn_put(struct dfs *fs, struct dconn *dc);
void dconn_ref(struct dfs *fs, struct dconn *dc);
/* A request went to dc: it is in use (version 2: keeps or takes its hold). */
void dconn_touch(struct dfs *fs, struct dconn *dc);
/* The registry's names, for the top folder: n names (free each and the array). */
int dfs_distro_names(struct dfs *fs, char ***names);
/* Hold lxsd up (LXSD_HOLD) if nothing does yet. */
void dfs_hold(struct dfs *fs);
/* Thread: lets go of the holds of version-2 distros unused for DFS_HOLD_MS. */
void *dfs_holder(void *fs);
/* End every watch (at exit, before the session goes: a watch tells the kernel things). */
void dfs_stop_watches(struct dfs *fs);
/* Drop every connection (at exit). */
void dfs_close_all(struct dfs *fs);

/* ops.c */
struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops dfs_ops;
/*
 * An Rlxswatch of dc (records checked by p9c_watch): the kernel forgets what
 * changed (P9_WATCH_LOST: all it holds of dc, as when the watch ends).
 */
void dfs_changed(struct dfs *fs, struct dconn *dc, uint32_t flags, const void *recs, size_t len);
/*
 * Before lxs-fs leaves: the kernel forgets the pages and attributes it
 * holds, so a file left open fails (ENOTCONN) instead of reading what was.
 */
void dfs_forget_all(struct dfs *fs);

#endif
