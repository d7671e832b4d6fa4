/*
 * call.c - see call.h. Written for blocking callers (lxs, lxsd's rare
 * synchronous requests, `lxs-vm --ctl`); lxsd's own server side is in its
 * poll loop and uses wire.h directly.
 */
#include "call.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "wire.h"

/* Milliseconds left before deadline (-1: none), for poll(); 0 once it has passed. */
static int left_ms(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t l = deadline - now_ms();
	return l <= 0 ? 0 : l > 1000000000 ? 1000000000 : (int)l;
}

int call_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Non-blocking: a stuck server's full backlog is EAGAIN, tried again until the deadline. */
	while (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ret = -errno;
		if ((ret != -EAGAIN && ret != -EINTR) || left_ms(deadline) == 0) {
			close(fd);
			return ret == -EAGAIN ? -ETIMEDOUT : ret;
		}
		poll(NULL, 0, 10);
	}
	return fd;
}

int call_listen(const char *path, int backlog, bool nonblock)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177); /* the socket is born 0600 */
	ret = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, backlog) == 0 ? 0
											  : -errno;
	umask(old);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Write the queued bytes before the deadline, with send(MSG_NOSIGNAL). */
static int send_all(struct wire *w, int64_t deadline)
{
	while (wire_tx_pending(w)) {
		ssize_t n = send(w->fd, w->tx + w->tx_off, w->tx_len - w->tx_off, MSG_NOSIGNAL);
		struct pollfd p = {.fd = w->fd, .events = POLLOUT};

		if (n >= 0) {
			w->tx_off += (size_t)n;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (errno == EAGAIN && poll(&p, 1, left_ms(deadline)) == 0)
			return -ETIMEDOUT;
	}
	w->tx_off = w->tx_len = 0;
	return 0;
}

int call_fd(int fd, uint16_t type, const void *fixed, size_t flen, const void *tab, size_t tlen,
	    struct call_answer *a, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct lxs_msg_hdr h;
	const uint8_t *p;
	struct wire w;
	int ret;

	memset(a, 0, sizeof(*a));
	if ((ret = wire_init(&w, fd)) < 0)
		return ret;
	if ((ret = wire_queue_hello(&w)) < 0 ||
	    (ret = wire_queue(&w, type, 0, fixed, flen, tab, tlen)) < 0 ||
	    (ret = send_all(&w, deadline)) < 0)
		goto out;
	/* Their HELLO, or an ERROR in its place (a version they do not speak). */
	if ((ret = wire_recv(&w, &h, &p, left_ms(deadline))) >= 0 && h.type != LXS_MSG_ERROR) {
		ret = wire_hello_ok(&h, p);
		wire_consume(&w);
		if (ret == 0)
			ret = wire_recv(&w, &h, &p, left_ms(deadline));
	}
	if (ret < 0)
		goto out;
	a->type = h.type;
	if (h.type == LXS_MSG_ERROR) {
		a->err = wire_error_of(&h, p, a->msg, sizeof(a->msg));
	} else if (!(a->p = malloc(h.len ? h.len : 1))) {
		ret = -ENOMEM;
		goto out;
	} else {
		memcpy(a->p, p, h.len);
		a->len = h.len;
	}
	ret = 0;
out:
	wire_fini(&w);
	return ret == -EPIPE ? -ECONNRESET : ret;
}

void call_answer_free(struct call_answer *a)
{
	free(a->p);
	a->p = NULL;
}
