/*
 * test_fusesrv_util.h - a pretend FUSE driver for the fusesrv tests (and
 * the fuzz target's seeds): builds requests (fuse_in_header, then the
 * arguments given as pieces), hands them to fsrv_handle() in one buffer
 * or split, and reads the replies; keeps a scratch share with a canary
 * beside it.
 *
 * Scratch layout: BASE=/tmp/lxs-fusesrv-XXXXXX holding share/ (what the
 * session serves) and outside/canary ("CANARY"). tf_fini() fails if the
 * canary changed, then removes BASE.
 */
#ifndef LXS_TEST_FUSESRV_UTIL_H
#define LXS_TEST_FUSESRV_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusesrv/fusesrv.h"
#include "hostfs/hostfs.h"

#define TF_OUT     (2u << 20) /* reply room: the largest READ and then some */
#define TF_MINOR   41         /* what Linux 6.12 sends */
#define TF_NOREPLY 100000     /* fsrv_handle gave no reply (FORGET) */

struct tf {
	char base[64], share[96], path[512];
	struct hostfs *h;
	struct fsrv *s;
	uint64_t unique;
	uint32_t uid, gid; /* the caller the requests name */
	uint8_t *out;
	const uint8_t *body; /* the last reply's body */
	size_t blen;
	ssize_t raw; /* what fsrv_handle returned last */
};

static inline const char *tf_path(struct tf *t, const char *rel)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->share, rel);
	return t->path;
}

static inline int tf_put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* A file's whole content into buf (NUL-terminated); its length or -errno. */
static inline ssize_t tf_get_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

/*
 * Serve in[0..nin) with out[0..nout); returns the reply's error (-errno),
 * or the body length, or TF_NOREPLY, or (negated, below -1000) what
 * fsrv_handle itself returned as a transport error.
 */
static inline int tf_handle(struct tf *t, const struct iovec *in, unsigned nin,
			    const struct iovec *out, unsigned nout, uint64_t unique)
{
	struct fuse_out_header oh;
	uint8_t *p = (uint8_t *)&oh;
	size_t got = 0;

	t->raw = fsrv_handle(t->s, in, nin, out, nout);
	if (t->raw < 0)
		return (int)t->raw - 1000;
	if (t->raw == 0)
		return TF_NOREPLY;
	for (unsigned i = 0; i < nout && got < sizeof(oh); i++) {
		size_t take = out[i].iov_len < sizeof(oh) - got ? out[i].iov_len : sizeof(oh) - got;

		memcpy(p + got, out[i].iov_base, take);
		got += take;
	}
	if (got < sizeof(oh) || oh.len != (uint64_t)t->raw || oh.unique != unique)
		return -100000; /* a malformed reply */
	if (oh.error)
		return oh.len == sizeof(oh) ? oh.error : -100001;
	return (int)(oh.len - sizeof(oh));
}

/*
 * One request: opcode, nodeid, then (const void *, size_t) pieces of its
 * arguments ending with NULL; the reply into t->out (room bytes).
 */
static inline int tf_vcall(struct tf *t, size_t room, uint32_t op, uint64_t nodeid, va_list ap)
{
	static uint8_t req[(2u << 20) + 4096];
	struct fuse_in_header ih = {.opcode = op, .nodeid = nodeid, .uid = t->uid, .gid = t->gid};
	size_t len = sizeof(ih);
	const void *piece;
	struct iovec in, out;
	int res;

	while ((piece = va_arg(ap, const void *)) != NULL) {
		size_t n = va_arg(ap, size_t);

		if (len + n > sizeof(req))
			abort();
		memcpy(req + len, piece, n);
		len += n;
	}
	ih.len = (uint32_t)len;
	ih.unique = ++t->unique;
	memcpy(req, &ih, sizeof(ih));
	in = (struct iovec){req, len};
	out = (struct iovec){t->out, room};
	res = tf_handle(t, &in, 1, &out, 1, ih.unique);
	t->body = t->out + sizeof(struct fuse_out_header);
	t->blen = res > 0 ? (size_t)res : 0;
	return res;
}

