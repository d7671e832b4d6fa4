/*
 * fuzz_vsock.c - libFuzzer target for the vsock muxer (src/vsock/): random
 * packets "from the guest" go into vsock_mux_tx(), interleaved with the
 * guest taking packets (vsock_mux_rx() with random buffer sizes) and with
 * host programs accepting, writing, closing and sending CONNECT lines on
 * real Unix sockets, all dispatched through a real epoll set. No KVM, no
 * virtqueues. Crashes, sanitizer reports and broken invariants (checked
 * with abort()) are findings.
 *
 * Build and run from the repository root:
 *
 *   mkdir -p build/fuzz/corpus-vsock
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *       tests/fuzz/fuzz_vsock.c src/vsock/packet.c src/vsock/connmap.c \
 *       src/vsock/bytebuf.c src/vsock/muxer.c src/common/log.c -o build/fuzz/fuzz_vsock
 *   build/fuzz/fuzz_vsock -max_total_time=300 build/fuzz/corpus-vsock
 *
 * Input: a sequence of records, each one action byte and its arguments:
 *   0, 1, 2  a guest packet: 44 header bytes (some fields steered towards
 *            valid values so that connections really open), a length byte
 *            pair, then that many payload bytes (cut at the input's end)
 *   3        the guest takes up to N packets with a buffer of M bytes
 *   4        a host service accepts a pending connection
 *   5        a host socket is written to, shut down or closed
 *   6        a host client connects to the muxer and sends some bytes
 *            (a CONNECT line, mostly)
 *   7        the guest's driver resets the device (odd argument), or
 *            nothing but the event dispatch done after every record
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsock/muxer.h"
#include "vsock/packet.h"

#define NLISTEN  3  /* host services on ports 1..NLISTEN */
#define MAX_HOST 64 /* host-side sockets the harness keeps */

/* Set up once per process: directory and host services. */
struct world {
	char dir[32];
	char prefix[64];
	int listen[NLISTEN];
};

/* One input's run. */
struct run {
	struct world *w;
	int ep;
	struct vsock_mux *mux;
	int host[MAX_HOST];
	int nhost;
	const uint8_t *p;
	size_t left;
};

static struct world *world;

static int watch(void *opaque, int fd, uint32_t old_events, uint32_t events)
{
	struct run *r = opaque;
	struct epoll_event e = {.events = events, .data.fd = fd};

	if (!old_events)
		return epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
	if (!events)
		return epoll_ctl(r->ep, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
	return epoll_ctl(r->ep, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
}

static void dispatch(struct run *r)
{
	struct epoll_event evs[32];
	int n;

	for (int round = 0; round < 4; round++) {
		n = epoll_wait(r->ep, evs, 32, 0);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++)
			vsock_mux_ready(r->mux, evs[i].data.fd, evs[i].events);
	}
}

static int take(struct run *r, void *out, size_t n)
{
	if (r->left < n)
		return 0;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 1;
}

static uint8_t byte(struct run *r)
{
	uint8_t b = 0;

	take(r, &b, 1);
	return b;
}

static void add_host(struct run *r, int fd)
{
	if (fd < 0)
		return;
	if (r->nhost == MAX_HOST) {
		close(fd);
		return;
	}
	r->host[r->nhost++] = fd;
}

static void guest_packet(struct run *r)
{
	static uint8_t payload[VSOCK_MAX_PAYLOAD + 16];
	uint8_t raw[VSOCK_HDR_SIZE], steer;
	struct vsock_hdr h;
	uint16_t len;
	size_t plen;

	if (!take(r, raw, sizeof(raw)))
		return;
	vsock_hdr_decode(raw, &h);
	/*
	 * Half the packets get every field steered towards validity, the
	 * others only some: connections must form for the deep paths to run.
	 */
	steer = raw[0] & 0x80 ? raw[0] : 0x7f;
	if (steer & 0x01)
		h.src_cid = 3;
	if (steer & 0x02)
		h.dst_cid = VSOCK_CID_HOST;
	if (steer & 0x04)
		h.type = VSOCK_TYPE_STREAM;
	if (steer & 0x08)
		h.dst_port %= NLISTEN + 2;
	if (steer & 0x10)
		h.src_port %= 4;
	if (steer & 0x20)
		h.op = (uint16_t)(h.op % 9);
	len = 0;
	take(r, &len, sizeof(len));
	plen = len < r->left ? len : r->left;
	if (steer & 0x40)
		h.len = (uint32_t)plen;
	memcpy(payload, r->p, plen);
	r->p += plen;
	r->left -= plen;
	/* The glue copies min(chain, len, max) bytes, and asks first. */
	if (vsock_mux_tx_ready(r->mux))
		vsock_mux_tx(r->mux, &h, payload, plen);
}

static void guest_receive(struct run *r)
{
	static uint8_t buf[VSOCK_MAX_PAYLOAD + 16];
	unsigned n = byte(r) % 16 + 1;
	size_t cap = (size_t)byte(r) << (byte(r) % 9);
	struct vsock_hdr h;

	for (unsigned i = 0; i < n && vsock_mux_has_rx(r->mux); i++) {
		if (!vsock_mux_rx(r->mux, &h, buf, cap))
			break;
		/* What the device writes into the guest must be well formed. */
		if (h.len > cap || h.len > VSOCK_MAX_PAYLOAD || h.src_cid != VSOCK_CID_HOST ||
		    h.dst_cid != 3 || h.type != VSOCK_TYPE_STREAM || h.op < VSOCK_OP_REQUEST ||
		    h.op > VSOCK_OP_CREDIT_REQUEST || (h.op != VSOCK_OP_RW && h.len))
			abort();
	}
}

static void host_accept(struct run *r)
{
	int l = r->w->listen[byte(r) % NLISTEN];

	add_host(r, accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
}

static void host_act(struct run *r)
{
	static uint8_t junk[8192];
	uint8_t what = byte(r), k = byte(r);
	int fd;

	if (!r->nhost)
		return;
	k %= r->nhost;
	fd = r->host[k];
	switch (what % 4) {
	case 0:
		if (send(fd, junk, (size_t)byte(r) * 32, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			/* full or reset: both fine */
		}
		break;
	case 1:
		while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		break;
	case 2:
		shutdown(fd, what & 4 ? SHUT_RD : SHUT_WR);
		break;
	case 3:
		close(fd);
		r->host[k] = r->host[--r->nhost];
		break;
	}
}

static void host_client(struct run *r)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[48];
	uint8_t how = byte(r);
	size_t n;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->w->prefix);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return;
	}
	if (how & 1) {
		n = (size_t)snprintf(line, sizeof(line), "CONNECT %u\n", byte(r) % 4);
	} else {
		n = byte(r) % sizeof(line);
		if (!take(r, line, n))
			n = 0;
	}
	if (send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* refused at the limit: fine */
	}
	add_host(r, fd);
}

