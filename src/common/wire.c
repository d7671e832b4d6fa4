/*
 * wire.c - the frames of proto.h over a stream socket (wire.h): whole,
 * checked messages in, bounded queues out, string tables both ways, and
 * the HELLO and ERROR every conversation uses. No policy: what a message
 * means is its reader's business.
 */
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RX_CAP (2 * (WIRE_HDR + LXS_MSG_MAX))

int wire_init(struct wire *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->rx = malloc(RX_CAP);
	return w->rx ? 0 : -ENOMEM;
}

void wire_fini(struct wire *w)
{
	free(w->rx);
	free(w->tx);
	w->rx = w->tx = NULL;
}

int wire_queue(struct wire *w, uint16_t type, uint16_t stream, const void *a, size_t alen,
	       const void *b, size_t blen)
{
	struct lxs_msg_hdr h = {.len = (uint32_t)(alen + blen), .type = type, .stream = stream};
	size_t need = WIRE_HDR + alen + blen;

	if (alen + blen > LXS_MSG_MAX)
		return -EMSGSIZE;
	/* Reclaim what has been written before growing. */
	if (w->tx_off && w->tx_off == w->tx_len)
		w->tx_off = w->tx_len = 0;
	/* The bound is on bytes waiting, whatever the buffer's capacity. */
	if (w->tx_len - w->tx_off + need > WIRE_TX_MAX)
		return -ENOBUFS;
	if (w->tx_len + need > w->tx_cap) {
		if (w->tx_off) {
			memmove(w->tx, w->tx + w->tx_off, w->tx_len - w->tx_off);
			w->tx_len -= w->tx_off;
			w->tx_off = 0;
		}
		if (w->tx_len + need > w->tx_cap) {
			size_t cap = w->tx_cap ? w->tx_cap * 2 : 65536;

			while (cap < w->tx_len + need)
				cap *= 2;
			uint8_t *n = realloc(w->tx, cap);
			if (!n)
				return -ENOMEM;
			w->tx = n;
			w->tx_cap = cap;
		}
	}
	memcpy(w->tx + w->tx_len, &h, WIRE_HDR);
	if (alen)
		memcpy(w->tx + w->tx_len + WIRE_HDR, a, alen);
	if (blen)
		memcpy(w->tx + w->tx_len + WIRE_HDR + alen, b, blen);
	w->tx_len += need;
	return 0;
}

int wire_flush(struct wire *w)
{
	while (w->tx_off < w->tx_len) {
		ssize_t n = write(w->fd, w->tx + w->tx_off, w->tx_len - w->tx_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0)
			return -errno;
		w->tx_off += (size_t)n;
	}
	w->tx_off = w->tx_len = 0;
	return 0;
}

int wire_send(struct wire *w, uint16_t type, uint16_t stream, const void *a, size_t alen,
	      const void *b, size_t blen)
{
	int ret = wire_queue(w, type, stream, a, alen, b, blen);

	while (ret >= 0 && (ret = wire_flush(w)) == 1) {
		struct pollfd p = {.fd = w->fd, .events = POLLOUT};

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
	return ret;
}

int wire_read(struct wire *w)
{
	if (w->rx_have == RX_CAP)
		return 0;
	for (;;) {
		ssize_t n = read(w->fd, w->rx + w->rx_have, RX_CAP - w->rx_have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		w->rx_have += (size_t)n;
		return 0;
	}
}

int wire_next(struct wire *w, struct lxs_msg_hdr *h, const uint8_t **payload)
{
	if (w->rx_have < WIRE_HDR)
		return 0;
	memcpy(h, w->rx, WIRE_HDR);
	if (h->len > LXS_MSG_MAX || h->type == 0 || h->type >= LXS_MSG_TYPE_MAX ||
	    h->stream > LXS_STREAM_STDERR)
		return -EPROTO;
	if (w->rx_have < WIRE_HDR + h->len)
		return 0;
	*payload = w->rx + WIRE_HDR;
	return 1;
}

void wire_consume(struct wire *w)
{
	struct lxs_msg_hdr h;
	size_t used;

	if (w->rx_have < WIRE_HDR)
		return;
	memcpy(&h, w->rx, WIRE_HDR);
	used = WIRE_HDR + h.len;
	if (used > w->rx_have)
		return;
	memmove(w->rx, w->rx + used, w->rx_have - used);
	w->rx_have -= used;
}

int wire_recv(struct wire *w, struct lxs_msg_hdr *h, const uint8_t **payload, int timeout_ms)
{
	for (;;) {
		int ret = wire_next(w, h, payload);

		if (ret != 0)
			return ret;
		struct pollfd p = {.fd = w->fd, .events = POLLIN};
		ret = poll(&p, 1, timeout_ms);
		if (ret == 0)
			return -ETIMEDOUT;
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret > 0 && (ret = wire_read(w)) < 0)
			return ret;
	}
}

int wire_split(const uint8_t *p, size_t len, const char **out, size_t n)
{
	size_t i = 0, start = 0;

	if (len == 0 || p[len - 1] != 0)
		return n == 0 && len == 0 ? 0 : -EPROTO;
	for (size_t k = 0; k < len; k++) {
		if (p[k])
			continue;
		if (i == n)
			return -EPROTO;
		out[i++] = (const char *)p + start;
		start = k + 1;
	}
	return i == n ? 0 : -EPROTO;
}

long wire_strtab(char *buf, size_t cap, const char *const *s, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(s[i]) + 1;

		if (l > cap - off)
			return -E2BIG;
		memcpy(buf + off, s[i], l);
		off += l;
	}
	return (long)off;
}

int wire_error_of(const struct lxs_msg_hdr *h, const uint8_t *p, char *err, size_t errlen)
{
	struct lxs_error e = {EPROTO};

	if (h->len >= sizeof(e))
		memcpy(&e, p, sizeof(e));
	size_t mlen = h->len > sizeof(e) ? h->len - sizeof(e) : 0;
	if (errlen)
		snprintf(err, errlen, "%.*s", (int)mlen, (const char *)p + sizeof(e));
	/* The peer's number is only an errno if it is one (Linux's are below 4096). */
	return e.err > 0 && e.err < 4096 ? -e.err : -EPROTO;
}

int wire_queue_error(struct wire *w, int e, const char *sentence)
{
	struct lxs_error m = {e};
	size_t len = strlen(sentence);

	return wire_queue(w, LXS_MSG_ERROR, 0, &m, sizeof(m), sentence,
			  len < LXS_MSG_MAX - sizeof(m) ? len : LXS_MSG_MAX - sizeof(m));
}

int wire_send_error(struct wire *w, int e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	struct lxs_error m = {.err = e};

	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	wire_send(w, LXS_MSG_ERROR, 0, &m, sizeof(m), msg, (size_t)n);
	return -e;
}

int wire_hello_ok(const struct lxs_msg_hdr *h, const uint8_t *p)
{
	struct lxs_hello hello;

	if (h->type != LXS_MSG_HELLO || h->len != sizeof(hello))
		return -EPROTO;
	memcpy(&hello, p, sizeof(hello));
	return hello.magic == LXS_SESSION_MAGIC && hello.version == LXS_PROTO_VERSION ? 0 : -EPROTO;
}

int wire_queue_hello(struct wire *w)
{
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};

	return wire_queue(w, LXS_MSG_HELLO, 0, &hello, sizeof(hello), NULL, 0);
}
