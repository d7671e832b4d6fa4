/*
 * msg.c - what lxs-fwd reads from the guest, checked, and the set of
 * forwarded ports: pure functions on buffers, no sockets, so that the unit
 * tests and the fuzzer reach every branch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#include "fwd.h"
#include "vsock/muxer.h"

int fwd_check_hello(const struct lxs_msg_hdr *h, const uint8_t *payload)
{
	struct lxs_hello hello;

	if (h->type != LXS_MSG_HELLO || h->len != sizeof(hello))
		return -EPROTO;
	memcpy(&hello, payload, sizeof(hello));
	if (hello.magic != LXS_SESSION_MAGIC || hello.version != LXS_PROTO_VERSION)
		return -EPROTO;
	return 0;
}

int fwd_check_report(const struct lxs_msg_hdr *h, const uint8_t *payload, struct lxs_fwd *out)
{
	struct lxs_fwd m;

	if ((h->type != LXS_MSG_FWD_ADD && h->type != LXS_MSG_FWD_DEL) || h->len != sizeof(m) ||
	    h->stream != 0)
		return -EPROTO;
	memcpy(&m, payload, sizeof(m));
	if (m.port == 0 || m.families == 0 || (m.families & ~LXS_FWD_FAMILIES) || m.pad)
		return -EPROTO;
	*out = m;
	return 0;
}

int fwd_ports_apply(struct fwd_ports *s, uint16_t type, const struct lxs_fwd *m,
		    struct fwd_port **entry)
{
	struct fwd_port *e = s->by_port[m->port];

	*entry = NULL;
	if (type == LXS_MSG_FWD_DEL) {
		if (!e)
			return FWD_NONE;
		s->by_port[m->port] = NULL;
		s->count--;
		*entry = e;
		return FWD_CLOSE;
	}
	if (type != LXS_MSG_FWD_ADD)
		return -EPROTO;
	if (e) {
		e->families = m->families;
		*entry = e;
		return FWD_UPDATE;
	}
	if (s->count >= s->max)
		return -ENOSPC;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->port = m->port;
	e->families = m->families;
	e->fd4 = e->fd6 = -1;
	s->by_port[m->port] = e;
	s->count++;
	*entry = e;
	return FWD_OPEN;
}

/* "OK <digits>\n" at p: its length, 0 if incomplete, -EPROTO if malformed. */
static long parse_ok_line(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < VSOCK_LINE_MAX; i++) {
		if (p[i] == '\n')
			break;
		if (i < 3 ? p[i] != "OK "[i] : (p[i] < '0' || p[i] > '9'))
			return -EPROTO;
	}
	if (i == len)
		return len >= VSOCK_LINE_MAX ? -EPROTO : 0;
	if (i >= VSOCK_LINE_MAX || i < 4)
		return -EPROTO;
	return (long)i + 1;
}

int fwd_handshake_parse(const uint8_t *p, size_t len, size_t *used, char *err, size_t errlen)
{
	struct lxs_msg_hdr h;
	long line = parse_ok_line(p, len);
	size_t off;

	if (errlen)
		err[0] = 0;
	if (line <= 0)
		return (int)line;
	off = (size_t)line;
	/* HELLO */
	if (len - off < WIRE_HDR)
		return 0;
	memcpy(&h, p + off, WIRE_HDR);
	if (h.type != LXS_MSG_HELLO || h.len != sizeof(struct lxs_hello) || h.stream)
		return -EPROTO;
	if (len - off - WIRE_HDR < h.len)
		return 0;
	if (fwd_check_hello(&h, p + off + WIRE_HDR) < 0)
		return -EPROTO;
	off += WIRE_HDR + h.len;
	/* OK or ERROR */
	if (len - off < WIRE_HDR)
		return 0;
	memcpy(&h, p + off, WIRE_HDR);
	if (h.stream)
		return -EPROTO;
	if (h.type == LXS_MSG_OK) {
		if (h.len)
			return -EPROTO;
		*used = off + WIRE_HDR;
		return 1;
	}
	if (h.type != LXS_MSG_ERROR || h.len < sizeof(struct lxs_error) ||
	    h.len > sizeof(struct lxs_error) + FWD_ERROR_TEXT_MAX)
		return -EPROTO;
	if (len - off - WIRE_HDR < h.len)
		return 0;
	struct lxs_error e;
	memcpy(&e, p + off + WIRE_HDR, sizeof(e));
	if (e.err <= 0 || e.err >= 4096)
		return -EPROTO;
	if (errlen) {
		const uint8_t *t = p + off + WIRE_HDR + sizeof(e);
		size_t n = h.len - sizeof(e), k = 0;

		/* The text goes into a log line: printable ASCII only. */
		for (size_t i = 0; i < n && k + 1 < errlen; i++)
			err[k++] = t[i] >= 0x20 && t[i] < 0x7f ? (char)t[i] : '?';
		err[k] = 0;
	}
	*used = off + WIRE_HDR + h.len;
	return -e.err;
}

int fwd_handshake_request(uint8_t *out, size_t cap, uint16_t port, uint8_t family)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", LXS_VSOCK_PORT_RELAY);
	struct lxs_msg_hdr h1 = {.len = sizeof(struct lxs_hello), .type = LXS_MSG_HELLO};
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	struct lxs_msg_hdr h2 = {.len = sizeof(struct lxs_fwd), .type = LXS_MSG_FWD_CONNECT};
	struct lxs_fwd m = {.port = port, .families = family};
	size_t need = (size_t)n + 2 * WIRE_HDR + sizeof(hello) + sizeof(m), off = (size_t)n;

	if (need > cap)
		return -ENOSPC;
	memcpy(out, line, (size_t)n);
	memcpy(out + off, &h1, WIRE_HDR);
	memcpy(out + off + WIRE_HDR, &hello, sizeof(hello));
	off += WIRE_HDR + sizeof(hello);
	memcpy(out + off, &h2, WIRE_HDR);
	memcpy(out + off + WIRE_HDR, &m, sizeof(m));
	return (int)need;
}
