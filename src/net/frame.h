/*
 * frame.h - Ethernet frames between lxs-vm's virtio-net device and the
 * user-mode NAT (lxs-net): the stream framing both speak over a Unix socket
 * (QEMU's "-netdev stream" format, which passt speaks too: a 32-bit
 * big-endian length, then the frame), and the checks and checksum completion
 * of a frame the guest transmits. Pure functions on buffers, no I/O: the
 * device, lxs-net, the unit tests and the fuzzer share them.
 */
#ifndef LXS_NET_FRAME_H
#define LXS_NET_FRAME_H
#include <stddef.h>
#include <stdint.h>

/* An Ethernet header, and the biggest frame: the 65520-byte MTU, a header, a VLAN tag. */
#define NET_FRAME_MIN 14u
#define NET_FRAME_MAX (65520u + 14u + 4u)
/* Bytes of the stream's length prefix. */
#define NET_STREAM_HDR 4u

/*
 * The virtio-net header (VIRTIO 1.2 5.1.6) in front of every frame on the
 * queues; with VIRTIO_F_VERSION_1 it always has num_buffers. Little endian.
 */
struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE     0u

/* Why a transmitted frame was dropped (net_tx_check's negative results). */
enum net_bad {
	NET_BAD_LEN = 1, /* shorter than an Ethernet header or longer than NET_FRAME_MAX */
	NET_BAD_GSO,     /* a segmentation request: the device offers none */
	NET_BAD_CSUM,    /* NEEDS_CSUM with a start or offset outside the frame */
};

/*
 * Check a frame of len bytes the guest sent with header h and, when h asks
 * for it (NEEDS_CSUM), complete its checksum in place: frame must be the
 * host's own copy. Returns 0, or -NET_BAD_* (the frame is to be dropped).
 */
int net_tx_check(const struct virtio_net_hdr_v1 *h, uint8_t *frame, size_t len);

/*
 * The next frame of a stream buffer: 1 with *frame and *len set and *used
 * the bytes it took (prefix included), 0 when buf holds no whole frame yet,
 * -EPROTO when the length is below NET_FRAME_MIN or above NET_FRAME_MAX
 * (the peer is broken: drop the connection).
 */
int net_stream_next(const uint8_t *buf, size_t have, const uint8_t **frame, size_t *len,
		    size_t *used);

/* Write the stream prefix of a len-byte frame. */
void net_stream_prefix(uint8_t out[NET_STREAM_HDR], uint32_t len);

/* The Internet checksum's one's-complement sum of data, added to sum (not folded). */
uint32_t net_csum_add(uint32_t sum, const uint8_t *data, size_t len);
/* Fold a sum to 16 bits and complement it, as a checksum field holds it. */
uint16_t net_csum_fold(uint32_t sum);
#endif