static inline int tf_call(struct tf *t, uint32_t op, uint64_t nodeid, ...)
{
	va_list ap;
	int res;

	va_start(ap, nodeid);
	res = tf_vcall(t, TF_OUT, op, nodeid, ap);
	va_end(ap);
	return res;
}

/* tf_call with room bytes for the reply (its header included). */
static inline int tf_call_room(struct tf *t, size_t room, uint32_t op, uint64_t nodeid, ...)
{
	va_list ap;
	int res;

	va_start(ap, nodeid);
	res = tf_vcall(t, room, op, nodeid, ap);
	va_end(ap);
	return res;
}

#define TF_S(str) (str), strlen(str) + 1 /* a name as a piece, with its NUL */

static inline int tf_init_req(struct tf *t, uint32_t major, uint32_t minor, uint32_t flags,
			      struct fuse_init_out *o)
{
	struct fuse_init_in in = {
	    .major = major, .minor = minor, .max_readahead = 1u << 17, .flags = flags};
	int res = tf_call(t, FUSE_INIT, 0, &in, sizeof(in), NULL);

	if (res == (int)sizeof(*o) && o)
		memcpy(o, t->body, sizeof(*o));
	return res;
}

#define TF_ALL_FLAGS 0xffffffffu

static inline int tf_init(struct tf *t, const struct fsrv_config *cfg)
{
	char p[160];
	int fd;

	memset(t, 0, sizeof(*t));
	snprintf(t->base, sizeof(t->base), "/tmp/lxs-fusesrv-XXXXXX");
	if (!mkdtemp(t->base))
		return -errno;
	chmod(t->base, 0755);
	snprintf(t->share, sizeof(t->share), "%s/share", t->base);
	snprintf(p, sizeof(p), "%s/outside", t->base);
	if (mkdir(t->share, 0755) < 0 || mkdir(p, 0755) < 0)
		return -errno;
	snprintf(p, sizeof(p), "%s/outside/canary", t->base);
	if (tf_put_file(p, "CANARY") < 0)
		return -EIO;
	t->out = malloc(TF_OUT);
	if (!t->out)
		return -ENOMEM;
	fd = open(t->share, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || hfs_new(fd, &t->h) < 0 || fsrv_new(t->h, cfg, &t->s) < 0) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return tf_init_req(t, 7, TF_MINOR, TF_ALL_FLAGS, NULL) == (int)sizeof(struct fuse_init_out)
		   ? 0
		   : -EPROTO;
}

static inline int tf_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 ? -1 : 0;
}

/* 0 if the canary beside the share is as it was; everything removed either way. */
static inline int tf_fini(struct tf *t)
{
	char p[160], buf[16];
	int res;

	fsrv_free(t->s);
	hfs_free(t->h);
	free(t->out);
	snprintf(p, sizeof(p), "%s/outside/canary", t->base);
	res = tf_get_file(p, buf, sizeof(buf)) == 6 && !strcmp(buf, "CANARY") ? 0 : -1;
	nftw(t->base, tf_rm, 16, FTW_DEPTH | FTW_PHYS);
	return res;
}

/* --- one call per opcode ------------------------------------------------- */

static inline int tf_lookup(struct tf *t, uint64_t dir, const char *name, struct fuse_entry_out *e)
{
	int res = tf_call(t, FUSE_LOOKUP, dir, TF_S(name), NULL);
	struct fuse_entry_out got;

	if (res != (int)sizeof(got))
		return res < 0 ? res : -EPROTO;
	memcpy(&got, t->body, sizeof(got));
	if (e)
		*e = got;
	/* Node 0: the name is absent, kept for entry_valid (as the kernel reads it). */
	return got.nodeid ? 0 : -ENOENT;
}

/* The nodeid of dir/name, or 0. */
static inline uint64_t tf_node(struct tf *t, uint64_t dir, const char *name)
{
	struct fuse_entry_out e;

	return tf_lookup(t, dir, name, &e) == 0 ? e.nodeid : 0;
}

