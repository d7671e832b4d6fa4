/*
 * devices.h - constructors of lxs-vm's virtio device models.
 *
 * What this header promises: each *_create() returns a struct virtio_dev
 * ready to be mapped on the bus (virtio_mmio_read/write with the device as
 * opaque) once the VMM has set its interrupt with virtio_dev_set_irq(). A
 * device's *_destroy() may only run when no vCPU can reach it any more, its
 * event loop is not running (or is the calling thread), and before that
 * event loop is destroyed. It is also the device's ops->destroy, so code
 * that holds devices of any kind (vm_add_virtio) frees them with
 * virtio_dev_destroy().
 */
#ifndef LXS_VMM_DEVICES_H
#define LXS_VMM_DEVICES_H

#include <stdint.h>

struct evloop;
struct guest_mem;
struct virtio_dev;

/* virtio-console (5.3): feature bits and config layout. */
#define VIRTIO_CONSOLE_F_SIZE        0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

#define VIRTIO_CONSOLE_CFG_COLS      0 /* le16 */
#define VIRTIO_CONSOLE_CFG_ROWS      2 /* le16 */
#define VIRTIO_CONSOLE_CFG_MAX_PORTS 4 /* le32 */
#define VIRTIO_CONSOLE_CFG_SIZE      12

#define VIRTIO_CONSOLE_RXQ 0 /* receiveq: host -> guest */
#define VIRTIO_CONSOLE_TXQ 1 /* transmitq: guest -> host */

/*
 * A virtio console with one port (no MULTIPORT) offering F_SIZE.
 *
 * Input: bytes read from in_fd go to the guest's receive buffers. in_fd is
 * watched on the event loop `ev` only while the guest has buffers posted;
 * the guest's next notify resumes it. At EOF (read returns 0) or a read
 * error input stops for good. A descriptor epoll cannot watch (regular
 * file, /dev/null) is read directly when the guest posts buffers. in_fd < 0:
 * no input. in_fd should be non-blocking; if it is not, it is only read
 * after epoll said it is readable, once per readiness.
 *
 * Output: what the guest transmits is written to out_fd from the vCPU
 * thread that notified, holding the device lock. Short writes are
 * continued. If out_fd is non-blocking and full (EAGAIN), the rest waits for
 * EPOLLOUT on the event loop and the vCPU returns at once. If out_fd is
 * blocking, a stuck reader (a suspended terminal) blocks that vCPU, and the
 * console's input path, until it drains: that is the price of not buffering
 * without bound. After a write error (EPIPE...) output is discarded. The
 * VMM must ignore SIGPIPE. out_fd < 0: output is discarded.
 *
 * in_fd and out_fd may be the same descriptor. Neither is closed by the
 * device. Returns 0 and *out, or -errno.
 */
int virtio_console_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
			  int in_fd, int out_fd);
void virtio_console_destroy(struct virtio_dev *dev);
/* The host terminal's size changed: update config, tell the guest. */
void virtio_console_set_size(struct virtio_dev *dev, uint16_t cols, uint16_t rows);

/*
 * virtio-balloon (5.5): feature bits, config layout, statistics tags. The
 * device offers STATS_VQ, DEFLATE_ON_OOM and REPORTING; never
 * MUST_TELL_HOST, FREE_PAGE_HINT or PAGE_POISON.
 */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ       1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON    4
#define VIRTIO_BALLOON_F_REPORTING      5

#define VIRTIO_BALLOON_CFG_NUM_PAGES             0  /* le32, device: target */
#define VIRTIO_BALLOON_CFG_ACTUAL                4  /* le32, driver: in the balloon */
#define VIRTIO_BALLOON_CFG_FREE_PAGE_HINT_CMD_ID 8  /* le32, always 0 here */
#define VIRTIO_BALLOON_CFG_POISON_VAL            12 /* le32, always 0 here */
#define VIRTIO_BALLOON_CFG_SIZE                  16

/* Balloon page: PFNs, num_pages and actual count 4 KiB, whatever the guest's page size. */
#define VIRTIO_BALLOON_PAGE_SIZE 4096u

