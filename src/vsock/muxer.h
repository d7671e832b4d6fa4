/*
 * muxer.h - the host side of virtio-vsock: guest stream connections mapped
 * to Unix sockets, as Firecracker does it. No KVM and no virtqueues here:
 * the device glue (src/vmm/vsock.c) feeds packets the guest transmitted to
 * vsock_mux_tx() and asks vsock_mux_rx() for packets to put in the guest's
 * receive buffers; a fuzzer or a test can do the same.
 *
 * Connections:
 *  - Guest-initiated: a REQUEST to host port P connects (non-blocking) to the
 *    Unix socket "<prefix>_<P>"; success answers RESPONSE, failure RST.
 *  - Host-initiated: the muxer listens on "<prefix>" (mode 0600; a stale
 *    socket file is replaced, a live one or another file is an error). A
 *    client sends one line "CONNECT <port>\n" (port decimal, 0..2^32-2, at
 *    most VSOCK_LINE_MAX bytes with the newline); the muxer sends a REQUEST
 *    to that guest port from a fresh host port in [2^30, 2^31); when the
 *    guest answers RESPONSE it writes "OK <hostport>\n" to the client, and
 *    from then on the socket carries the raw stream. A bad line, the
 *    guest's RST, or no answer within connect_timeout_ms closes the client.
 *    Bytes the client sends after its line wait in its socket until then.
 *
 * Flow control (5.10.6.3): every packet to the guest carries our buf_alloc
 * (= the limit of the per-connection buffer) and fwd_cnt (bytes written to
 * the host socket). Data from the guest goes straight to the host socket;
 * what it cannot take waits in the connection's buffer, so the guest's
 * credit is exactly what the buffer can still hold, and a guest that
 * exceeds it is reset. A stuck host peer therefore blocks its own
 * connection only. Towards the guest, a host socket is read only when the
 * guest has a receive buffer (vsock_mux_rx) and credit left, never more
 * than its buf_alloc - (tx_cnt - fwd_cnt); without credit the muxer stops
 * watching the socket, sends one CREDIT_REQUEST, and resumes on the
 * guest's next credit information. CREDIT_UPDATE is sent when the guest's
 * view of our free space falls below half of buf_alloc, and on request.
 *
 * Shutdown: SHUTDOWN from the guest maps to shutdown(2) on the host socket
 * (SEND: SHUT_WR once the buffer is flushed; RCV: SHUT_RD and no more
 * reads). Both ways shut: the buffer is flushed (for at most
 * close_timeout_ms), the socket closed and the guest sent RST, which is how
 * Linux expects a close to finish. EOF from the host socket sends SHUTDOWN
 * SEND, plus RCV when the peer is wholly gone; a host peer that resets or
 * cannot be written any more (EPIPE, ECONNRESET) gets the connection RST.
 *
 * Boundary: every packet goes through vsock_pkt_check(). Bad CIDs or ports
 * are dropped; a bad type, op or len is answered RST (and kills the
 * connection it names, whose stream would otherwise be corrupt); packets
 * for unknown connections are answered RST, except RSTs; protocol
 * violations (data before RESPONSE, beyond credit, after SHUTDOWN SEND,
 * unexpected RESPONSE or REQUEST) reset the connection. All counted in
 * struct vsock_stats. No guest value is used as a size or an index without
 * having been checked.
 *
 * Limits: at most max_conns connections (pending CONNECT clients
 * included) and max_buffered bytes of buffers in all; a connection beyond
 * either is refused (RST, or the client closed).
 *
 * Event loop: the muxer never blocks. It tells its owner which of its file
 * descriptors to watch through the `watch` callback, and the owner calls
 * vsock_mux_ready() when one is ready. Not thread-safe: the owner
 * serialises every call (the device lock) and must tolerate a watch call
 * from inside any vsock_mux_* function. A stale readiness report for an fd
 * the muxer no longer uses, or that was reused, is harmless.
 */
#ifndef LXS_VSOCK_MUXER_H
#define LXS_VSOCK_MUXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsock/packet.h"

/* Longest CONNECT line, newline included. */
#define VSOCK_LINE_MAX 32
/* Host ports of host-initiated connections come from [MIN, MAX). */
#define VSOCK_EPHEMERAL_MIN 0x40000000u
#define VSOCK_EPHEMERAL_MAX 0x80000000u

