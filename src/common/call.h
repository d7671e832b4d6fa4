/*
 * call.h - one request and its answer on a connection, the way every
 * control path of lxs talks (lxs -> lxsd, lxsd -> lxs-vm): HELLO both ways,
 * the request, the answer, all within one deadline and with MSG_NOSIGNAL,
 * so a peer that hangs up is an error to report, never a SIGPIPE. Also the
 * Unix sockets those paths run on: connecting and listening.
 */
#ifndef LXS_COMMON_CALL_H
#define LXS_COMMON_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct call_answer {
	uint16_t type; /* LXS_MSG_*: OK, ERROR, or the request's own answer */
	uint8_t *p;    /* the payload (allocated; call_answer_free), NULL for ERROR */
	size_t len;
	int err;        /* ERROR: its -errno */
	char msg[1024]; /* ERROR: its sentence */
};

/*
 * On fd (blocking or not): send HELLO and the message (payload fixed then
 * tab), take the peer's HELLO and its answer. timeout_ms < 0: no limit.
 * 0 with *a filled (an ERROR answer included), or -errno: -ECONNRESET when
 * the peer hung up, -ETIMEDOUT, -EPROTO for a HELLO of another kind or
 * version. call_answer_free(a) after, whatever the result.
 */
int call_fd(int fd, uint16_t type, const void *fixed, size_t flen, const void *tab, size_t tlen,
	    struct call_answer *a, int timeout_ms);
void call_answer_free(struct call_answer *a);

/*
 * A Unix socket connected before the deadline (a full backlog is waited
 * out; timeout_ms < 0: no limit), non-blocking: fd or -errno.
 */
int call_connect(const char *path, int timeout_ms);
/*
 * The other end: a socket listening at path (a leftover there is removed
 * first), born 0600 so only its owner reaches it, with nonblock as asked:
 * fd or -errno (-ENAMETOOLONG for a path a socket cannot have).
 */
int call_listen(const char *path, int backlog, bool nonblock);

#endif
