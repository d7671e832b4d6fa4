/*
 * bytebuf.h - a bounded FIFO of bytes: what the guest sent on a connection
 * that its host socket could not take yet.
 *
 * What this header promises:
 *  - Memory is allocated only while bytes are held, grows on demand up to
 *    the buffer's limit and is freed when the buffer empties, so hundreds
 *    of idle connections cost nothing.
 *  - Every byte of allocation is charged to a shared counter (*acct)
 *    against a shared limit (acct_max): vsock_buf_append() refuses rather
 *    than let the sum over all buffers pass it.
 */
#ifndef LXS_VSOCK_BYTEBUF_H
#define LXS_VSOCK_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

struct vsock_buf {
	uint8_t *data;
	size_t cap;   /* bytes allocated */
	size_t head;  /* offset of the first byte held */
	size_t len;   /* bytes held */
	size_t limit; /* most bytes ever held */
};

static inline void vsock_buf_init(struct vsock_buf *b, size_t limit)
{
	b->data = NULL;
	b->cap = b->head = b->len = 0;
	b->limit = limit;
}

/*
 * Add n bytes at the end. Returns 0, -ENOBUFS if the buffer would hold more
 * than its limit or *acct would pass acct_max, -ENOMEM. On error nothing
 * is added.
 */
int vsock_buf_append(struct vsock_buf *b, const void *p, size_t n, size_t *acct, size_t acct_max);
/* The bytes held, contiguous. */
static inline const uint8_t *vsock_buf_peek(const struct vsock_buf *b)
{
	return b->data + b->head;
}
/* Drop n <= len bytes from the front; frees the memory when empty. */
void vsock_buf_consume(struct vsock_buf *b, size_t n, size_t *acct);
/* Drop everything and free the memory. */
void vsock_buf_clear(struct vsock_buf *b, size_t *acct);

#endif