struct vsock_limits {
	uint32_t buf_alloc;          /* per-connection buffer, advertised to the guest */
	unsigned max_conns;          /* connections of any kind, pending clients included */
	size_t max_buffered;         /* bytes of buffers over all connections */
	unsigned connect_timeout_ms; /* CONNECT line plus the guest's RESPONSE */
	unsigned close_timeout_ms;   /* flushing to the host after the guest closed */
};

/* The defaults lxs-vm uses. */
void vsock_limits_default(struct vsock_limits *lim);

/* Counters for the VMM's status and for tests. */
struct vsock_stats {
	uint64_t tx_packets; /* packets the guest sent, good or bad */
	uint64_t rx_packets; /* packets given to the guest */
	uint64_t dropped;    /* guest packets rejected by vsock_pkt_check() */
	uint64_t bad_cid, bad_port, bad_type, bad_op, bad_len; /* ... by reason */
	uint64_t protocol; /* connections reset for breaking the protocol or credit */
	uint64_t rst_sent; /* RSTs given to the guest */
	uint64_t rst_lost; /* RSTs dropped because the queue was full */
	uint64_t refused;  /* connections refused by a limit */
	unsigned conns;    /* connections open now */
	size_t buffered;   /* bytes allocated for buffers now */
};

/*
 * Watch fd for `events` (EPOLLIN/EPOLLOUT; 0: stop watching) instead of
 * old_events (0: not watched yet). Returns 0 or -errno; on error the fd is
 * taken to be watched as before.
 */
typedef int (*vsock_watch_fn)(void *opaque, int fd, uint32_t old_events, uint32_t events);

struct vsock_mux;

/*
 * A muxer for the guest with CID guest_cid (3 .. 2^32-2). uds_prefix NULL:
 * no host side at all (every guest connection is refused); otherwise its
 * length must leave room for "_<port>" in a sun_path. lim NULL: defaults.
 * Returns 0 and *out, or -EINVAL, -ENAMETOOLONG, -EADDRINUSE (another
 * process listens on uds_prefix), -EEXIST (uds_prefix is not a socket),
 * -ENOMEM, or the error of socket/bind/listen/timerfd or of watch.
 */
int vsock_mux_create(struct vsock_mux **out, uint64_t guest_cid, const char *uds_prefix,
		     const struct vsock_limits *lim, vsock_watch_fn watch, void *opaque);
/* Close every connection and the listener, remove the listener's socket file. */
void vsock_mux_destroy(struct vsock_mux *m);
/*
 * The guest's driver is gone (device reset): close every connection without
 * telling the guest, forget queued packets. The listener stays.
 */
void vsock_mux_reset(struct vsock_mux *m);

/*
 * A packet the guest transmitted. chain_payload is how many bytes followed
 * the header in its chain; payload holds at least the first
 * min(chain_payload, h->len, VSOCK_MAX_PAYLOAD) of them.
 */
void vsock_mux_tx(struct vsock_mux *m, const struct vsock_hdr *h, const void *payload,
		  uint64_t chain_payload);
/*
 * Whether the muxer has room to queue the answers of more tx packets. When
 * it says no, the owner leaves the guest's tx queue alone until rx has
 * moved, so that a guest without receive buffers cannot make it drop RSTs.
 */
bool vsock_mux_tx_ready(const struct vsock_mux *m);

/* Whether vsock_mux_rx() may have a packet. */
bool vsock_mux_has_rx(const struct vsock_mux *m);
/*
 * Produce the next packet for the guest: fills *h (h->len = payload bytes)
 * and buf with at most cap bytes of payload (cap <= VSOCK_MAX_PAYLOAD is
 * enforced). Returns 1, or 0 if there is nothing to send now.
 */
int vsock_mux_rx(struct vsock_mux *m, struct vsock_hdr *h, void *buf, size_t cap);

/* fd, which the muxer asked to watch, reported `events` (EPOLL*). */
void vsock_mux_ready(struct vsock_mux *m, int fd, uint32_t events);

void vsock_mux_stats(const struct vsock_mux *m, struct vsock_stats *st);

/*
 * Log (as warnings) every connection's state and credit counters: what a
 * stalled stream waits for. For lxs-vm's SIGQUIT dump.
 */
void vsock_mux_dump(const struct vsock_mux *m);

/*
 * Parse a CONNECT line of len bytes without its newline. Returns 0 and
 * *port, or -EINVAL. Exposed for tests.
 */
int vsock_parse_connect(const char *line, size_t len, uint32_t *port);

#endif
