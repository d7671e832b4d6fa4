/*
 * session.c - a FUSE session: its life (fsrv_new, reset, free), the
 * dispatch table and the checks every request passes before its handler
 * (INIT done, arguments long enough, a read-only share, room for the
 * reply), and the opcodes that are the session's own: INIT, DESTROY,
 * FORGET and BATCH_FORGET. Framing and replies are req.c's.
 *
 * What INIT offers (OFFERED, below, says why each flag) stays the same
 * for a session's life; the DrvFs options are taken at each INIT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fusesrv/internal.h"

#define DEFAULT_TIMEOUT_MS 1000u
/*
 * Where every change is told (watch.c), the timeout only bounds what inotify
 * cannot see: a host program's writes through a shared mapping, and entries
 * held when events were lost. Five minutes: a second `git status` or build
 * after a pause of a few minutes still needs no round trip per file.
 */
#define DEFAULT_WATCH_MS    300000u
#define DEFAULT_MAX_NODES   100000u
#define DEFAULT_MAX_HANDLES 16384u
#define DEFAULT_MAX_WRITE   (1u << 20)
#define MAX_TABLE           (1u << 24)
#define MAX_MAX_WRITE       (16u << 20)
#define GUEST_PAGE          4096u

/* --- session ------------------------------------------------------------- */

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int fsrv_new(struct hostfs *h, const struct fsrv_config *cfg, struct fsrv **out)
{
	struct fsrv *s = calloc(1, sizeof(*s));
	struct fsrv_config *c;
	int err;

	if (!s)
		return -ENOMEM;
	s->h = h;
	if (cfg)
		s->cfg = *cfg;
	else
		hfs_opts_default(&s->cfg.opts);
	c = &s->cfg;
	c->entry_ms = or_default(c->entry_ms, DEFAULT_TIMEOUT_MS);
	c->attr_ms = or_default(c->attr_ms, DEFAULT_TIMEOUT_MS);
	/* Never shorter than where nothing is watched. */
	c->watch_ms = or_default(c->watch_ms, DEFAULT_WATCH_MS);
	if (c->watch_ms < c->entry_ms || c->watch_ms < c->attr_ms)
		c->watch_ms = c->entry_ms > c->attr_ms ? c->entry_ms : c->attr_ms;
	c->max_nodes = clamp(or_default(c->max_nodes, DEFAULT_MAX_NODES), 1, MAX_TABLE);
	c->max_handles = clamp(or_default(c->max_handles, DEFAULT_MAX_HANDLES), 1, MAX_TABLE);
	/* Whole guest pages: FUSE_MAX_PAGES says max_write in pages. */
	c->max_write =
	    clamp(or_default(c->max_write, DEFAULT_MAX_WRITE), GUEST_PAGE, MAX_MAX_WRITE);
	c->max_write -= c->max_write % GUEST_PAGE;
	c->max_fds = or_default(c->max_fds, c->max_nodes + c->max_handles);
	s->budget.max = c->max_fds;
	s->next_opts = c->opts;
	pthread_mutex_init(&s->lock, NULL);
	err = fsrv_watch_init(s);
	if (err)
		goto fail;
	err = fsrv_nodes_init(s);
	if (err) {
		fsrv_watch_free(s);
		goto fail;
	}
	fsrv_watch_add(s, FUSE_ROOT_ID);
	*out = s;
	return 0;
fail:
	pthread_mutex_destroy(&s->lock);
	free(s);
	return err;
}

void fsrv_reset(struct fsrv *s)
{
	pthread_mutex_lock(&s->lock);
	s->inited = false;
	/* Notifications name the old driver's nodes. */
	s->watch.head = s->watch.nnotes = 0;
	s->watch.lost = false;
	pthread_mutex_unlock(&s->lock);
	fsrv_handles_clear(s);
	fsrv_nodes_clear(s);
}

