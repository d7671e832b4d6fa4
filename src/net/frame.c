/*
 * frame.c - see frame.h: the stream framing of frames between lxs-vm and
 * lxs-net, and the checks of the frames a guest transmits.
 */
#include <errno.h>
#include <string.h>

#include "net/frame.h"

uint32_t net_csum_add(uint32_t sum, const uint8_t *data, size_t len)
{
	uint64_t s = sum;
	size_t i = 0;

	/* 16-bit big-endian words; a 64-bit accumulator cannot overflow for 64 KiB. */
	for (; i + 1 < len; i += 2)
		s += (uint32_t)data[i] << 8 | data[i + 1];
	if (i < len)
		s += (uint32_t)data[i] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

int net_tx_check(const struct virtio_net_hdr_v1 *h, uint8_t *frame, size_t len)
{
	if (len < NET_FRAME_MIN || len > NET_FRAME_MAX)
		return -NET_BAD_LEN;
	/* GSO_ECN (0x80) alone on GSO_NONE is meaningless too: any bit is a request. */
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -NET_BAD_GSO;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	size_t start = h->csum_start, field = (size_t)h->csum_start + h->csum_offset;

	if (start >= len || field + 2 > len)
		return -NET_BAD_CSUM;
	/*
	 * The guest left the pseudo-header's sum in the field (CHECKSUM_PARTIAL):
	 * sum from csum_start to the end, field included, and store the result.
	 * One's complement has two zeroes; 0xffff is the one a UDP receiver does
	 * not take for "no checksum", and any verifier accepts both.
	 */
	uint16_t c = net_csum_fold(net_csum_add(0, frame + start, len - start));

	if (c == 0)
		c = 0xffff;
	frame[field] = (uint8_t)(c >> 8);
	frame[field + 1] = (uint8_t)c;
	return 0;
}

int net_stream_next(const uint8_t *buf, size_t have, const uint8_t **frame, size_t *len,
		    size_t *used)
{
	if (have < NET_STREAM_HDR)
		return 0;
	uint32_t n =
	    (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];

	if (n < NET_FRAME_MIN || n > NET_FRAME_MAX)
		return -EPROTO;
	if (have - NET_STREAM_HDR < n)
		return 0;
	*frame = buf + NET_STREAM_HDR;
	*len = n;
	*used = NET_STREAM_HDR + n;
	return 1;
}

void net_stream_prefix(uint8_t out[NET_STREAM_HDR], uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}