/*
 * Queue slots. Inflate and deflate are always 0 and 1; the optional queues
 * follow without gaps in the order statsq, (free_page_vq), reporting_vq,
 * each present only if its feature was negotiated, as Linux numbers them:
 * with STATS_VQ and REPORTING, stats is 2 and reporting 3; with
 * REPORTING alone, reporting is 2.
 */
#define VIRTIO_BALLOON_INFLATEQ 0
#define VIRTIO_BALLOON_DEFLATEQ 1

/* Statistics tags (5.5.6.3.1); 10-15 are Linux extensions, not in VIRTIO 1.2. */
#define VIRTIO_BALLOON_S_SWAP_IN        0 /* bytes */
#define VIRTIO_BALLOON_S_SWAP_OUT       1 /* bytes */
#define VIRTIO_BALLOON_S_MAJFLT         2
#define VIRTIO_BALLOON_S_MINFLT         3
#define VIRTIO_BALLOON_S_MEMFREE        4 /* bytes */
#define VIRTIO_BALLOON_S_MEMTOT         5 /* bytes */
#define VIRTIO_BALLOON_S_AVAIL          6 /* bytes */
#define VIRTIO_BALLOON_S_CACHES         7 /* bytes */
#define VIRTIO_BALLOON_S_HTLB_PGALLOC   8
#define VIRTIO_BALLOON_S_HTLB_PGFAIL    9
#define VIRTIO_BALLOON_S_OOM_KILL       10
#define VIRTIO_BALLOON_S_ALLOC_STALL    11
#define VIRTIO_BALLOON_S_ASYNC_SCAN     12 /* bytes */
#define VIRTIO_BALLOON_S_DIRECT_SCAN    13 /* bytes */
#define VIRTIO_BALLOON_S_ASYNC_RECLAIM  14 /* bytes */
#define VIRTIO_BALLOON_S_DIRECT_RECLAIM 15 /* bytes */
#define VIRTIO_BALLOON_S_NR             16

/*
 * The guest's last statistics, as it reported them. A field is meaningful
 * only if bit (1 << VIRTIO_BALLOON_S_*) of `valid` is set: the guest
 * chooses what it sends, and fields it left out read 0.
 */
struct balloon_stats {
	uint64_t swap_in, swap_out; /* bytes swapped in / out */
	uint64_t major_faults, minor_faults;
	uint64_t free;      /* bytes not used for anything */
	uint64_t total;     /* bytes of RAM the guest sees */
	uint64_t available; /* bytes usable without swapping */
	uint64_t caches;    /* bytes of quickly reclaimable cache */
	uint64_t hugetlb_allocs, hugetlb_failures;
	uint64_t oom_kills, alloc_stalls;
	uint64_t async_scans, direct_scans;       /* bytes scanned by kswapd / direct reclaim */
	uint64_t async_reclaims, direct_reclaims; /* bytes reclaimed the same ways */

	uint32_t valid;   /* which of the above the guest sent */
	uint64_t updates; /* stats buffers received since the device was created */
	uint64_t time_ns; /* CLOCK_MONOTONIC when the last one arrived */
};

/* What the device did, for the VMM's status and for tests. */
struct balloon_info {
	uint32_t target_pages;   /* num_pages the host asked for */
	uint32_t actual_pages;   /* `actual` as the driver last wrote it (its claim) */
	uint64_t inflated_pages; /* valid PFNs received on the inflate queue, ever */
	uint64_t deflated_pages; /* valid PFNs received on the deflate queue, ever */
	uint64_t bad_pfns;       /* PFNs outside guest RAM, dropped */
	uint64_t reported_bytes; /* bytes given back through free page reporting */
	uint64_t reports;        /* reporting chains handled */
};

/*
 * A virtio memory balloon over guest RAM gm, which must be anonymous
 * private memory (MADV_DONTNEED frees it and it refaults as zeroes).
 *
 * Free page reporting: each buffer of a report chain is a free guest range;
 * the whole 4 KiB pages inside it are madvise(MADV_DONTNEED)ed, so the
 * host's RSS drops, and the chain is returned. Inflate: each PFN inside
 * guest RAM is discarded the same way; PFNs outside it are dropped and
 * counted, never touched. Deflate: acknowledged only (pages refault on
 * demand). A chain that breaks the protocol (writable PFN or stats buffer,
 * PFN array not a multiple of 4 bytes) marks the device needs-reset.
 * Work runs on the notifying vCPU; no event loop is needed.
 *
 * Returns 0 and *out, -EINVAL, -ENOTSUP (host page size is not 4 KiB) or
 * -ENOMEM.
 */
