/*
 * wire.h - framing of proto.h session messages over a non-blocking stream
 * socket, shared by the host (glibc) and lxs-init (static musl).
 *
 * What it promises: wire_next() hands out only whole messages whose header
 * has been checked (known type, len <= LXS_MSG_MAX); everything else is
 * -EPROTO and the caller drops the connection. Sending never blocks: messages
 * are queued and wire_flush() writes what the socket takes; the queue is
 * bounded (WIRE_TX_MAX), which the protocol's windows keep far away.
 */
#ifndef LXS_WIRE_H
#define LXS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define WIRE_HDR    sizeof(struct lxs_msg_hdr)
#define WIRE_TX_MAX (4u * LXS_WINDOW + 4u * (WIRE_HDR + LXS_MSG_MAX))

struct wire {
	int fd;
	uint8_t *rx; /* received bytes, at most 2 whole messages */
	size_t rx_have;
	uint8_t *tx; /* queued bytes not yet written */
	size_t tx_off, tx_len, tx_cap;
};

int wire_init(struct wire *w, int fd);
void wire_fini(struct wire *w);

/* Queue one message whose payload is a followed by b (either may be empty). */
int wire_queue(struct wire *w, uint16_t type, uint16_t stream, const void *a, size_t alen,
	       const void *b, size_t blen);
/* Write queued bytes: 0 when all are out, 1 when some wait for POLLOUT, -errno. */
int wire_flush(struct wire *w);
static inline bool wire_tx_pending(const struct wire *w)
{
	return w->tx_len > w->tx_off;
}
/* Queue, then flush until everything is written (polling): for simple callers. */
int wire_send(struct wire *w, uint16_t type, uint16_t stream, const void *a, size_t alen,
	      const void *b, size_t blen);

/* Read what is available: 0, -EPIPE at end of stream, or -errno. */
int wire_read(struct wire *w);
/*
 * The next whole message: 1 with *h and *payload set (valid until
 * wire_consume), 0 if more bytes are needed, -EPROTO on a bad header.
 */
int wire_next(struct wire *w, struct lxs_msg_hdr *h, const uint8_t **payload);
void wire_consume(struct wire *w);
/* Block (poll) until a whole message is there: 1, or -errno / -EPIPE / -EPROTO. */
int wire_recv(struct wire *w, struct lxs_msg_hdr *h, const uint8_t **payload, int timeout_ms);

/*
 * Split a string table into exactly n NUL-terminated strings: 0, or -EPROTO if
 * there are more or fewer, or the table does not end in NUL.
 */
int wire_split(const uint8_t *p, size_t len, const char **out, size_t n);
/*
 * The other way: strings s[0..n) back to back with their NULs into buf:
 * the table's length, or -E2BIG if it does not fit in cap.
 */
long wire_strtab(char *buf, size_t cap, const char *const *s, size_t n);

/*
 * An ERROR message (struct lxs_error + text): its errno as -errno (-EPROTO
 * when the number is not one) and its text, without the NUL it lacks, in err.
 */
int wire_error_of(const struct lxs_msg_hdr *h, const uint8_t *p, char *err, size_t errlen);
/* Queue an ERROR message: errno e (positive) and one sentence. */
int wire_queue_error(struct wire *w, int e, const char *sentence);
/*
 * Send an ERROR now (errno e, positive, and a sentence made from fmt, at
 * most 511 bytes), for a conversation that ends with it: returns -e.
 */
int wire_send_error(struct wire *w, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The opening of a control conversation (lxs-vm's control socket, lxsd's
 * socket): check a received HELLO, 0 or -EPROTO. The caller answers a bad
 * one with wire_queue_error(EPROTO) and drops the connection.
 */
int wire_hello_ok(const struct lxs_msg_hdr *h, const uint8_t *p);
/* Queue our HELLO. */
int wire_queue_hello(struct wire *w);

#endif
