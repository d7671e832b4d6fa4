/*
 * lxs-net - the user-mode NAT of version 2: libslirp (what QEMU's
 * "-netdev user" is) in a process of its own, between lxs-vm's virtio-net
 * and the host's sockets. It listens on a Unix socket (mode 0600) for one
 * VMM at a time and exchanges Ethernet frames with it in the stream framing
 * of net/frame.h; connections the guest opens become the host's own TCP and
 * UDP sockets, made as this user, and nothing listens for the outside.
 *
 * Why a process and not a thread of lxs-vm: the NAT parses everything the
 * guest sends at every layer, and it needs the network, which lxs-vm's
 * sandbox never allows; here a bug in it reaches neither guest memory nor
 * the VMM's descriptors. lxsd restarts it if it dies; lxs-vm reconnects.
 *
 * The guest's network is fixed (common/proto.h): 10.0.2.0/24 and
 * fd00:6c78:73::/64, the NAT's gateway at .2/::2 reaching the host's
 * loopback, its DNS forwarder at .3/::3 asking the host's resolvers
 * (/etc/resolv.conf, read by libslirp).
 *
 * Once set up it confines itself (net/sandbox.c): IP sockets and reading
 * files, nothing else.
 *
 * usage: lxs-net --socket PATH | --fd N [--no-sandbox] [-v]
 * (--fd: a listening Unix socket made by lxsd, which outlives this process.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/posix_const.h"
#include "common/proto.h"
#include "net/frame.h"
#include "net/sandbox.h"

#define RX_BUF (512u * 1024)
/* Frames for the VMM beyond this wait nowhere: TCP resends, as on a full NIC queue. */
#define TX_MAX     (16u * 1024 * 1024)
#define MAX_TIMERS 16
#define MAX_FDS    4096

struct net_timer {
	bool used, armed;
	SlirpTimerId id;
	SlirpTimerCb cb; /* timers made through the old timer_new */
	void *cb_opaque;
	int64_t expire_ms;
};

struct nat {
	Slirp *slirp;
	int listen_fd, client_fd, signal_fd;
	uint8_t *rx;
	size_t rx_len;
	uint8_t *tx;
	size_t tx_off, tx_len;
	uint64_t tx_dropped, frames_in, frames_out;
	struct net_timer timers[MAX_TIMERS];
	struct pollfd *pfd;
	nfds_t npfd, slirp_first;
};

/* --- libslirp's callbacks -------------------------------------------------------- */

static void client_drop(struct nat *n, const char *why);

static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
	struct nat *n = opaque;
	uint8_t prefix[NET_STREAM_HDR];
	size_t done = 0;

	if (n->client_fd < 0 || len > NET_FRAME_MAX || n->tx_len + NET_STREAM_HDR + len > TX_MAX) {
		n->tx_dropped++;
		return (ssize_t)len;
	}
	net_stream_prefix(prefix, (uint32_t)len);
	if (n->tx_off && n->tx_len == n->tx_off)
		n->tx_off = n->tx_len = 0;
	/* Nothing queued: straight from libslirp's buffer to the socket, no copy. */
	if (n->tx_len == 0) {
		struct iovec iov[2] = {{prefix, NET_STREAM_HDR}, {iov_const(buf), len}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		ssize_t w = sendmsg(n->client_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			client_drop(n, strerror(errno));
			return (ssize_t)len;
		}
		done = w > 0 ? (size_t)w : 0;
	}
	/* What the socket did not take waits, in order, for POLLOUT. */
	if (done < NET_STREAM_HDR) {
		memcpy(n->tx + n->tx_len, prefix + done, NET_STREAM_HDR - done);
		n->tx_len += NET_STREAM_HDR - done;
		done = NET_STREAM_HDR;
	}
	memcpy(n->tx + n->tx_len, (const uint8_t *)buf + (done - NET_STREAM_HDR),
	       len - (done - NET_STREAM_HDR));
	n->tx_len += len - (done - NET_STREAM_HDR);
	n->frames_out++;
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	log_info("the guest sent something the NAT refused: %s", msg);
}

static int64_t clock_get_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct net_timer *timer_alloc(struct nat *n)
{
	for (int i = 0; i < MAX_TIMERS; i++) {
		if (!n->timers[i].used) {
			n->timers[i] = (struct net_timer){.used = true};
			return &n->timers[i];
		}
	}
	log_warnx("libslirp asked for more than %d timers; lxs-net must be built with more",
		  MAX_TIMERS);
	abort();
}

static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net_timer *t = timer_alloc(opaque);

	t->cb = cb;
	t->cb_opaque = cb_opaque;
	return t;
}

static void *timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_timer *t = timer_alloc(opaque);

	t->id = id;
	t->cb_opaque = cb_opaque;
	return t;
}

