/*
 * p9.h - a 9P2000.L file server for one shared directory, with no transport
 * in it. A transport (the virtio-9p device, a socket, a test) hands each
 * request message to p9_serve()/p9_handle() and delivers the reply.
 *
 * Safety contract: everything the server touches is reached from the share's
 * root descriptor one name at a time, with O_PATH|O_NOFOLLOW (openat2 with
 * RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS when the kernel has it). Guest names
 * containing '/', empty names and "." are refused; ".." at the share root
 * stays at the root, and ".." elsewhere is checked to lead to a directory
 * still beneath the root. The server never follows a symlink (the guest
 * resolves them) and no guest string ever reaches a path-based system call.
 * Files are reopened for I/O through /proc/self/fd/N of the fid's own O_PATH
 * descriptor (opened as a directory descriptor at p9_server_new(), so a later
 * chroot does not matter), which names the same inode and nothing else.
 * Every guest number is checked: framing and field bounds in wire.c, fids,
 * counts, offsets, names and flags here. A request never crashes the server;
 * a bad one gets Rlerror, and only a message whose framing is broken (no tag
 * to reply to) is refused back to the transport.
 *
 * Ownership follows WSL's DrvFs `[automount] options`, the host's own, or
 * a version-1 distro folder's VolFs metadata: see struct hfs_opts and enum
 * hfs_owners in hostfs/hostfs.h, the layer (src/hostfs) through which the
 * server reaches every host file, as the other file servers of lxs do.
 *
 * Concurrency: a p9_server may serve any number of connections; a p9_conn
 * may be driven from many threads at once (its fid table and request table
 * are locked; one fid's open state, readdir position and xattr buffer are
 * locked per fid, and slow system calls run with no lock held). Tflush is
 * answered after the flushed request's reply, or at once when the tag is not
 * outstanding (or is its own); a flush only waits on a request taken before
 * it, so flushes naming each other are all answered.
 *
 * What is not served: the per-process part of any procfs (see hostfs/host.c,
 * proc_guard); past the descriptor budget (hfs_set_fd_budget), requests that
 * would keep another host descriptor get EMFILE or ENFILE.
 */
#ifndef LXS_P9_P9_H
#define LXS_P9_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hostfs/hostfs.h"
#include "p9/proto.h"

/*
 * Per-connection limits; zero fields take the defaults.
 *
 * Host descriptors held by fids are counted against max_fds and for the
 * whole process (every server and connection in it: a VM's shares are
 * servers of their own, and what runs out is the process's RLIMIT_NOFILE;
 * hfs_set_fd_budget() sets that budget, p9_server_new() its default). A fid
 * walked to a file holds one descriptor, and an open fid the same one
 * reopened (one in all); clones share theirs. Past a connection's max_fds a
 * request that would keep another descriptor gets Rlerror EMFILE, past the
 * process budget ENFILE; clunking gives them back.
 */
struct p9_limits {
	uint32_t max_msize;    /* largest msize Tversion may agree to; default 4 MiB */
	uint32_t max_fids;     /* live fids per connection; default 16384 */
	uint32_t max_requests; /* requests outstanding at once; default 256 */
	uint32_t max_fds;      /* host descriptors its fids hold; default 2 * max_fids */
};

#define P9_MIN_MSIZE        4096u
#define P9_MAX_MSIZE        (16u << 20)
#define P9_DEFAULT_MSIZE    (4u << 20)
#define P9_DEFAULT_FIDS     16384u
#define P9_DEFAULT_REQUESTS 256u

struct p9_server;
struct p9_conn;

/*
 * A server for the directory `root_fd` (any descriptor of a directory; it is
 * reopened O_PATH and the caller keeps its own). Opens /proc/self/fd for
 * reopening files; without /proc, files can still be walked and stat'ed but
 * only directories can be opened. Returns 0 or -errno.
 *
 * opts (struct hfs_opts, hostfs.h; NULL for the defaults) are each
 * connection's, unless the connection's first Tattach names others in its
 * aname ("metadata:uid=1000:umask=077", ':' or ',' between options, before
 * any fid exists): a guest mounting the share once per distro gives each
 * its /etc/wsl.conf [automount] options. A later attach naming other
 * options is refused.
 */
