// fuzz-link: src/fwd/msg.c src/guest/diag.c src/common/wire.c src/common/log.c
/*
 * fuzz_fwd.c - libFuzzer target for what localhost forwarding reads from
 * the guest on the host (src/fwd/msg.c over src/common/wire.c), and for the
 * guest's own inet_diag reader (src/guest/diag.c), which reads what the
 * kernel says. No sockets: lxs-fwd's port listeners would bind real host
 * ports; the event loop around these functions is tests/unit/test_fwd.c's.
 *
 * Input: a mode byte, then the bytes.
 *   mode % 3
 *     0  the report stream as lxs-fwd reads it: framed by wire_next (in
 *        chunks of the size lxs-fwd's buffer takes), HELLO first, then
 *        fwd_check_report + fwd_ports_apply on a set capped at 64 ports;
 *        the stream ends at the first message lxs-fwd would drop it for
 *     1  fwd_handshake_parse on the relay's answer, at every length
 *     2  diag_parse on one netlink datagram
 * Checked with abort() besides crashes and sanitizer reports: the set's
 * count matches its entries and each entry sits at its own port, never more
 * than the cap; the handshake parser returns 1, 0, -EPROTO or an errno in
 * 1..4095, never uses more bytes than it has, gives printable text, and
 * never goes back from "done" to "more" as bytes are added; diag_parse
 * returns 1, 0 or -errno, and marks only port 1..65535 with known bits.
 * With LXS_FUZZ_SEED_DIR set to an empty directory, seeds are written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#define FUZZ_NAME "fuzz_fwd"
#include "fuzz_util.h"
#include "fwd/fwd.h"
#include "guest/diag.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SET_MAX  64
#define RX_CHUNK (WIRE_HDR + LXS_MSG_MAX)

static struct fwd_ports set;
static struct diag_set dset;

static void set_check_and_clear(void)
{
	unsigned n = 0;

	for (unsigned p = 0; p < 65536; p++) {
		struct fwd_port *e = set.by_port[p];

		if (!e)
			continue;
		CHECK(p != 0 && e->port == p && e->fd4 == -1 && e->fd6 == -1);
		CHECK(e->families && !(e->families & ~LXS_FWD_FAMILIES));
		n++;
		free(e);
		set.by_port[p] = NULL;
	}
	CHECK(n == set.count && n <= SET_MAX);
	set.count = 0;
}

static void report_stream(const uint8_t *p, size_t n)
{
	struct wire w;
	bool hello = false;
	size_t off = 0;

	set.max = SET_MAX;
	if (wire_init(&w, -1) < 0)
		return;
	for (;;) {
		/* What one read of lxs-fwd's takes: whatever fits its buffer. */
		size_t room = 2 * RX_CHUNK - w.rx_have, k = n - off < room ? n - off : room;
		struct lxs_msg_hdr h;
		const uint8_t *pl;
		int r;

		memcpy(w.rx + w.rx_have, p + off, k);
		w.rx_have += k;
		off += k;
		while ((r = wire_next(&w, &h, &pl)) == 1) {
			struct lxs_fwd m;
			struct fwd_port *e;

			CHECK(h.len <= LXS_MSG_MAX && h.len + WIRE_HDR <= w.rx_have);
			if (!hello) {
				if (fwd_check_hello(&h, pl) < 0)
					goto out;
				hello = true;
			} else {
				if (fwd_check_report(&h, pl, &m) < 0)
					goto out;
				CHECK(m.port && m.families && !(m.families & ~LXS_FWD_FAMILIES));
				int ret = fwd_ports_apply(&set, h.type, &m, &e);
				CHECK(ret == FWD_OPEN || ret == FWD_UPDATE || ret == FWD_CLOSE ||
				      ret == FWD_NONE || ret == -ENOSPC);
				CHECK((e != NULL) == (ret > FWD_NONE));
				if (ret == FWD_CLOSE) {
					CHECK(e->port == m.port && !set.by_port[m.port]);
					free(e);
				} else if (e) {
					CHECK(set.by_port[m.port] == e &&
					      e->families == m.families);
				}
				CHECK(set.count <= SET_MAX);
			}
			wire_consume(&w);
		}
		if (r < 0 || off == n)
			break;
	}
out:
	wire_fini(&w);
	set_check_and_clear();
}

