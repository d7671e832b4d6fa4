/*
 * util.c - what every part of lxs-init uses: its messages on the VM's
 * console, the monotonic clock in milliseconds, and the two ends of every
 * conversation with the host (proto.h): the HELLO exchange and ERROR.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "guest.h"

void say_as(const char *who, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lxs-init: %s", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int hello_answer(struct wire *w, int timeout_ms)
{
	struct lxs_msg_hdr h;
	const uint8_t *p;
	struct lxs_hello hello;
	int ret = wire_recv(w, &h, &p, timeout_ms);

	if (ret < 0)
		return ret;
	if (h.type != LXS_MSG_HELLO || h.len != sizeof(hello))
		return wire_send_error(w, EPROTO, "the first message must be HELLO");
	memcpy(&hello, p, sizeof(hello));
	wire_consume(w);
	if (hello.magic != LXS_SESSION_MAGIC || hello.version != LXS_PROTO_VERSION)
		return wire_send_error(
		    w, EPROTO,
		    "this lxs-init speaks protocol version %u, the host sent version %u; "
		    "update lxs so both match",
		    LXS_PROTO_VERSION, hello.version);
	hello = (struct lxs_hello){LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	return wire_send(w, LXS_MSG_HELLO, 0, &hello, sizeof(hello), NULL, 0);
}

bool is_mountpoint(const char *dir)
{
	char parent[512];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", dir);
	return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}
