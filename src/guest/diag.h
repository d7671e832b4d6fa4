/*
 * diag.h - the TCP listeners of the VM from NETLINK_SOCK_DIAG (inet_diag),
 * for localhost forwarding (forward.c). musl ships no <linux/...> headers,
 * so the few uapi structures used are spelled out here under names of our
 * own (their layout is the kernel's stable ABI). Plain C on buffers, so the
 * host's unit tests compile and test it too.
 */
#ifndef LXS_GUEST_DIAG_H
#define LXS_GUEST_DIAG_H

#include <stddef.h>
#include <stdint.h>

#define DIAG_NETLINK_SOCK_DIAG   4
#define DIAG_SOCK_DIAG_BY_FAMILY 20
#define DIAG_NLMSG_ERROR         2
#define DIAG_NLMSG_DONE          3
#define DIAG_NLM_F_REQUEST       0x1
#define DIAG_NLM_F_DUMP          0x300
#define DIAG_TCP_LISTEN          10

struct diag_nlmsg {
	uint32_t len;
	uint16_t type, flags;
	uint32_t seq, pid;
};

struct diag_sockid {
	uint16_t sport, dport; /* network byte order */
	uint32_t src[4], dst[4];
	uint32_t ifindex;
	uint32_t cookie[2];
};

struct diag_req {
	uint8_t family, protocol, ext, pad;
	uint32_t states;
	struct diag_sockid id;
};

struct diag_msg {
	uint8_t family, state, timer, retrans;
	struct diag_sockid id;
	uint32_t expires, rqueue, wqueue, uid, inode;
};

/* Ports with a listener: fam[port] holds LXS_FWD_* bits (proto.h). */
struct diag_set {
	uint8_t fam[65536];
};

/*
 * The request that dumps the TCP listeners of `family` (AF_INET or
 * AF_INET6) into out (at least diag_request_size bytes).
 */
#define DIAG_REQUEST_SIZE (sizeof(struct diag_nlmsg) + sizeof(struct diag_req))
void diag_request(uint8_t *out, int family, uint32_t seq);

/*
 * One datagram of the dump's answer: the listeners it names that the host
 * can reach through loopback (bound to the wildcard or loopback address of
 * their family, or v4-mapped 127.0.0.1) are added to s. Returns 1 when the
 * dump is complete (NLMSG_DONE), 0 when more datagrams follow, -EPROTO for
 * a malformed one, or the kernel's negative errno (NLMSG_ERROR).
 */
int diag_parse(const uint8_t *buf, size_t len, struct diag_set *s);

/*
 * Fill s (cleared first) with the TCP listeners of both families through
 * the NETLINK_SOCK_DIAG socket nl, using buf (cap bytes, 32 KiB or more
 * for whole datagrams) and *seq. 0, or -errno (a kernel without IPv6
 * counts as having no IPv6 listeners).
 */
int diag_scan(int nl, uint8_t *buf, size_t cap, uint32_t *seq, struct diag_set *s);

#endif
