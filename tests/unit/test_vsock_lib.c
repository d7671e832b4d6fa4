/*
 * test_vsock_lib.c - the pieces of src/vsock/ that need no sockets: the
 * wire format and its boundary check (packet.c), the CONNECT line parser
 * (muxer.c), the connection table (connmap.c) and the bounded byte buffer
 * (bytebuf.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vsock/bytebuf.h"
#include "vsock/connmap.h"
#include "vsock/muxer.h"
#include "vsock/packet.h"

/* The byte layout of 5.10.6, written out by hand, at an odd offset. */
static void t_hdr_layout(struct unit *u)
{
	static const uint8_t want[VSOCK_HDR_SIZE] = {
	    0x03, 0,    0,    0,    0, 0, 0, 0x80, /* src_cid */
	    0x02, 0,    0,    0,    0, 0, 0, 0,    /* dst_cid */
	    0x78, 0x56, 0x34, 0x12,                /* src_port */
	    0xd2, 0x04, 0,    0,                   /* dst_port 1234 */
	    0x00, 0x00, 0x01, 0x00,                /* len 65536 */
	    0x01, 0x00,                            /* type */
	    0x05, 0x00,                            /* op */
	    0x03, 0,    0,    0,                   /* flags */
	    0x00, 0x00, 0x04, 0x00,                /* buf_alloc 256 KiB */
	    0xff, 0xff, 0xff, 0xff,                /* fwd_cnt */
	};
	struct vsock_hdr h =
			     {
				 .src_cid = 0x8000000000000003ULL,
				 .dst_cid = 2,
				 .src_port = 0x12345678,
				 .dst_port = 1234,
				 .len = 65536,
				 .type = VSOCK_TYPE_STREAM,
				 .op = VSOCK_OP_RW,
				 .flags = 3,
				 .buf_alloc = 256 * 1024,
				 .fwd_cnt = 0xffffffffu,
			     },
			 back;
	uint8_t buf[VSOCK_HDR_SIZE + 1];

	vsock_hdr_encode(&h, buf + 1);
	CHECK(u, !memcmp(buf + 1, want, sizeof(want)));
	vsock_hdr_decode(want, &back);
	CHECK(u, !memcmp(&back, &h, sizeof(h)));
}

static struct vsock_hdr good(void)
{
	struct vsock_hdr h = {
	    .src_cid = 3,
	    .dst_cid = VSOCK_CID_HOST,
	    .src_port = 1000,
	    .dst_port = 22,
	    .len = 10,
	    .type = VSOCK_TYPE_STREAM,
	    .op = VSOCK_OP_RW,
	};
	return h;
}

static void t_pkt_check(struct unit *u)
{
	struct vsock_hdr h = good();

	CHECK(u, vsock_pkt_check(&h, 3, 10) == VSOCK_OK);
	CHECK(u, vsock_pkt_check(&h, 3, 1000) == VSOCK_OK); /* trailing chain bytes are fine */
	CHECK(u, vsock_pkt_check(&h, 3, 9) == VSOCK_BAD_LEN);
	CHECK(u, vsock_pkt_check(&h, 4, 10) == VSOCK_BAD_CID);
	h.src_cid = 3 | (1ULL << 40);
	CHECK(u, vsock_pkt_check(&h, 3, 10) == VSOCK_BAD_CID);
	h = good();
	h.dst_cid = 3;
	CHECK(u, vsock_pkt_check(&h, 3, 10) == VSOCK_BAD_CID);
	h = good();
	h.dst_port = VSOCK_PORT_ANY;
	CHECK(u, vsock_pkt_check(&h, 3, 10) == VSOCK_BAD_PORT);
	h = good();
	h.src_port = VSOCK_PORT_ANY;
	CHECK(u, vsock_pkt_check(&h, 3, 10) == VSOCK_BAD_PORT);
	h = good();
	h.type = VSOCK_TYPE_SEQPACKET;
	CHECK(u, vsock_pkt_check(&h, 3, 10) == VSOCK_BAD_TYPE);
	for (unsigned op = 0; op < 0x10000; op++) {
		h = good();
		h.op = (uint16_t)op;
		CHECK(u, (vsock_pkt_check(&h, 3, 10) == VSOCK_OK) ==
			     (op >= VSOCK_OP_REQUEST && op <= VSOCK_OP_CREDIT_REQUEST));
	}
	h = good();
	h.len = VSOCK_MAX_PAYLOAD;
	CHECK(u, vsock_pkt_check(&h, 3, 1ULL << 32) == VSOCK_OK);
	h.len = VSOCK_MAX_PAYLOAD + 1;
	CHECK(u, vsock_pkt_check(&h, 3, 1ULL << 32) == VSOCK_BAD_LEN);
	h.len = 0xffffffffu;
	CHECK(u, vsock_pkt_check(&h, 3, 1ULL << 32) == VSOCK_BAD_LEN);
	CHECK(u, !strcmp(vsock_bad_str(VSOCK_BAD_LEN), "bad len"));
}