int virtio_balloon_create(struct virtio_dev **out, struct guest_mem *gm);
void virtio_balloon_destroy(struct virtio_dev *dev);
/*
 * Ask the guest to hold `pages` 4 KiB pages in its balloon: updates
 * num_pages and raises a config-change interrupt (if the driver is running;
 * otherwise it reads the value when it starts). The target survives device
 * resets. Returns 0, or -EINVAL if pages exceeds guest RAM.
 */
int virtio_balloon_set_target(struct virtio_dev *dev, uint64_t pages);
/* Copy the guest's last statistics to *out: 0, or -ENODATA if none came yet. */
int virtio_balloon_stats(struct virtio_dev *dev, struct balloon_stats *out);
/*
 * Ask the guest for fresh statistics by returning the buffer it left with
 * the device; its answer arrives asynchronously (watch `updates`). Does
 * nothing if the device holds no buffer (not negotiated, not running, or a
 * request is already pending).
 */
void virtio_balloon_request_stats(struct virtio_dev *dev);
/* Bytes given back to the host through free page reporting, ever. */
uint64_t virtio_balloon_reported_bytes(struct virtio_dev *dev);
void virtio_balloon_info(struct virtio_dev *dev, struct balloon_info *out);

/* --- virtio-blk (5.2) ------------------------------------------------------ */

#include <stdbool.h>

#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_GEOMETRY     4
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_CONFIG_WCE   11
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Config space offsets (struct virtio_blk_config), little endian. */
#define VIRTIO_BLK_CFG_CAPACITY            0  /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SEG_MAX             12 /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE            20 /* le32 */
#define VIRTIO_BLK_CFG_PHYS_BLOCK_EXP      24 /* u8: physical block = blk_size << exp */
#define VIRTIO_BLK_CFG_MIN_IO_SIZE         26 /* le16, in blk_size units */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36 /* le32, per segment */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG     40 /* le32 */
#define VIRTIO_BLK_CFG_DISCARD_ALIGN       44 /* le32, sectors */
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS      48 /* le32, per segment */
#define VIRTIO_BLK_CFG_MAX_WZ_SEG          52 /* le32 */
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP        56 /* u8 */
#define VIRTIO_BLK_CFG_SIZE                60

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_GET_LIFETIME 10
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_SECURE_ERASE 14

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR_SIZE   512
#define VIRTIO_BLK_ID_BYTES      20
#define VIRTIO_BLK_WZ_FLAG_UNMAP 1u /* virtio_blk_seg.flags */

/* What the driver puts first in every request's device-readable part. */
struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* One range of a DISCARD or WRITE_ZEROES request. */
struct virtio_blk_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct virtio_blk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids; /* completed OK */
	uint64_t bytes_read, bytes_written;
	uint64_t ioerr, unsupp;   /* requests answered with IOERR / UNSUPP */
	uint64_t host_errors;     /* host I/O failures (the rest of ioerr: bad requests) */
	unsigned inflight;        /* requests handed to io_uring right now */
	unsigned max_inflight;    /* the most there ever were at once */
	uint64_t capacity;        /* sectors; 0 when empty */
	bool attached, read_only; /* a file is attached; it is attached read-only */
};

/*
 * A virtio block device over an image file (regular file or block device),
 * one request queue, up to 128 requests in flight through io_uring with
 * completions reaped on the event loop `ev`. Offers SEG_MAX, BLK_SIZE,
 * TOPOLOGY, FLUSH (fdatasync), DISCARD and WRITE_ZEROES (hole punching, so
 * a sparse image shrinks), and RO for a read-only slot.
 *
 * path NULL creates an empty slot (capacity 0) to be filled later with
 * virtio_blk_attach(). read_only fixes whether the slot advertises F_RO,
 * which the guest reads once at probe. serial (NULL: none) is what GET_ID
 * returns, cut to VIRTIO_BLK_ID_BYTES. The image is locked with flock()
 * (shared when read-only, exclusive otherwise) so that two VMs cannot
 * write one image. Returns 0 and *out, or -errno (-EBUSY: image locked,
 * -EINVAL: not a regular file or block device, or an io_uring error).
 */
