/*
 * fusesrv.h - the FUSE protocol, as Linux's virtio-fs driver speaks it,
 * served over one hostfs share (src/hostfs), with no transport in it. A
 * transport (the virtio-fs device, src/vmm/fs.c; a test; a fuzzer) hands
 * each request's buffers to fsrv_handle() and delivers the reply.
 *
 * A session is one driver's view of the share: its node table (nodeid ->
 * hfs_obj, with the kernel's lookup count, so FORGET gives it back), its
 * open handles, and the options its FUSE_INIT took. Requests before INIT,
 * a second INIT, and unknown opcodes get an error reply; none is fatal.
 *
 * Everything the guest sends is checked here: the header's length against
 * the buffers, each opcode's argument size, every nodeid and fh (a table
 * index and a generation: a stale or forged one is -ENOENT/-EBADF, never
 * another node), every name (hfs_name_ok, and within the request), sizes
 * and offsets (no overflow, bounded by the limits), flags (unknown open
 * flags are refused, O_CREAT/O_EXCL only through CREATE). Every host access
 * goes through hostfs. Requests and their fixed arguments are copied out of
 * the guest's buffers before they are checked; only file data (a WRITE's
 * payload, a READ's reply) moves straight between the file and the guest's
 * pages (preadv/pwritev on the iovecs), so a guest rewriting its buffers
 * mid-request changes nothing that was checked.
 *
 * Caching (why these values: bench/RESULTS.md "bench/hostfs"): entries and
 * attributes are given a timeout (cfg.entry_ms, cfg.attr_ms), so a change
 * made on the host is seen by the guest within that bound. With cfg.watch
 * the session watches the folders the guest holds and tells it of host
 * changes as they happen (fsrv_notify_next), and gives what a change would
 * be told of the long timeout cfg.watch_ms (watch.c says exactly what);
 * an absent name is an entry of node 0, kept as long. An open keeps the
 * guest's page cache (FOPEN_KEEP_CACHE) only when the file's size, mtime
 * and ctime are what this session saw at its last open or write. Folders
 * are never opened (OPENDIR is ENOSYS): the kernel then keeps a folder's
 * listing across opens, renewed when its mtime moves or it is told of a
 * change, and asks for a listing by node (READDIR with fh 0).
 *
 * Thread-safe: any number of threads may call fsrv_handle() on one session
 * at once (the node and handle tables are locked; system calls run with no
 * lock held). fsrv_reset() and fsrv_free() need no request in progress.
 */
#ifndef LXS_FUSESRV_FUSESRV_H
#define LXS_FUSESRV_FUSESRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "hostfs/hostfs.h"

/* Limits and caching of a session; zero fields take the defaults. */
struct fsrv_config {
	struct hfs_opts opts; /* how owners and modes look (hostfs.h) */
	bool read_only;       /* every change refused with EROFS */
	uint32_t entry_ms;    /* entry timeout; default 1000 */
	uint32_t attr_ms;     /* attribute timeout; default 1000 */
	bool watch;           /* tell the guest of host changes (fsrv_notify_next) */
	uint32_t watch_ms;    /* timeouts of what changes are told of; default 300000 */
	uint32_t max_nodes;   /* nodes the guest may hold (then LOOKUP: ENFILE); default 100000 */
	uint32_t max_handles; /* open files and folders (then EMFILE); default 16384 */
	uint32_t max_write;   /* largest READ/WRITE; default 1 MiB (whole pages, 4 KiB..16 MiB) */
	uint32_t max_fds;     /* host descriptors held; default max_nodes + max_handles */
};

struct fsrv;

/* A session over h (the caller keeps h and frees it after the session). */
int fsrv_new(struct hostfs *h, const struct fsrv_config *cfg, struct fsrv **out);
/* Every node and handle given back. No request may be in progress. */
void fsrv_free(struct fsrv *s);
/*
 * A new driver (the device was reset, or the guest unmounted: FUSE_DESTROY
 * does the same): every node and handle forgotten, the next request must be
 * FUSE_INIT. No request may be in progress.
 */
void fsrv_reset(struct fsrv *s);
/*
 * The DrvFs options (hostfs.h) a later FUSE_INIT takes: a distro's
 * [automount] options, set by the host before that distro mounts the
 * share. Thread-safe; a session already past INIT keeps its own.
 */
void fsrv_set_opts(struct fsrv *s, const struct hfs_opts *opts);

/*
 * Serve one request. in[0..nin): the device-readable buffers (struct
 * fuse_in_header, the opcode's arguments, a WRITE's data); out[0..nout):
 * the device-writable ones (struct fuse_out_header, then the reply). Returns
 * the number of bytes of reply written into out, 0 for a request that has
 * no reply (FORGET, BATCH_FORGET), or -EBADMSG when the buffers cannot hold
 * a FUSE request at all (shorter than its header, or a header's length that
 * disagrees with them) or -ENOBUFS when out cannot hold a fuse_out_header:
 * with no reply the transport should mark the device broken. Every other
 * fault is an error reply with the request's unique.
 */
ssize_t fsrv_handle(struct fsrv *s, const struct iovec *in, unsigned nin, const struct iovec *out,
		    unsigned nout);

/*
 * Host changes (cfg.watch). fsrv_watch_fd() becomes readable when the host
 * changed something the guest holds (-1: not watching); fsrv_watch_read()
 * then turns what happened into notifications (non-blocking; the number of
 * events read, or -errno), and fsrv_notify_next() writes the next one into
 * buf (a fuse_out_header with unique 0 and the notify code in error, then
 * its body): its length, 0 when none is due, -ENOBUFS when size is too
 * small (FSRV_NOTIFY_MAX fits any; that notification is dropped). Only
 * after fsrv_watch_enable(true) (the default) are long timeouts given and
 * notifications made: a transport whose driver cannot take them says
 * false. One thread reads; the calls may race requests.
 */
#define FSRV_NOTIFY_MAX (16 + 16 + 256)
int fsrv_watch_fd(const struct fsrv *s);
int fsrv_watch_read(struct fsrv *s);
void fsrv_watch_enable(struct fsrv *s, bool on);
ssize_t fsrv_notify_next(struct fsrv *s, void *buf, size_t size);

#endif