/* libFuzzer ends with exit(): leave no sockets behind in /tmp. */
static void cleanup(void)
{
	char path[sizeof(world->prefix) + 16];

	for (int i = 0; i < NLISTEN; i++) {
		snprintf(path, sizeof(path), "%s_%d", world->prefix, i + 1);
		unlink(path);
	}
	unlink(world->prefix);
	rmdir(world->dir);
}

static int setup(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	signal(SIGPIPE, SIG_IGN);
	world = calloc(1, sizeof(*world));
	if (!world)
		return -1;
	snprintf(world->dir, sizeof(world->dir), "/tmp/lxs-fuzz-vsock-XXXXXX");
	if (!mkdtemp(world->dir))
		return -1;
	atexit(cleanup);
	snprintf(world->prefix, sizeof(world->prefix), "%s/vm", world->dir);
	for (int i = 0; i < NLISTEN; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%d", world->prefix, i + 1);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(fd, 64) < 0)
			return -1;
		world->listen[i] = fd;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsock_limits lim;
	struct vsock_stats st;
	struct run r = {.p = data, .left = size};
	int fd;

	if (!world && setup() < 0)
		abort();
	r.w = world;
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (r.ep < 0)
		abort();
	vsock_limits_default(&lim);
	lim.buf_alloc = 16384;
	lim.max_conns = 16;
	lim.max_buffered = 64 * 1024;
	lim.connect_timeout_ms = 1;
	lim.close_timeout_ms = 1;
	if (vsock_mux_create(&r.mux, 3, world->prefix, &lim, watch, &r) < 0)
		abort();

	while (r.left) {
		switch (byte(&r) % 8) {
		case 0:
		case 1:
		case 2:
			guest_packet(&r);
			break;
		case 3:
			guest_receive(&r);
			break;
		case 4:
			host_accept(&r);
			break;
		case 5:
			host_act(&r);
			break;
		case 6:
			host_client(&r);
			break;
		case 7:
			if (byte(&r) & 1)
				vsock_mux_reset(r.mux);
			break;
		}
		dispatch(&r);
		vsock_mux_stats(r.mux, &st);
		if (st.conns > lim.max_conns || st.buffered > lim.max_buffered)
			abort();
	}

	vsock_mux_destroy(r.mux);
	close(r.ep);
	for (int i = 0; i < r.nhost; i++)
		close(r.host[i]);
	/* Leave no half-open connection queued for the next input. */
	for (int i = 0; i < NLISTEN; i++)
		while ((fd = accept4(world->listen[i], NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
	return 0;
}