int virtio_blk_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
		      const char *path, bool read_only, const char *serial);
/*
 * Put an image in an empty slot of a running or stopped VM: open it, set
 * the capacity from its size, bump the config generation and interrupt
 * the guest (Linux then resizes the disk from 0). serial non-NULL replaces
 * the slot's serial. Writable on a read-only slot is -EROFS; read-only on
 * a writable slot refuses writes with IOERR (the guest was not told).
 * -EBUSY if the slot is not empty or the image is locked. Any thread.
 */
int virtio_blk_attach(struct virtio_dev *dev, const char *path, bool read_only, const char *serial);
/*
 * Take the image out: wait for the requests in flight, set capacity 0,
 * tell the guest, close the file. Later requests fail with IOERR.
 * -ENOMEDIUM if the slot is empty. Any thread.
 */
int virtio_blk_detach(struct virtio_dev *dev);
void virtio_blk_get_stats(struct virtio_dev *dev, struct virtio_blk_stats *st);
/* Waits for the requests in flight and closes the image. */
void virtio_blk_destroy(struct virtio_dev *dev);

/* --- virtio-9p (5.15 in VIRTIO 1.0; 9P2000.L over src/p9) ------------------ */

struct hfs_opts;
struct sandbox;

/* Longest mount tag the config space holds. */
#define VIRTIO_9P_TAG_MAX 64

/*
 * A 9P2000.L file server for the host directory `dir` (chosen by the host),
 * offered to the guest under mount tag `tag` (1..VIRTIO_9P_TAG_MAX bytes).
 * read_only refuses every change with EROFS; opts (NULL: the defaults) are
 * DrvFs-style ownership options (hostfs.h). Requests run on a small pool of
 * worker threads, each confined by sb's 9P filter before create returns (sb
 * NULL: not confined, for tests of the device alone); reset and destroy wait
 * for them. Returns 0 and *out, or -errno (-EINVAL for a bad tag, the
 * server's errors for dir, the sandbox's if a worker could not enter it).
 */
int virtio_9p_create(struct virtio_dev **out, struct guest_mem *gm, const char *tag,
		     const char *dir, bool read_only, const struct hfs_opts *opts,
		     const struct sandbox *sb);
/* Waits for the requests in flight, then frees the server. */
void virtio_9p_destroy(struct virtio_dev *dev);

/* --- virtio-fs (5.11; FUSE over src/fusesrv) --------------------------------- */

struct hfs_opts;

/* The mount tag's room in config space (5.11.4). */
#define VIRTIO_FS_TAG_MAX 36

/*
 * A FUSE file server for the host directory `dir` (chosen by the host),
 * offered to the guest under mount tag `tag` (1..VIRTIO_FS_TAG_MAX bytes):
 * `mount -t virtiofs TAG /where`. cfg (fusesrv.h) says whether every change
 * is refused (read_only), the DrvFs-style ownership options, and how long
 * the guest may keep entries and attributes: entry_ms/attr_ms where it
 * cannot be told of host changes, watch_ms where it is (cfg.watch and a
 * driver that takes VIRTIO_FS_F_NOTIFICATION). Requests run on a small pool of worker threads, each
 * confined by sb's file-server filter before create returns (sb NULL: not
 * confined, for tests of the device alone); reset and destroy wait for
 * them. Returns 0 and *out, or -errno (-EINVAL for a bad tag, the share's
 * errors for dir, the sandbox's if a worker could not enter it).
 */
struct fsrv_config;
int virtio_fs_create(struct virtio_dev **out, struct guest_mem *gm, const char *tag,
		     const char *dir, const struct fsrv_config *cfg, const struct sandbox *sb);
/* The options the guest's next mount of the share takes (a distro's [automount] options). */
void virtio_fs_set_opts(struct virtio_dev *dev, const struct hfs_opts *opts);
/* Waits for the requests in flight, then frees the server. */
void virtio_fs_destroy(struct virtio_dev *dev);

/* --- virtio-rng (5.4) ------------------------------------------------------ */

/* Most bytes given per request: a guest cannot make one notify run long. */
#define VIRTIO_RNG_MAX_REQ (64 * 1024)

