/*
 * req.c - one request's buffers: its header and arguments copied out of
 * the guest's (fsrv_frame), the strings in its arguments, and its reply
 * written into the guest's, or sliced for file data to go straight in or
 * out. What the handlers (ops_*.c) and the session (session.c) share.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fusesrv/internal.h"

/*
 * The longest arguments copied: a SETXATTR's (name and a value of up to
 * the kernel's XATTR_SIZE_MAX); most fit the caller's stack buffer. A
 * WRITE's data is never copied (fsrv_data_slice).
 */
#define ARGS_MAX (sizeof(struct fuse_setxattr_in) + XATTR_NAME_MAX + 1 + (64u << 10))

/* --- buffers ------------------------------------------------------------ */

/* Sum of the lengths; false if it overflows. */
static bool iov_total(const struct iovec *v, unsigned n, size_t *total)
{
	size_t t = 0;

	for (unsigned i = 0; i < n; i++) {
		if (v[i].iov_len > SIZE_MAX - t)
			return false;
		t += v[i].iov_len;
	}
	*total = t;
	return true;
}

/* Copy len bytes from the buffers at byte off into dst (the caller checked they are there). */
static void iov_read(const struct iovec *v, unsigned n, size_t off, void *dst, size_t len)
{
	uint8_t *d = dst;

	for (unsigned i = 0; i < n && len; i++) {
		size_t take;

		if (off >= v[i].iov_len) {
			off -= v[i].iov_len;
			continue;
		}
		take = v[i].iov_len - off < len ? v[i].iov_len - off : len;
		memcpy(d, (const uint8_t *)v[i].iov_base + off, take);
		d += take;
		len -= take;
		off = 0;
	}
}

static void iov_write(const struct iovec *v, unsigned n, size_t off, const void *src, size_t len)
{
	const uint8_t *p = src;

	for (unsigned i = 0; i < n && len; i++) {
		size_t take;

		if (off >= v[i].iov_len) {
			off -= v[i].iov_len;
			continue;
		}
		take = v[i].iov_len - off < len ? v[i].iov_len - off : len;
		memcpy((uint8_t *)v[i].iov_base + off, p, take);
		p += take;
		len -= take;
		off = 0;
	}
}

static unsigned iov_slice(const struct iovec *v, unsigned n, size_t off, size_t len,
			  struct iovec *out, unsigned max)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len && k < max; i++) {
		size_t take;

		if (off >= v[i].iov_len) {
			off -= v[i].iov_len;
			continue;
		}
		take = v[i].iov_len - off < len ? v[i].iov_len - off : len;
		out[k].iov_base = (uint8_t *)v[i].iov_base + off;
		out[k++].iov_len = take;
		len -= take;
		off = 0;
	}
	return k;
}

bool fsrv_put(struct fsrv_req *r, size_t off, const void *src, size_t len)
{
	if (off > r->room || len > r->room - off)
		return false;
	iov_write(r->ov, r->nov, sizeof(struct fuse_out_header) + off, src, len);
	return true;
}

int fsrv_reply(struct fsrv_req *r, const void *body, size_t len)
{
	return fsrv_put(r, 0, body, len) ? (int)len : -EINVAL;
}

unsigned fsrv_out_slice(const struct fsrv_req *r, size_t off, size_t len, struct iovec *v,
			unsigned max)
{
	if (off > r->room)
		return 0;
	if (len > r->room - off)
		len = r->room - off;
	return iov_slice(r->ov, r->nov, sizeof(struct fuse_out_header) + off, len, v, max);
}

unsigned fsrv_data_slice(const struct fsrv_req *r, struct iovec *v, unsigned max)
{
	return iov_slice(r->iv, r->niv, r->data_off, r->data_len, v, max);
}

int fsrv_arg_str(const struct fsrv_req *r, size_t *off, const char **s, size_t *len)
{
	const uint8_t *nul;

	if (*off >= r->arglen)
		return -EINVAL;
	nul = memchr(r->arg + *off, '\0', r->arglen - *off);
	if (!nul)
		return -EINVAL; /* a string must end inside its request */
	*s = (const char *)r->arg + *off;
	*len = (size_t)(nul - (r->arg + *off));
	*off += *len + 1;
	return 0;
}

int fsrv_arg_name(const struct fsrv_req *r, size_t *off, const char **name)
{
	size_t len;
	int err = fsrv_arg_str(r, off, name, &len);

	return err ? err : hfs_name_ok(*name, len);
}

int fsrv_arg_end(const struct fsrv_req *r, size_t off)
{
	return off == r->arglen ? 0 : -EINVAL;
}

int fsrv_frame(struct fsrv_req *r, const struct iovec *in, unsigned nin, uint8_t *stack,
	       uint8_t **heap)
{
	size_t total, copy;
	uint8_t *buf = stack;

	if (!iov_total(in, nin, &total) || total < sizeof(r->in))
		return -EBADMSG;
	iov_read(in, nin, 0, &r->in, sizeof(r->in));
	if (r->in.len != total)
		return -EBADMSG;
	copy = total - sizeof(r->in);
	r->iv = in;
	r->niv = nin;
	if (r->in.opcode == FUSE_WRITE && copy > sizeof(struct fuse_write_in)) {
		/* The data stays where it is: pwritev takes it from there. */
		r->data_off = sizeof(r->in) + sizeof(struct fuse_write_in);
		r->data_len = copy - sizeof(struct fuse_write_in);
		copy = sizeof(struct fuse_write_in);
	}
	if (copy > ARGS_MAX)
		return -E2BIG;
	if (copy > FSRV_ARGS_STACK) {
		buf = *heap = malloc(copy);
		if (!buf)
			return -ENOMEM;
	}
	iov_read(in, nin, sizeof(r->in), buf, copy);
	r->arg = buf;
	r->arglen = copy;
	return 0;
}

int fsrv_out(struct fsrv_req *r, const struct iovec *out, unsigned nout)
{
	size_t cap;

	if (!iov_total(out, nout, &cap))
		cap = SIZE_MAX;
	if (cap < sizeof(struct fuse_out_header))
		return -ENOBUFS;
	r->ov = out;
	r->nov = nout;
	r->room = cap - sizeof(struct fuse_out_header);
	return 0;
}

ssize_t fsrv_finish(struct fsrv_req *r, int res)
{
	struct fuse_out_header oh = {.unique = r->in.unique};

	if (res < 0) {
		/* The kernel takes errors of 1..511 only. */
		oh.error = res > -512 ? res : -EIO;
		res = 0;
	}
	oh.len = (uint32_t)(sizeof(oh) + (size_t)res);
	iov_write(r->ov, r->nov, 0, &oh, sizeof(oh));
	return (ssize_t)oh.len;
}