void fsrv_free(struct fsrv *s)
{
	if (!s)
		return;
	fsrv_handles_free(s);
	fsrv_nodes_free(s);
	fsrv_watch_free(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void fsrv_set_opts(struct fsrv *s, const struct hfs_opts *opts)
{
	pthread_mutex_lock(&s->lock);
	s->next_opts = *opts;
	pthread_mutex_unlock(&s->lock);
}

/* --- the session's own opcodes ----------------------------------------------- */

/*
 * What INIT offers, each only if the kernel asks for it too:
 *  ASYNC_READ          readahead and reads of one file in parallel;
 *  ATOMIC_O_TRUNC      O_TRUNC in OPEN, not an OPEN then a SETATTR;
 *  BIG_WRITES          writes of more than a page (implied by 7.x kernels);
 *  AUTO_INVAL_DATA     the kernel drops its cached pages of a file when
 *                      it sees the file's mtime or size change: how a
 *                      host's change reaches the guest's readers within
 *                      the attribute timeout;
 *  DO_READDIRPLUS, READDIRPLUS_AUTO  a listing carries each entry's
 *                      attributes when the kernel expects to want them
 *                      (ls -l), saving a LOOKUP per entry;
 *  PARALLEL_DIROPS     lookups and listings of one folder at once;
 *  MAX_PAGES           max_write's worth of pages per request;
 *  CACHE_SYMLINKS      symlink targets kept in the page cache (a change
 *                      makes a new ctime, which invalidates them);
 *  HANDLE_KILLPRIV_V2  set-id bits are cleared here (fsrv_kill_suidgid)
 *                      where the kernel flags a write, truncation, O_TRUNC
 *                      open or chown, and the host kernel drops
 *                      security.capability when the real file is written,
 *                      truncated or given away. In return the
 *                      kernel stops asking for security.capability before
 *                      every write (a GETXATTR each: S_NOSEC holds between
 *                      attribute refreshes) and for the mode before a chown.
 * Not offered: WRITEBACK_CACHE (the guest would keep dirty pages and take
 * mtime and size as its own, so a host's edit of a shared file could be
 * overwritten by stale pages and its attributes ignored: coherence with the
 * host matters more here than write speed); POSIX_ACL and DONT_MASK (the
 * kernel applies the umask and checks modes itself: default_permissions);
 * POSIX_LOCKS and FLOCK_LOCKS (locks stay the guest's own); the DAX window
 * (no shared memory region); HANDLE_KILLPRIV (v1: the kernel would still
 * ask for security.capability before each write); SETXATTR_EXT (only for ACLs);
 * EXPORT_SUPPORT (no NFS export of the mount); SUBMOUNTS (one file system
 * is shown, hostfs numbers inodes of several apart).
 */
#define OFFERED                                                                                    \
	(FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_AUTO_INVAL_DATA |          \
	 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |     \
	 FUSE_CACHE_SYMLINKS | FUSE_HANDLE_KILLPRIV_V2)

static int op_init(struct fsrv_req *r)
{
	struct fsrv *s = r->s;
	struct fuse_init_in in = {0};
	struct fuse_init_out out = {0};
	int err = 0;

	memcpy(&in, r->arg, r->arglen < sizeof(in) ? r->arglen : sizeof(in));
	out.major = FUSE_KERNEL_VERSION;
	out.minor = FUSE_KERNEL_MINOR_VERSION;
	if (in.major > FUSE_KERNEL_VERSION)
		return fsrv_reply(r, &out, sizeof(out)); /* ours; the kernel may try again */
	if (in.major < FUSE_KERNEL_VERSION || in.minor < FSRV_MIN_MINOR)
		return -EPROTO;
	if (in.minor < out.minor)
		out.minor = in.minor;
	out.max_readahead = in.max_readahead;
	out.flags = in.flags & OFFERED;
	out.max_write = s->cfg.max_write;
	out.max_pages = (uint16_t)(s->cfg.max_write / GUEST_PAGE);
	out.time_gran = 1;
	if (r->room < sizeof(out))
		return -EINVAL;

	pthread_mutex_lock(&s->lock);
	if (s->inited) {
		err = -EPROTO;
	} else {
		s->inited = true;
		s->minor = out.minor;
		s->opts = s->next_opts;
	}
	pthread_mutex_unlock(&s->lock);
	return err ? err : fsrv_reply(r, &out, sizeof(out));
}

static int op_destroy(struct fsrv_req *r)
{
	fsrv_reset(r->s);
	return 0;
}

static int op_forget(struct fsrv_req *r)
{
	struct fuse_forget_in in;

	memcpy(&in, r->arg, sizeof(in));
	fsrv_node_forget(r->s, r->in.nodeid, in.nlookup);
	return 0;
}

static int op_batch_forget(struct fsrv_req *r)
{
	struct fuse_batch_forget_in in;
	struct fuse_forget_one one;
	size_t off = sizeof(in);

	memcpy(&in, r->arg, sizeof(in));
	/* As many as the request holds, never more than it says. */
	for (uint32_t i = 0; i < in.count && r->arglen - off >= sizeof(one); i++) {
		memcpy(&one, r->arg + off, sizeof(one));
		off += sizeof(one);
		fsrv_node_forget(r->s, one.nodeid, one.nlookup);
	}
	return 0;
}

/* --- dispatch ------------------------------------------------------------- */

/* Changes the host: EROFS on a read-only share. */
#define OP_CHANGES 1

struct fsrv_opdesc {
	fsrv_op_fn *fn;
	uint16_t argsize; /* the fixed arguments it reads */
	uint16_t reply;   /* the reply body it needs room for, at least */
	uint8_t flags;
};

#define ENTRY sizeof(struct fuse_entry_out)

static const struct fsrv_opdesc ops[] = {
    [FUSE_LOOKUP] = {fsrv_op_lookup, 0, ENTRY, 0},
    [FUSE_FORGET] = {op_forget, sizeof(struct fuse_forget_in), 0, 0},
    [FUSE_GETATTR] = {fsrv_op_getattr, sizeof(struct fuse_getattr_in), sizeof(struct fuse_attr_out),
		      0},
    [FUSE_SETATTR] = {fsrv_op_setattr, sizeof(struct fuse_setattr_in), sizeof(struct fuse_attr_out),
		      OP_CHANGES},
    [FUSE_READLINK] = {fsrv_op_readlink, 0, 0, 0},
    [FUSE_SYMLINK] = {fsrv_op_symlink, 0, ENTRY, OP_CHANGES},
    [FUSE_MKNOD] = {fsrv_op_mknod, sizeof(struct fuse_mknod_in), ENTRY, OP_CHANGES},
    [FUSE_MKDIR] = {fsrv_op_mkdir, sizeof(struct fuse_mkdir_in), ENTRY, OP_CHANGES},
    [FUSE_UNLINK] = {fsrv_op_unlink, 0, 0, OP_CHANGES},
    [FUSE_RMDIR] = {fsrv_op_rmdir, 0, 0, OP_CHANGES},
    [FUSE_RENAME] = {fsrv_op_rename, sizeof(struct fuse_rename_in), 0, OP_CHANGES},
    [FUSE_LINK] = {fsrv_op_link, sizeof(struct fuse_link_in), ENTRY, OP_CHANGES},
    [FUSE_OPEN] = {fsrv_op_open, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out), 0},
    [FUSE_READ] = {fsrv_op_read, sizeof(struct fuse_read_in), 0, 0},
    [FUSE_WRITE] = {fsrv_op_write, sizeof(struct fuse_write_in), sizeof(struct fuse_write_out),
		    OP_CHANGES},
    [FUSE_STATFS] = {fsrv_op_statfs, 0, sizeof(struct fuse_statfs_out), 0},
    [FUSE_RELEASE] = {fsrv_op_release, sizeof(struct fuse_release_in), 0, 0},
    [FUSE_FSYNC] = {fsrv_op_fsync, sizeof(struct fuse_fsync_in), 0, 0},
    [FUSE_SETXATTR] = {fsrv_op_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE, 0, OP_CHANGES},
    [FUSE_GETXATTR] = {fsrv_op_getxattr, sizeof(struct fuse_getxattr_in), 0, 0},
    [FUSE_LISTXATTR] = {fsrv_op_listxattr, sizeof(struct fuse_getxattr_in), 0, 0},
    [FUSE_REMOVEXATTR] = {fsrv_op_removexattr, 0, 0, OP_CHANGES},
    /* INIT's arguments grew over the versions: op_init takes what is there. */
    [FUSE_INIT] = {op_init, 8, 0, 0},
    [FUSE_OPENDIR] = {fsrv_op_opendir, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out),
		      0},
    [FUSE_READDIR] = {fsrv_op_readdir, sizeof(struct fuse_read_in), 0, 0},
    [FUSE_RELEASEDIR] = {fsrv_op_releasedir, sizeof(struct fuse_release_in), 0, 0},
    [FUSE_FSYNCDIR] = {fsrv_op_fsyncdir, sizeof(struct fuse_fsync_in), 0, 0},
    [FUSE_CREATE] = {fsrv_op_create, sizeof(struct fuse_create_in),
		     ENTRY + sizeof(struct fuse_open_out), OP_CHANGES},
    [FUSE_DESTROY] = {op_destroy, 0, 0, 0},
    [FUSE_BATCH_FORGET] = {op_batch_forget, sizeof(struct fuse_batch_forget_in), 0, 0},
    [FUSE_FALLOCATE] = {fsrv_op_fallocate, sizeof(struct fuse_fallocate_in), 0, OP_CHANGES},
    [FUSE_READDIRPLUS] = {fsrv_op_readdirplus, sizeof(struct fuse_read_in), 0, 0},
    [FUSE_RENAME2] = {fsrv_op_rename2, sizeof(struct fuse_rename2_in), 0, OP_CHANGES},
    [FUSE_LSEEK] = {fsrv_op_lseek, sizeof(struct fuse_lseek_in), sizeof(struct fuse_lseek_out), 0},
    [FUSE_COPY_FILE_RANGE] = {fsrv_op_copy_file_range, sizeof(struct fuse_copy_file_range_in),
			      sizeof(struct fuse_write_out), OP_CHANGES},
    /*
     * Absent, so -ENOSYS, which the kernel remembers and stops sending:
     * FLUSH (nothing is buffered here and locks are the guest's own, so a
     * round trip at every close would buy nothing), ACCESS (the kernel
     * checks modes itself), GETLK/SETLK/SETLKW, INTERRUPT, BMAP, IOCTL,
     * POLL, NOTIFY_REPLY, SETUPMAPPING/REMOVEMAPPING (no DAX), SYNCFS,
     * TMPFILE.
     */
};

