/* The framing decoder's checks (src/common/wire.c): each case breaks one. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/wire.h"
#include "unit.h"

/* Feed raw bytes into a wire through a socketpair and parse the first message. */
static int parse(const void *bytes, size_t len, struct lxs_msg_hdr *h)
{
	int sv[2];
	struct wire w;
	const uint8_t *p;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	wire_init(&w, sv[0]);
	if (write(sv[1], bytes, len) != (ssize_t)len)
		return -EIO;
	wire_read(&w);
	int r = wire_next(&w, h, &p);
	wire_fini(&w);
	close(sv[0]);
	close(sv[1]);
	return r;
}

static void t_good_message(struct unit *u)
{
	struct lxs_msg_hdr h = { 3, LXS_MSG_DATA, LXS_STREAM_STDOUT }, got;
	uint8_t b[11];

	memcpy(b, &h, 8);
	memcpy(b + 8, "abc", 3);
	CHECK(u, parse(b, sizeof(b), &got) == 1);
	CHECK(u, got.len == 3 && got.type == LXS_MSG_DATA);
}

static void t_partial_message_waits(struct unit *u)
{
	struct lxs_msg_hdr h = { 100, LXS_MSG_DATA, 1 }, got;

	CHECK(u, parse(&h, sizeof(h), &got) == 0);
	CHECK(u, parse(&h, 5, &got) == 0);
}

static void t_len_over_max(struct unit *u)
{
	struct lxs_msg_hdr h = { LXS_MSG_MAX + 1, LXS_MSG_DATA, 1 }, got;

	CHECK(u, parse(&h, sizeof(h), &got) == -EPROTO);
}

static void t_unknown_types(struct unit *u)
{
	struct lxs_msg_hdr h0 = { 0, 0, 0 }, hmax = { 0, LXS_MSG_TYPE_MAX, 0 }, got;

	CHECK(u, parse(&h0, sizeof(h0), &got) == -EPROTO);
	CHECK(u, parse(&hmax, sizeof(hmax), &got) == -EPROTO);
}

static void t_bad_stream(struct unit *u)
{
	struct lxs_msg_hdr h = { 0, LXS_MSG_EOF, 3 }, got;

	CHECK(u, parse(&h, sizeof(h), &got) == -EPROTO);
}

static void t_split_exact(struct unit *u)
{
	const char *s[3];

	CHECK(u, wire_split((const uint8_t *)"a\0bc\0\0", 6, s, 3) == 0);
	CHECK(u, !strcmp(s[0], "a") && !strcmp(s[1], "bc") && !strcmp(s[2], ""));
	CHECK(u, wire_split((const uint8_t *)"a\0bc\0", 5, s, 3) == -EPROTO);    /* too few */
	CHECK(u, wire_split((const uint8_t *)"a\0b\0c\0", 6, s, 2) == -EPROTO);  /* too many */
	CHECK(u, wire_split((const uint8_t *)"a\0bc", 4, s, 2) == -EPROTO);      /* no final NUL */
	CHECK(u, wire_split((const uint8_t *)"", 0, s, 1) == -EPROTO);
}

static void t_queue_bounded(struct unit *u)
{
	static uint8_t big[LXS_MSG_MAX];
	struct wire w;
	int r = 0;

	wire_init(&w, -1);
	CHECK(u, wire_queue(&w, LXS_MSG_DATA, 1, big, LXS_MSG_MAX + 1, NULL, 0) == -EMSGSIZE);
	for (int i = 0; i < 1000 && r == 0; i++)
		r = wire_queue(&w, LXS_MSG_DATA, 1, big, LXS_DATA_MAX, NULL, 0);
	CHECK(u, r == -ENOBUFS);
	CHECK(u, w.tx_len <= WIRE_TX_MAX);
	wire_fini(&w);
}

int main(void)
{
	struct unit u = { 0 };

	RUN(&u, t_good_message);
	RUN(&u, t_partial_message_waits);
	RUN(&u, t_len_over_max);
	RUN(&u, t_unknown_types);
	RUN(&u, t_bad_stream);
	RUN(&u, t_split_exact);
	RUN(&u, t_queue_bounded);
	return unit_done(&u);
}
