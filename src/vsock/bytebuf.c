/*
 * bytebuf.c - bounded, lazily allocated byte FIFO. See bytebuf.h.
 *
 * The held bytes stay contiguous so that one send() can take them all;
 * the cost is a memmove when appending to a buffer whose free space is at
 * the front, bounded by the limit (the connection's buf_alloc).
 */
#include "vsock/bytebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_ALLOC 4096

int vsock_buf_append(struct vsock_buf *b, const void *p, size_t n, size_t *acct, size_t acct_max)
{
	size_t need, ncap;
	uint8_t *nd;

	if (!n)
		return 0;
	if (n > b->limit - b->len)
		return -ENOBUFS;
	need = b->len + n;
	if (b->head + need > b->cap && need <= b->cap) {
		memmove(b->data, b->data + b->head, b->len);
		b->head = 0;
	}
	if (need > b->cap) {
		ncap = b->cap ? b->cap : BUF_MIN_ALLOC;
		while (ncap < need)
			ncap *= 2;
		if (ncap > b->limit)
			ncap = b->limit;
		if (*acct > acct_max || ncap - b->cap > acct_max - *acct)
			return -ENOBUFS;
		if (b->head) {
			memmove(b->data, b->data + b->head, b->len);
			b->head = 0;
		}
		nd = realloc(b->data, ncap);
		if (!nd)
			return -ENOMEM;
		*acct += ncap - b->cap;
		b->data = nd;
		b->cap = ncap;
	}
	memcpy(b->data + b->head + b->len, p, n);
	b->len += n;
	return 0;
}

void vsock_buf_consume(struct vsock_buf *b, size_t n, size_t *acct)
{
	if (n > b->len)
		n = b->len;
	b->head += n;
	b->len -= n;
	if (!b->len)
		vsock_buf_clear(b, acct);
}

void vsock_buf_clear(struct vsock_buf *b, size_t *acct)
{
	*acct -= b->cap;
	free(b->data);
	b->data = NULL;
	b->cap = b->head = b->len = 0;
}