static void t_parse_connect(struct unit *u)
{
	static const struct {
		const char *line;
		int ok;
		uint32_t port;
	} cases[] = {
	    {"CONNECT 0", 1, 0},
	    {"CONNECT 52", 1, 52},
	    {"CONNECT 0000000052", 1, 52},
	    {"CONNECT 4294967294", 1, 4294967294u},
	    {"CONNECT 4294967295", 0, 0}, /* VMADDR_PORT_ANY */
	    {"CONNECT 4294967296", 0, 0},
	    {"CONNECT 99999999999", 0, 0},
	    {"CONNECT 00000000052", 0, 0}, /* more digits than fit */
	    {"CONNECT ", 0, 0},
	    {"CONNECT", 0, 0},
	    {"CONNECT  5", 0, 0},
	    {"CONNECT 5 ", 0, 0},
	    {"CONNECT 5\r", 0, 0},
	    {"CONNECT -5", 0, 0},
	    {"CONNECT +5", 0, 0},
	    {"CONNECT 0x10", 0, 0},
	    {"connect 5", 0, 0},
	    {"CONNECTX5", 0, 0},
	    {"", 0, 0},
	};
	uint32_t port;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		port = 12345;
		int r = vsock_parse_connect(cases[i].line, strlen(cases[i].line), &port);

		if (cases[i].ok)
			CHECK(u, r == 0 && port == cases[i].port);
		else
			CHECK(u, r == -EINVAL && port == 12345);
	}
	/* Only len bytes count: no reading past them, no NUL needed. */
	CHECK(u, vsock_parse_connect("CONNECT 123456", 10, &port) == 0 && port == 12);
}

struct item {
	struct vsock_map_node node;
	uint32_t local, peer;
};

static void t_connmap(struct unit *u)
{
	enum { N = 5000 };
	static struct item it[N];
	struct vsock_map m;
	struct vsock_map_node *n;
	size_t longest = 0;
	int found = 0;

	CHECK(u, vsock_map_init(&m, 0x1234) == 0);
	for (int i = 0; i < N; i++) {
		/* Keys differing in one half only: the worst case for a weak hash. */
		it[i].local = i % 2 ? 1234 : (uint32_t)i;
		it[i].peer = i % 2 ? (uint32_t)i << 16 : 7;
		CHECK(u, vsock_map_insert(&m, &it[i].node,
					  vsock_map_key(it[i].local, it[i].peer)) == 0);
	}
	CHECK(u, m.count == N && m.nbuckets >= N);
	CHECK(u, vsock_map_insert(&m, &(struct item){0}.node,
				  vsock_map_key(it[9].local, it[9].peer)) == -EEXIST);
	for (size_t b = 0; b < m.nbuckets; b++) {
		size_t len = 0;

		for (n = m.buckets[b]; n; n = n->next)
			len++;
		if (len > longest)
			longest = len;
	}
	CHECK(u, longest < 12);
	for (int i = 0; i < N; i++)
		found += vsock_map_find(&m, vsock_map_key(it[i].local, it[i].peer)) == &it[i].node;
	CHECK(u, found == N);
	for (int i = 0; i < N; i += 2)
		vsock_map_remove(&m, &it[i].node);
	CHECK(u, m.count == N / 2);
	found = 0;
	for (int i = 0; i < N; i++)
		found += vsock_map_find(&m, vsock_map_key(it[i].local, it[i].peer)) != NULL;
	CHECK(u, found == N / 2);
	CHECK(u, !vsock_map_find(&m, vsock_map_key(1, 2)));
	vsock_map_fini(&m);
}

static void t_bytebuf(struct unit *u)
{
	static uint8_t data[100000];
	struct vsock_buf a, b;
	size_t acct = 0, out = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + i / 977);
	vsock_buf_init(&a, 65536);
	vsock_buf_init(&b, 65536);
	CHECK(u, vsock_buf_append(&a, data, 0, &acct, 100000) == 0 && a.cap == 0);
	/* Contents survive growth and compaction, in order. */
	for (size_t in = 0; in < 60000;) {
		size_t n = 1 + (in * 7) % 5000;

		if (n > 60000 - in)
			n = 60000 - in;
		CHECK(u, vsock_buf_append(&a, data + in, n, &acct, 100000) == 0);
		in += n;
		if (a.len > 20000) {
			size_t k = a.len / 3;

			CHECK(u, !memcmp(vsock_buf_peek(&a), data + out, k));
			vsock_buf_consume(&a, k, &acct);
			out += k;
		}
		CHECK(u, a.cap <= 65536 && acct == a.cap);
	}
	CHECK(u, !memcmp(vsock_buf_peek(&a), data + out, a.len));
	/* The per-buffer limit. */
	CHECK(u, vsock_buf_append(&a, data, 65536 - a.len + 1, &acct, 1 << 20) == -ENOBUFS);
	CHECK(u, vsock_buf_append(&a, data, 65536 - a.len, &acct, 1 << 20) == 0 && a.len == 65536);
	/* The shared limit: b may not grow past what a left. */
	CHECK(u, vsock_buf_append(&b, data, 40000, &acct, 100000) == -ENOBUFS && b.cap == 0);
	CHECK(u, vsock_buf_append(&b, data, 30000, &acct, 100000) == 0);
	CHECK(u, acct == a.cap + b.cap && acct <= 100000);
	/* Emptying frees everything. */
	vsock_buf_consume(&a, a.len, &acct);
	CHECK(u, a.cap == 0 && a.data == NULL);
	vsock_buf_clear(&b, &acct);
	CHECK(u, acct == 0);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_hdr_layout);
	RUN(&u, t_pkt_check);
	RUN(&u, t_parse_connect);
	RUN(&u, t_connmap);
	RUN(&u, t_bytebuf);
	return unit_done(&u);
}