static bool has_reply(uint32_t opcode)
{
	return opcode != FUSE_FORGET && opcode != FUSE_BATCH_FORGET;
}

static int dispatch(struct fsrv_req *r, int framed)
{
	struct fsrv *s = r->s;
	const struct fsrv_opdesc *op = NULL;
	bool inited;

	if (r->in.opcode < sizeof(ops) / sizeof(ops[0]) && ops[r->in.opcode].fn)
		op = &ops[r->in.opcode];
	pthread_mutex_lock(&s->lock);
	inited = s->inited;
	r->opts = s->opts;
	r->minor = s->minor;
	pthread_mutex_unlock(&s->lock);

	if (!inited && r->in.opcode != FUSE_INIT)
		return -EIO; /* as the protocol has it: nothing before INIT */
	if (!op)
		return -ENOSYS;
	if (framed < 0)
		return framed;
	if (r->arglen < op->argsize)
		return -EINVAL;
	if (r->in.total_extlen)
		return -EINVAL; /* no extension was agreed to */
	if ((op->flags & OP_CHANGES) && s->cfg.read_only)
		return -EROFS;
	/* Checked before anything is done: a reply that cannot be given must change nothing. */
	if (r->room < op->reply)
		return -EINVAL;
	return op->fn(r);
}

ssize_t fsrv_handle(struct fsrv *s, const struct iovec *in, unsigned nin, const struct iovec *out,
		    unsigned nout)
{
	struct fsrv_req r = {.s = s, .h = s->h};
	uint8_t stack[FSRV_ARGS_STACK];
	uint8_t *heap = NULL;
	int framed, res;

	framed = fsrv_frame(&r, in, nin, stack, &heap);
	if (framed == -EBADMSG)
		return -EBADMSG;
	/* No reply ever to a FORGET, which comes with no room for one. */
	if (has_reply(r.in.opcode) && fsrv_out(&r, out, nout) < 0) {
		free(heap);
		return -ENOBUFS;
	}
	res = dispatch(&r, framed);
	free(heap);
	return has_reply(r.in.opcode) ? fsrv_finish(&r, res) : 0;
}