static void handshake(const uint8_t *p, size_t n)
{
	char err[64];
	int prev = 0;

	for (size_t k = 0; k <= n; k++) {
		size_t used = (size_t)-1;
		int r = fwd_handshake_parse(p, k, &used, err, sizeof(err));

		CHECK(r == 1 || r == 0 || r == -EPROTO || (r < 0 && r > -4096));
		CHECK(memchr(err, 0, sizeof(err)) != NULL);
		for (const char *c = err; *c; c++)
			CHECK(*c >= 0x20 && *c < 0x7f);
		if (r == 1 || (r < 0 && r != -EPROTO))
			CHECK(used <= k);
		/* Once decided, more bytes change nothing. */
		if (prev != 0)
			CHECK(r == prev);
		prev = r;
		/* Every length is checked for short inputs; long ones only at the end. */
		if (k == 64 && n > 128)
			k = n - 1;
	}
}

static void diag(const uint8_t *p, size_t n)
{
	int r;

	memset(&dset, 0, sizeof(dset));
	r = diag_parse(p, n, &dset);
	CHECK(r == 1 || r == 0 || (r < 0 && r > -4096));
	CHECK(dset.fam[0] == 0);
	for (unsigned i = 0; i < 65536; i++)
		CHECK(!(dset.fam[i] & ~LXS_FWD_FAMILIES));
}

static void seeds(void)
{
	const char *dir = fz_seed_dir();
	uint8_t b[256];
	size_t n = 0;

	if (!dir)
		return;
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	struct lxs_msg_hdr h = {.len = sizeof(hello), .type = LXS_MSG_HELLO};
	b[n++] = 0;
	memcpy(b + n, &h, 8), memcpy(b + n + 8, &hello, 8), n += 16;
	for (int i = 0; i < 4; i++) {
		struct lxs_fwd m = {.port = (uint16_t)(8000 + i % 2),
				    .families = (uint8_t)(1 + i % 3)};

		h = (struct lxs_msg_hdr){.len = 4,
					 .type = i == 3 ? LXS_MSG_FWD_DEL : LXS_MSG_FWD_ADD};
		memcpy(b + n, &h, 8), memcpy(b + n + 8, &m, 4), n += 12;
	}
	fz_write_seed(dir, "report", b, n);
	/* The relay's answers: OK, then ERROR. */
	n = 0;
	b[n++] = 1;
	memcpy(b + n, "OK 1073741824\n", 14), n += 14;
	h = (struct lxs_msg_hdr){.len = sizeof(hello), .type = LXS_MSG_HELLO};
	memcpy(b + n, &h, 8), memcpy(b + n + 8, &hello, 8), n += 16;
	size_t at = n;
	h = (struct lxs_msg_hdr){.len = 0, .type = LXS_MSG_OK};
	memcpy(b + n, &h, 8), n += 8;
	memcpy(b + n, "data", 4), n += 4;
	fz_write_seed(dir, "handshake-ok", b, n);
	int32_t e = ECONNREFUSED;
	h = (struct lxs_msg_hdr){.len = 4 + 7, .type = LXS_MSG_ERROR};
	n = at;
	memcpy(b + n, &h, 8), memcpy(b + n + 8, &e, 4), memcpy(b + n + 12, "refused", 7), n += 19;
	fz_write_seed(dir, "handshake-error", b, n);
	/* A datagram with two listeners and DONE. */
	n = 0;
	b[n++] = 2;
	for (int i = 0; i < 2; i++) {
		struct diag_nlmsg nh = {.len = sizeof(nh) + sizeof(struct diag_msg),
					.type = DIAG_SOCK_DIAG_BY_FAMILY};
		struct diag_msg dm = {.family = i ? 10 : 2, .state = DIAG_TCP_LISTEN};

		dm.id.sport = (uint16_t)(0x5000 + i);
		memcpy(b + n, &nh, sizeof(nh)), memcpy(b + n + sizeof(nh), &dm, sizeof(dm));
		n += nh.len;
	}
	struct diag_nlmsg done = {.len = 20, .type = DIAG_NLMSG_DONE};
	memcpy(b + n, &done, sizeof(done)), memset(b + n + 16, 0, 4), n += 20;
	fz_write_seed(dir, "diag", b, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	seeds();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		report_stream(data + 1, size - 1);
		break;
	case 1:
		handshake(data + 1, size - 1);
		break;
	default:
		diag(data + 1, size - 1);
		break;
	}
	return 0;
}
