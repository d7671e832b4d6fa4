/*
 * packet.c - the virtio-vsock header: decoding, encoding and the boundary
 * check. See packet.h.
 */
#include "vsock/packet.h"

#include <string.h>
#include "common/le.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the vsock wire format is little endian, and so are the hosts lxs-vm runs on"
#endif

/* memcpy: the header sits at any offset of a guest buffer or a flat copy. */
void vsock_hdr_decode(const void *raw, struct vsock_hdr *h)
{
	const uint8_t *p = raw;

	h->src_cid = le_get64(p + 0);
	h->dst_cid = le_get64(p + 8);
	h->src_port = le_get32(p + 16);
	h->dst_port = le_get32(p + 20);
	h->len = le_get32(p + 24);
	h->type = le_get16(p + 28);
	h->op = le_get16(p + 30);
	h->flags = le_get32(p + 32);
	h->buf_alloc = le_get32(p + 36);
	h->fwd_cnt = le_get32(p + 40);
}

void vsock_hdr_encode(const struct vsock_hdr *h, void *raw)
{
	uint8_t *p = raw;

	le_put64(p + 0, h->src_cid);
	le_put64(p + 8, h->dst_cid);
	le_put32(p + 16, h->src_port);
	le_put32(p + 20, h->dst_port);
	le_put32(p + 24, h->len);
	le_put16(p + 28, h->type);
	le_put16(p + 30, h->op);
	le_put32(p + 32, h->flags);
	le_put32(p + 36, h->buf_alloc);
	le_put32(p + 40, h->fwd_cnt);
}

enum vsock_bad vsock_pkt_check(const struct vsock_hdr *h, uint64_t guest_cid,
			       uint64_t chain_payload)
{
	/* A guest may only speak as itself and only to us: no spoofing, no relaying. */
	if (h->src_cid != guest_cid || h->dst_cid != VSOCK_CID_HOST)
		return VSOCK_BAD_CID;
	if (h->src_port == VSOCK_PORT_ANY || h->dst_port == VSOCK_PORT_ANY)
		return VSOCK_BAD_PORT;
	if (h->type != VSOCK_TYPE_STREAM)
		return VSOCK_BAD_TYPE;
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		return VSOCK_BAD_OP;
	if (h->len > VSOCK_MAX_PAYLOAD || h->len > chain_payload)
		return VSOCK_BAD_LEN;
	return VSOCK_OK;
}

const char *vsock_bad_str(enum vsock_bad b)
{
	switch (b) {
	case VSOCK_OK:
		return "ok";
	case VSOCK_BAD_CID:
		return "bad cid";
	case VSOCK_BAD_PORT:
		return "bad port";
	case VSOCK_BAD_TYPE:
		return "unsupported type";
	case VSOCK_BAD_OP:
		return "unknown op";
	case VSOCK_BAD_LEN:
		return "bad len";
	}
	return "?";
}