/*
 * An entropy device with one queue whose device-writable buffers are
 * filled from getrandom(2), at most VIRTIO_RNG_MAX_REQ bytes per request
 * and 8 requests per queue, on the thread that delivers the notification.
 * A device-readable buffer in the queue is a broken driver (5.4.6.1):
 * needs-reset. Returns 0 and *out, or -errno.
 */
int virtio_rng_create(struct virtio_dev **out, struct guest_mem *gm);
void virtio_rng_destroy(struct virtio_dev *dev);

/* --- virtio-vsock (5.10) ---------------------------------------------------- */

struct vsock_limits;
struct vsock_stats;

#define VIRTIO_VSOCK_DEFAULT_CID 3

/*
 * A virtio socket device for the guest with CID guest_cid (0: the default,
 * 3), the host being CID 2; stream sockets only. Connections are mapped to
 * Unix sockets as Firecracker does (src/vsock/muxer.h has the details):
 * a guest connect to host port P connects to "<uds_prefix>_<P>", and a
 * host client of the socket "<uds_prefix>" (created mode 0600, a stale
 * socket file replaced) writes "CONNECT <port>\n", gets "OK <hostport>\n"
 * once the guest accepted, and then the raw stream. uds_prefix NULL: no
 * host side (guest connects are refused).
 *
 * All socket I/O runs on the event loop `ev`, never blocking; vCPU
 * notifications only move packets between the queues and the muxer. Flow
 * control is credit-based both ways, with a bounded buffer per connection,
 * so a host peer that does not read stalls only its own connection. Every
 * header field the guest sends is checked; bad packets are dropped or
 * answered RST and counted, a chain too short for a header marks the
 * device needs-reset. A device reset closes every connection.
 *
 * Returns 0 and *out, or -errno (-EADDRINUSE: another process listens on
 * uds_prefix; -EEXIST: uds_prefix exists and is not a socket;
 * -ENAMETOOLONG; -EINVAL: bad CID).
 */
int virtio_vsock_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
			uint64_t guest_cid, const char *uds_prefix);
/* The same with other limits than vsock_limits_default()'s (NULL: those). */
int virtio_vsock_create_limits(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
			       uint64_t guest_cid, const char *uds_prefix,
			       const struct vsock_limits *lim);
/* Closes every connection and removes the listening socket file. */
void virtio_vsock_destroy(struct virtio_dev *dev);
/* Counters and current use (struct vsock_stats in vsock/muxer.h). Any thread. */
void virtio_vsock_get_stats(struct virtio_dev *dev, struct vsock_stats *st);

/* --- virtio-net (5.1) ------------------------------------------------------ */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU        3
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16
/* Config space offsets (struct virtio_net_config), little endian. */
#define VIRTIO_NET_CFG_MAC    0  /* u8[6] */
#define VIRTIO_NET_CFG_STATUS 6  /* le16: VIRTIO_NET_S_* */
#define VIRTIO_NET_CFG_MTU    10 /* le16 */
#define VIRTIO_NET_CFG_SIZE   12
#define VIRTIO_NET_S_LINK_UP  1u
#define VIRTIO_NET_MTU        65520

struct virtio_net_stats {
	uint64_t tx_frames, tx_bytes; /* guest -> back end */
	uint64_t rx_frames, rx_bytes; /* back end -> guest */
	uint64_t tx_bad;              /* malformed frames from the guest, dropped */
	uint64_t tx_dropped;          /* frames sent while the back end was gone */
	uint64_t rx_dropped;          /* frames that did not fit the guest's buffers */
	uint64_t backend_losses, reconnects;
	bool link_up;
};
/*
 * A network card whose frames go to and come from the Unix stream socket
 * `backend` (frames prefixed by their 32-bit big-endian length: net/frame.h),
 * with MAC address mac. Socket I/O runs on the event loop `ev` (transmits
 * start on the notifying vCPU and never block). The back end may come and
 * go: while it is not connected the link is down and lxs-vm retries every
 * 200 ms. Returns 0 and *out, or -errno (-ENAMETOOLONG for the path).
 */
int virtio_net_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
		      const char *backend, const uint8_t mac[6]);
void virtio_net_destroy(struct virtio_dev *dev);
void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *st);

#endif