static void timer_free(void *timer, void *opaque)
{
	(void)opaque;
	((struct net_timer *)timer)->used = false;
}

static void timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct net_timer *t = timer;

	(void)opaque;
	t->armed = true;
	t->expire_ms = expire_ms;
}

static void register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb callbacks = {
    .send_packet = send_packet,
    .guest_error = guest_error,
    .clock_get_ns = clock_get_ns,
    .timer_new = timer_new,
    .timer_free = timer_free,
    .timer_mod = timer_mod,
    .register_poll_fd = register_poll_fd,
    .unregister_poll_fd = register_poll_fd,
    .notify = notify,
    .timer_new_opaque = timer_new_opaque,
};

/* The poll array: our fixed descriptors first, libslirp's after them. */
static int add_poll(int fd, int events, void *opaque)
{
	struct nat *n = opaque;
	short ev = 0;

	if (n->npfd == MAX_FDS) {
		log_warnx("more than %d sockets open in the NAT; some wait a turn", MAX_FDS);
		return -1;
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	n->pfd[n->npfd] = (struct pollfd){.fd = fd, .events = ev};
	return (int)n->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct nat *n = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (nfds_t)idx >= n->npfd)
		return 0;
	r = n->pfd[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* --- the VMM's connection -------------------------------------------------------- */

static void client_drop(struct nat *n, const char *why)
{
	if (n->client_fd < 0)
		return;
	log_info("the VM's connection ended (%s)", why);
	close(n->client_fd);
	n->client_fd = -1;
	n->rx_len = 0;
	n->tx_off = n->tx_len = 0;
}

static void client_read(struct nat *n)
{
	ssize_t got = recv(n->client_fd, n->rx + n->rx_len, RX_BUF - n->rx_len, MSG_DONTWAIT);
	size_t off = 0;

	if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
		client_drop(n, got == 0 ? "closed" : strerror(errno));
		return;
	}
	if (got < 0)
		return;
	n->rx_len += (size_t)got;
	for (;;) {
		const uint8_t *frame;
		size_t len, used;
		int r = net_stream_next(n->rx + off, n->rx_len - off, &frame, &len, &used);

		if (r < 0) {
			client_drop(n, "a frame of a bad length");
			return;
		}
		if (r == 0)
			break;
		slirp_input(n->slirp, frame, (int)len);
		n->frames_in++;
		off += used;
	}
	memmove(n->rx, n->rx + off, n->rx_len - off);
	n->rx_len -= off;
}

static void client_write(struct nat *n)
{
	while (n->client_fd >= 0 && n->tx_off < n->tx_len) {
		ssize_t w = send(n->client_fd, n->tx + n->tx_off, n->tx_len - n->tx_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			client_drop(n, strerror(errno));
			return;
		}
		n->tx_off += (size_t)w;
	}
	n->tx_off = n->tx_len = 0;
}

static void client_accept(struct nat *n)
{
	int fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int buf = 1 << 20;

	if (fd < 0)
		return;
	/* Only this user's processes: the socket's folder is private too, this is the second lock.
	 */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != getuid()) {
		close(fd);
		return;
	}
	/* A new VMM (the old one was killed) replaces the old connection. */
	client_drop(n, "a new VM connected");
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	n->client_fd = fd;
	log_info("a VM connected");
}

/* --- set-up and the loop ---------------------------------------------------------- */

static Slirp *nat_slirp(struct nat *n)
{
	static const char *no_search[] = {NULL};
	SlirpConfig cfg = {
	    .version = 4,
	    .in_enabled = true,
	    .vprefix_len = LXS_NET_PREFIX6,
	    .in6_enabled = true,
	    .vdnssearch = no_search,
	    .if_mtu = LXS_NET_MTU,
	    .if_mru = LXS_NET_MTU,
	    .vhostname = "lxs",
	};

	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, LXS_NET_GATEWAY4, &cfg.vhost);
	inet_pton(AF_INET, LXS_NET_GUEST4, &cfg.vdhcp_start);
	inet_pton(AF_INET, LXS_NET_DNS4, &cfg.vnameserver);
	inet_pton(AF_INET6, "fd00:6c78:73::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, LXS_NET_GATEWAY6, &cfg.vhost6);
	inet_pton(AF_INET6, LXS_NET_DNS6, &cfg.vnameserver6);
	return slirp_new(&cfg, &callbacks, n);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	/* A socket left by a killed lxs-net is replaced; any other file is not ours to remove. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a));

	umask(old);
	if (r < 0 || listen(fd, 4) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int run_timers(struct nat *n)
{
	/* The timers are in libslirp's clock (clock_get_ns), in milliseconds. */
	int64_t now = clock_get_ns(NULL) / 1000000, next = -1;

	for (int i = 0; i < MAX_TIMERS; i++) {
		struct net_timer *t = &n->timers[i];

		if (!t->used || !t->armed)
			continue;
		if (t->expire_ms <= now) {
			t->armed = false;
			if (t->cb)
				t->cb(t->cb_opaque);
			else
				slirp_handle_timer(n->slirp, t->id, t->cb_opaque);
			continue;
		}
		if (next < 0 || t->expire_ms - now < next)
			next = t->expire_ms - now;
	}
	return next < 0 ? -1 : (int)(next > 1000 ? 1000 : next);
}

