/*
 * packet.h - the virtio-vsock wire format (VIRTIO 1.2, 5.10.6) and the one
 * check every packet from the guest goes through.
 *
 * What this header promises:
 *  - struct vsock_hdr is the header in host byte order; vsock_hdr_decode()
 *    and vsock_hdr_encode() convert from and to the 44 little-endian bytes
 *    at the start of every packet, whatever the alignment of the buffer.
 *  - vsock_pkt_check() looks at every field the guest controls (CIDs,
 *    ports, type, op, len against the bytes its chain really carries and
 *    against VSOCK_MAX_PAYLOAD) and says what is wrong first; it has no
 *    side effects. Fields it does not judge (flags, buf_alloc, fwd_cnt)
 *    are safe for any value: the muxer only uses them in wrapping
 *    arithmetic and clamps what it derives from them.
 *  - Pure functions, no allocation, no I/O: usable from a fuzzer.
 */
#ifndef LXS_VSOCK_PACKET_H
#define LXS_VSOCK_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* Device config space: the guest's CID (5.10.4). */
#define VIRTIO_VSOCK_CFG_GUEST_CID 0 /* le64 */
#define VIRTIO_VSOCK_CFG_SIZE      8

/* Feature bits (5.10.3). */
#define VIRTIO_VSOCK_F_STREAM    0
#define VIRTIO_VSOCK_F_SEQPACKET 1

/* Queues (5.10.2). */
#define VIRTIO_VSOCK_RXQ    0 /* device -> driver packets */
#define VIRTIO_VSOCK_TXQ    1 /* driver -> device packets */
#define VIRTIO_VSOCK_EVENTQ 2

/* Well-known CIDs. */
#define VSOCK_CID_HYPERVISOR 0
#define VSOCK_CID_LOCAL      1
#define VSOCK_CID_HOST       2
/* VMADDR_PORT_ANY: a wildcard in the socket API, never a port on the wire. */
#define VSOCK_PORT_ANY 0xffffffffu

#define VSOCK_TYPE_STREAM    1
#define VSOCK_TYPE_SEQPACKET 2

#define VSOCK_OP_INVALID        0
#define VSOCK_OP_REQUEST        1
#define VSOCK_OP_RESPONSE       2
#define VSOCK_OP_RST            3
#define VSOCK_OP_SHUTDOWN       4
#define VSOCK_OP_RW             5
#define VSOCK_OP_CREDIT_UPDATE  6
#define VSOCK_OP_CREDIT_REQUEST 7

/* SHUTDOWN flags: what the sender will no longer do. */
#define VSOCK_SHUTDOWN_RCV  1u
#define VSOCK_SHUTDOWN_SEND 2u

/* Event queue (5.10.6.7). */
#define VSOCK_EVENT_TRANSPORT_RESET 0

/* Bytes of a header on the wire. */
#define VSOCK_HDR_SIZE 44
/*
 * Largest payload accepted from or sent to the guest: Linux never sends
 * more in one packet (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE), so a bigger len is a
 * broken or hostile driver.
 */
#define VSOCK_MAX_PAYLOAD (64 * 1024)

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

void vsock_hdr_decode(const void *raw, struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, void *raw);

/* What is wrong with a packet from the guest, in the order it is checked. */
enum vsock_bad {
	VSOCK_OK = 0,
	VSOCK_BAD_CID,  /* src_cid is not the guest's or dst_cid not the host's */
	VSOCK_BAD_PORT, /* a port is VSOCK_PORT_ANY */
	VSOCK_BAD_TYPE, /* not VSOCK_TYPE_STREAM */
	VSOCK_BAD_OP,   /* not one of VSOCK_OP_REQUEST..CREDIT_REQUEST */
	VSOCK_BAD_LEN,  /* len above VSOCK_MAX_PAYLOAD or above what the chain holds */
};

/*
 * Check a packet the guest transmitted. chain_payload is the number of bytes
 * its chain carried after the header. Returns VSOCK_OK or the first problem.
 */
enum vsock_bad vsock_pkt_check(const struct vsock_hdr *h, uint64_t guest_cid,
			       uint64_t chain_payload);
/* A short name for a vsock_bad value, for logs and tests. */
const char *vsock_bad_str(enum vsock_bad b);

#endif