static inline int tf_getattr(struct tf *t, uint64_t node, struct fuse_attr *a)
{
	struct fuse_getattr_in in = {0};
	int res = tf_call(t, FUSE_GETATTR, node, &in, sizeof(in), NULL);

	if (res == (int)sizeof(struct fuse_attr_out) && a)
		memcpy(a, t->body + offsetof(struct fuse_attr_out, attr), sizeof(*a));
	return res < 0 ? res : 0;
}

static inline int tf_forget(struct tf *t, uint64_t node, uint64_t n)
{
	struct fuse_forget_in in = {.nlookup = n};

	return tf_call(t, FUSE_FORGET, node, &in, sizeof(in), NULL);
}

static inline int tf_open(struct tf *t, uint32_t op, uint64_t node, uint32_t flags, uint64_t *fh,
			  uint32_t *open_flags)
{
	struct fuse_open_in in = {.flags = flags};
	struct fuse_open_out o;
	int res = tf_call(t, op, node, &in, sizeof(in), NULL);

	if (res != (int)sizeof(o))
		return res < 0 ? res : -100002;
	memcpy(&o, t->body, sizeof(o));
	*fh = o.fh;
	if (open_flags)
		*open_flags = o.open_flags;
	return 0;
}

static inline int tf_release(struct tf *t, uint32_t op, uint64_t fh)
{
	struct fuse_release_in in = {.fh = fh};

	return tf_call(t, op, 0, &in, sizeof(in), NULL);
}

static inline int tf_create(struct tf *t, uint64_t dir, const char *name, uint32_t mode,
			    uint32_t flags, struct fuse_entry_out *e, uint64_t *fh)
{
	struct fuse_create_in in = {.flags = flags | O_CREAT, .mode = S_IFREG | mode};
	int res = tf_call(t, FUSE_CREATE, dir, &in, sizeof(in), TF_S(name), NULL);
	struct fuse_open_out o;

	if (res != (int)(sizeof(*e) + sizeof(o)))
		return res < 0 ? res : -100002;
	if (e)
		memcpy(e, t->body, sizeof(*e));
	memcpy(&o, t->body + sizeof(*e), sizeof(o));
	*fh = o.fh;
	return 0;
}

static inline int tf_read(struct tf *t, uint64_t fh, uint64_t off, uint32_t size)
{
	struct fuse_read_in in = {.fh = fh, .offset = off, .size = size};

	return tf_call(t, FUSE_READ, 0, &in, sizeof(in), NULL);
}

static inline int tf_write(struct tf *t, uint64_t fh, uint64_t off, const void *data, size_t len)
{
	struct fuse_write_in in = {.fh = fh, .offset = off, .size = (uint32_t)len};
	int res = tf_call(t, FUSE_WRITE, 0, &in, sizeof(in), data, len, NULL);
	struct fuse_write_out o;

	if (res != (int)sizeof(o))
		return res < 0 ? res : -100002;
	memcpy(&o, t->body, sizeof(o));
	return (int)o.size;
}

static inline int tf_mkdir(struct tf *t, uint64_t dir, const char *name, uint32_t mode,
			   struct fuse_entry_out *e)
{
	struct fuse_mkdir_in in = {.mode = mode};
	int res = tf_call(t, FUSE_MKDIR, dir, &in, sizeof(in), TF_S(name), NULL);

	if (res == (int)sizeof(*e) && e)
		memcpy(e, t->body, sizeof(*e));
	return res < 0 ? res : 0;
}

/* A listing of folder node with fh 0, as the kernel sends it once OPENDIR said ENOSYS. */
static inline int tf_readdir(struct tf *t, uint32_t op, uint64_t node, uint64_t off, uint32_t size)
{
	struct fuse_read_in in = {.fh = 0, .offset = off, .size = size};

	return tf_call(t, op, node, &in, sizeof(in), NULL);
}

#endif