static int nat_loop(struct nat *n)
{
	for (;;) {
		uint32_t timeout = 1000;
		int tt = run_timers(n);

		if (tt >= 0 && (uint32_t)tt < timeout)
			timeout = (uint32_t)tt;
		n->pfd[0] = (struct pollfd){.fd = n->signal_fd, .events = POLLIN};
		n->pfd[1] = (struct pollfd){.fd = n->listen_fd, .events = POLLIN};
		n->pfd[2] = (struct pollfd){
		    .fd = n->client_fd,
		    .events = (short)(POLLIN | (n->tx_len > n->tx_off ? POLLOUT : 0))};
		n->npfd = n->slirp_first = 3;
		slirp_pollfds_fill(n->slirp, &timeout, add_poll, n);
		int r = poll(n->pfd, n->npfd, (int)timeout);

		if (r < 0 && errno != EINTR) {
			log_warn("poll");
			return 1;
		}
		if (r > 0 && (n->pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(n->signal_fd, &si, sizeof(si)) == sizeof(si))
				return 0;
		}
		if (r > 0 && (n->pfd[1].revents & POLLIN))
			client_accept(n);
		if (r > 0 && n->client_fd >= 0 && n->pfd[2].fd == n->client_fd) {
			if (n->pfd[2].revents & POLLOUT)
				client_write(n);
			if (n->client_fd >= 0 && (n->pfd[2].revents & (POLLIN | POLLHUP | POLLERR)))
				client_read(n);
		}
		slirp_pollfds_poll(n->slirp, r < 0, get_revents, n);
		/* Frames libslirp produced just now: out at once, not after the next poll. */
		client_write(n);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lxs-net --socket PATH | --fd N [--no-sandbox] [-v]\n"
		"  the user-mode NAT of an lxs VM: lxs-vm --net PATH exchanges frames with it\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'}, {"fd", required_argument, NULL, 'f'},
	    {"no-sandbox", no_argument, NULL, 'N'},   {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},         {0},
	};
	const char *path = NULL;
	struct nat n = {.client_fd = -1, .listen_fd = -1};
	char *end;
	int c, verbose = 0, status, ret;
	bool sandbox = true;
	sigset_t set;

	log_init("lxs-net", LOG_NORMAL);
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'f':
			n.listen_fd = (int)strtol(optarg, &end, 10);
			if (*end || n.listen_fd < 3)
				fatalx(2, "--fd %s is not a descriptor number above 2", optarg);
			break;
		case 'N':
			sandbox = false;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path == (n.listen_fd < 0) || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (verbose)
		log_init("lxs-net", verbose > 1 ? LOG_DEBUG : LOG_VERBOSE);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	n.signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	n.rx = malloc(RX_BUF);
	n.tx = malloc(TX_MAX);
	n.pfd = calloc(MAX_FDS, sizeof(*n.pfd));
	if (n.signal_fd < 0 || !n.rx || !n.tx || !n.pfd)
		fatal(1, "cannot set up");
	if (path && (n.listen_fd = listen_unix(path)) < 0)
		fatal(1, "cannot listen on %s", path);
	if (fcntl(n.listen_fd, F_SETFL, O_NONBLOCK) < 0)
		fatal(1, "descriptor %d is not the listening socket lxs-net needs", n.listen_fd);
	n.slirp = nat_slirp(&n);
	if (!n.slirp) {
		if (path)
			unlink(path);
		fatalx(1, "libslirp refused the network's settings");
	}
	if (sandbox && ((ret = nat_sandbox_prepare()) < 0 || (ret = nat_sandbox_enter()) < 0)) {
		errno = -ret;
		fatal(1, "cannot enter the sandbox");
	}
	log_info("NAT for %s/%d and %s/%d (libslirp %s)", LXS_NET_GUEST4, LXS_NET_PREFIX4,
		 LXS_NET_GUEST6, LXS_NET_PREFIX6, slirp_version_string());
	status = nat_loop(&n);
	slirp_cleanup(n.slirp);
	/* The socket file of --socket stays (the sandbox removes nothing); the next start replaces
	 * it. */
	log_info("frames from the VM %llu, to it %llu, dropped for a full queue %llu",
		 (unsigned long long)n.frames_in, (unsigned long long)n.frames_out,
		 (unsigned long long)n.tx_dropped);
	return status;
}
