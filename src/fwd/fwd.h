/*
 * fwd.h - the host side of localhost forwarding (lxs-fwd): the TCP ports
 * that processes in the VM listen on, reachable at the same port on the
 * host's 127.0.0.1 and [::1]. proto.h (LXS_VSOCK_PORT_FWD) has the protocol.
 *
 * lxs-init reports its listeners over a guest-initiated vsock connection,
 * which lxs-vm hands to the Unix socket "<vsock>_50002" where lxs-fwd
 * listens. For every port reported, lxs-fwd listens on host loopback; each
 * client it accepts gets its own connection to the guest's relay port
 * (through lxs-vm's "<vsock>" socket and a CONNECT line), and one epoll loop
 * copies the bytes both ways with bounded buffers.
 *
 * Everything the guest sends is hostile: the parsers below check sizes,
 * types, ports and families, and the set of forwards is capped
 * (LXS_FWD_MAX_PORTS); a bad report drops the report connection, which
 * closes every forward, and the guest starts over.
 */
#ifndef LXS_FWD_FWD_H
#define LXS_FWD_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"

#define FWD_MAX_CONNS      1024  /* forwarded connections at once; more are refused */
#define FWD_BUF            65536 /* bytes buffered per direction of a connection */
#define FWD_HANDSHAKE_MS   10000 /* CONNECT, HELLO and the relay's answer, at most */
#define FWD_ERROR_TEXT_MAX 1024  /* longest ERROR text accepted from the relay */

/*
 * One message of the report connection after HELLO: 0 and *out for a valid
 * FWD_ADD or FWD_DEL, else -EPROTO (wrong type or size, port 0, families 0
 * or unknown bits, pad not zero).
 */
int fwd_check_report(const struct lxs_msg_hdr *h, const uint8_t *payload, struct lxs_fwd *out);

/*
 * HELLO from the guest: 0 when it is one of the right size, magic and
 * version; -EPROTO otherwise.
 */
int fwd_check_hello(const struct lxs_msg_hdr *h, const uint8_t *payload);

/* What an epoll event is about (the event loop's, in loop.c). */
struct fwd_ep {
	int kind;
	void *obj;
};

/* One forwarded port: its host listeners (-1 when not open). */
struct fwd_port {
	uint16_t port;
	uint8_t families; /* what the guest reported, LXS_FWD_* */
	int fd4, fd6;
	bool dead; /* closed; freed once the current batch of events is done */
	struct fwd_port *next_dead;
	struct fwd_ep ep4, ep6;
};

/* The set of forwarded ports, indexed by port. */
struct fwd_ports {
	struct fwd_port *by_port[65536];
	unsigned count, max;
};

enum fwd_change { FWD_NONE, FWD_OPEN, FWD_UPDATE, FWD_CLOSE };

/*
 * Apply a checked report message to the set. FWD_OPEN: a new entry (fds
 * -1) was inserted, the caller opens its listeners. FWD_UPDATE: a known
 * port's families changed or stayed. FWD_CLOSE: the entry was removed from
 * the set and is given to the caller in *entry to close and free. FWD_NONE:
 * a DEL of a port not in the set (one refused earlier). -ENOSPC: the set is
 * full (max entries); -ENOMEM; -EPROTO: neither ADD nor DEL.
 */
int fwd_ports_apply(struct fwd_ports *s, uint16_t type, const struct lxs_fwd *m,
		    struct fwd_port **entry);

/*
 * The relay's side of the handshake as lxs-fwd reads it, from the start of
 * the stream: "OK <n>\n" (lxs-vm's answer to CONNECT), HELLO, then OK or
 * ERROR. Returns 1 with *used = the bytes it took (what follows is the
 * forwarded stream), 0 when more bytes are needed, -EPROTO for anything
 * malformed, or the negative errno of the relay's ERROR (its text in err,
 * printable characters only); errno values outside 1..4095 are -EPROTO.
 */
int fwd_handshake_parse(const uint8_t *p, size_t len, size_t *used, char *err, size_t errlen);

/*
 * The bytes lxs-fwd sends first on a relay connection: the CONNECT line,
 * HELLO and FWD_CONNECT for port on `family` (LXS_FWD_IPV4 or _IPV6).
 * Returns the length written to out (at most cap), or -ENOSPC.
 */
int fwd_handshake_request(uint8_t *out, size_t cap, uint16_t port, uint8_t family);

struct fwd;

/*
 * Listen for the guest's report on "<vsock>_<LXS_VSOCK_PORT_FWD>" (mode
 * 0600; a stale socket file is replaced, a live one is -EADDRINUSE) and
 * relay through lxs-vm's socket `vsock`. max_ports 0: LXS_FWD_MAX_PORTS.
 */
int fwd_create(struct fwd **out, const char *vsock, unsigned max_ports);
/*
 * Serve until stop_fd becomes readable (a signalfd, say) or timeout_ms
 * passes (-1: no limit; for tests). 0, or -errno when epoll fails.
 */
int fwd_run(struct fwd *f, int stop_fd, int timeout_ms);
/* Close everything and remove the report socket's file. */
void fwd_destroy(struct fwd *f);

/* For tests: how many ports are forwarded and connections open now. */
unsigned fwd_port_count(const struct fwd *f);
unsigned fwd_conn_count(const struct fwd *f);

/* sandbox.c: confine lxs-fwd for good once it listens (0, or -errno: do not go on). */
int fwd_sandbox_enter(void);

#endif
