/*
 * diag.c - the inet_diag dump of TCP listeners (diag.h): the request, the
 * reading of its answer (no system calls, for tests and the fuzzer), and
 * the scan over a netlink socket the caller owns.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/proto.h"
#include "diag.h"

#define NL_ALIGN(n) (((n) + 3u) & ~(size_t)3u)

void diag_request(uint8_t *out, int family, uint32_t seq)
{
	struct diag_nlmsg h = {.len = DIAG_REQUEST_SIZE,
			       .type = DIAG_SOCK_DIAG_BY_FAMILY,
			       .flags = DIAG_NLM_F_REQUEST | DIAG_NLM_F_DUMP,
			       .seq = seq};
	struct diag_req r = {
	    .family = (uint8_t)family, .protocol = IPPROTO_TCP, .states = 1u << DIAG_TCP_LISTEN};

	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), &r, sizeof(r));
}

/* Whether a listener on this address answers at the family's loopback address. */
static int reachable(uint8_t family, const uint32_t a[4])
{
	static const uint8_t v6_any[16], v6_lo[16] = {[15] = 1};
	static const uint8_t v4mapped_lo[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1};
	uint8_t b[16];

	memcpy(b, a, 16);
	if (family == AF_INET)
		return !memcmp(b, "\0\0\0\0", 4) || !memcmp(b, "\x7f\0\0\x01", 4);
	return !memcmp(b, v6_any, 16) || !memcmp(b, v6_lo, 16) || !memcmp(b, v4mapped_lo, 16);
}

int diag_parse(const uint8_t *buf, size_t len, struct diag_set *s)
{
	size_t off = 0;

	while (off < len) {
		struct diag_nlmsg h;

		if (len - off < sizeof(h))
			return -EPROTO;
		memcpy(&h, buf + off, sizeof(h));
		if (h.len < sizeof(h) || h.len > len - off)
			return -EPROTO;
		const uint8_t *p = buf + off + sizeof(h);
		size_t plen = h.len - sizeof(h);

		if (h.type == DIAG_NLMSG_DONE)
			return 1;
		if (h.type == DIAG_NLMSG_ERROR) {
			int32_t err;

			if (plen < sizeof(err))
				return -EPROTO;
			memcpy(&err, p, sizeof(err));
			/* An error of 0 is an acknowledgement; a dump does not ask for one. */
			return err < 0 && err > -4096 ? err : -EPROTO;
		}
		if (h.type == DIAG_SOCK_DIAG_BY_FAMILY) {
			struct diag_msg m;

			if (plen < sizeof(m))
				return -EPROTO;
			memcpy(&m, p, sizeof(m));
			uint16_t port = ntohs(m.id.sport);
			if (m.state == DIAG_TCP_LISTEN && port &&
			    (m.family == AF_INET || m.family == AF_INET6) &&
			    reachable(m.family, m.id.src))
				s->fam[port] |= m.family == AF_INET ? LXS_FWD_IPV4 : LXS_FWD_IPV6;
		}
		/* Other types (NLMSG_NOOP, overrun notices) carry nothing for us. */
		/* The last message's padding may be missing: off may pass len. */
		off += NL_ALIGN(h.len);
	}
	return 0;
}

static int scan_family(int nl, uint8_t *buf, size_t cap, uint32_t seq, int family,
		       struct diag_set *s)
{
	uint8_t req[DIAG_REQUEST_SIZE];
	int ret;

	diag_request(req, family, seq);
	if (send(nl, req, sizeof(req), 0) < 0)
		return -errno;
	do {
		ssize_t n = recv(nl, buf, cap, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPROTO;
		ret = diag_parse(buf, (size_t)n, s);
	} while (ret == 0);
	return ret < 0 ? ret : 0;
}

int diag_scan(int nl, uint8_t *buf, size_t cap, uint32_t *seq, struct diag_set *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	if ((ret = scan_family(nl, buf, cap, ++*seq, AF_INET, s)) < 0)
		return ret;
	ret = scan_family(nl, buf, cap, ++*seq, AF_INET6, s);
	return ret == -ENOENT || ret == -EAFNOSUPPORT ? 0 : ret;
}