int p9_server_new(int root_fd, const struct hfs_opts *opts, struct p9_server **out);
/* Same, for a host path chosen by the host (never by the guest). */
int p9_server_open(const char *root_path, const struct hfs_opts *opts, struct p9_server **out);
/* All of its connections must have been freed. */
void p9_server_free(struct p9_server *s);

/* A connection (one client). lim may be NULL. Returns 0 or -errno. */
int p9_conn_new(struct p9_server *s, const struct p9_limits *lim, struct p9_conn **out);
/* Clunks every fid. No request may be in progress on c. */
void p9_conn_free(struct p9_conn *c);
/* The msize agreed by Tversion, or the limit before any Tversion. */
uint32_t p9_conn_msize(struct p9_conn *c);

/*
 * Receives one reply. Called exactly once per request that p9_serve()
 * accepted (returned 0 for), possibly from another thread's p9_serve() (a
 * Tflush's reply comes from the thread finishing the flushed request). The
 * request stays outstanding until this returns: a transport that delivers
 * replies from inside it gets the protocol's ordering (a flushed request's
 * reply before the Rflush) for free.
 */
typedef void p9_reply_fn(void *arg, void *resp, size_t len);

/*
 * Serve the request in req[0..len), writing the reply into resp[0..cap)
 * (at most msize bytes are used) and passing it to reply(arg, ...). resp
 * must stay valid until reply is called. Usually that happens before
 * p9_serve() returns; only a Tflush of an outstanding request is answered
 * later, so a transport may call p9_serve() for a Tflush from its event loop
 * without blocking. Thread-safe. Returns 0 when the request was accepted
 * (and will be or was answered), or, with no reply ever made:
 *   -EBADMSG  broken framing (fewer than 7 bytes, size field < 7 or > len):
 *             a misbehaving client; the transport should reset it;
 *   -ENOBUFS  cap cannot hold even an Rlerror (11 bytes).
 */
int p9_serve(struct p9_conn *c, const void *req, size_t len, void *resp, size_t cap,
	     p9_reply_fn *reply, void *arg);

/*
 * p9_serve() for transports that wait for each reply: returns 0 with the
 * reply in resp[0..*resp_len), waiting if need be (a Tflush of a request
 * that another thread is serving), or p9_serve()'s errors.
 */
int p9_handle(struct p9_conn *c, const void *req, size_t len, void *resp, size_t cap,
	      size_t *resp_len);

/*
 * A read's or write's data in the transport's own buffers instead of req
 * and resp (for virtio, the guest's pages), so that the file is read into
 * them or written from them with no copy through ours:
 *  - Tread: iov takes the reply's bytes from P9_IOHDRSZ on, as the
 *    transport delivers them (the request's writable buffers past the
 *    header); the data of a read of an open file goes there (preadv), resp
 *    gets only the header, and after the call `got` says how many reply
 *    bytes are in iov. Every other reply is whole in resp.
 *  - Twrite: req holds the request's first P9_TWRITE_HDRSZ bytes and iov
 *    the `len` bytes that follow (its size field counts them all); the data
 *    is written from there (pwritev). See p9_decode_split() for the checks.
 * Set only the member that fits the request's type: `len` 0 for a Tread,
 * iovcnt 0 when a Twrite is whole in req.
 */
struct p9_bulk {
	const struct iovec *iov;
	int iovcnt;
	size_t len; /* Twrite: request bytes in iov */
	size_t got; /* Tread: reply bytes put in iov */
};

/* p9_handle() with a read's or write's data in bulk (may be NULL). */
int p9_handle_bulk(struct p9_conn *c, const void *req, size_t len, void *resp, size_t cap,
		   struct p9_bulk *bulk, size_t *resp_len);

#endif
