/*
 * test_session_client.c - the host side of sessions (src/session/client.c)
 * against a pretend guest on a socket pair: what the guest answers is
 * hostile, and only real errno values pass through as errors.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/proto.h"
#include "session/session.h"
#include "unit.h"

/* Answer a SHUTDOWN with an ERROR carrying `num` and `text`; return session_shutdown's result. */
static int shutdown_answered(int32_t num, const char *text, char *err, size_t errlen)
{
	uint8_t b[64];
	struct lxs_error e = {num};
	size_t tl = strlen(text);
	struct lxs_msg_hdr h = {(uint32_t)(sizeof(e) + tl), LXS_MSG_ERROR, 0};
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -999;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &e, sizeof(e));
	memcpy(b + sizeof(h) + sizeof(e), text, tl);
	if (write(sv[1], b, sizeof(h) + sizeof(e) + tl) < 0)
		return -999;
	err[0] = 0;
	r = session_shutdown(sv[0], err, errlen);
	close(sv[0]);
	close(sv[1]);
	return r;
}

static void t_error_passes_errno(struct unit *u)
{
	char err[128];

	CHECK(u, shutdown_answered(ENOENT, "no such distro", err, sizeof(err)) == -ENOENT);
	CHECK(u, !strcmp(err, "no such distro"));
}

/* Found by tests/fuzz/fuzz_session_host: any number came back as "-errno". */
static void t_error_number_not_errno(struct unit *u)
{
	char err[128];

	CHECK(u, shutdown_answered(0x00ffffff, "x", err, sizeof(err)) == -EPROTO);
	CHECK(u, shutdown_answered(4096, "x", err, sizeof(err)) == -EPROTO);
	CHECK(u, shutdown_answered(0, "x", err, sizeof(err)) == -EPROTO);
	CHECK(u, shutdown_answered(-5, "x", err, sizeof(err)) == -EPROTO);
	CHECK(u, shutdown_answered(4095, "x", err, sizeof(err)) == -4095);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_error_passes_errno);
	RUN(&u, t_error_number_not_errno);
	return unit_done(&u);
}
