/*
 * netpp - bench/net's TCP ping-pong, the same static binary on the host and
 * in the guest (bench/lib/netbench.py builds it with musl-gcc).
 *
 *   netpp server ADDR PORT      serve for good: every connection gets each
 *                               byte it sends echoed back, one at a time,
 *                               until it closes (one connection at a time)
 *   netpp rr ADDR PORT SECS     one connection, 1-byte request + 1-byte reply
 *                               for SECS seconds; prints "rr_us=MEAN n=COUNT"
 *   netpp connect ADDR PORT SECS  a new connection, 1-byte request + 1-byte
 *                               reply, close, for SECS seconds; prints
 *                               "connect_us=MEAN n=COUNT"
 *   netpp wait PORT [SECS]      accept one connection on 0.0.0.0:PORT, read
 *                               a byte, answer it, exit 0 (SIGALRM after SECS)
 *   netpp poke ADDR PORT        one connection, one round trip (ends a wait)
 *
 * TCP_NODELAY on every socket; times are CLOCK_MONOTONIC; the first 1% of
 * round trips (at least 10) are a warm-up left out of the mean. Errors: one
 * line on stderr, exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	fprintf(stderr, "netpp: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)) };

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "netpp: bad IPv4 address '%s'\n", ip);
		exit(1);
	}
	return a;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int listen_on(struct sockaddr_in a)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(fd, 64) < 0)
		die("listen");
	return fd;
}

static int dial(struct sockaddr_in a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	nodelay(fd);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	return fd;
}

/* One byte out, one byte back. */
static void ping(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1)
		die("write");
	ssize_t n = read(fd, &c, 1);
	if (n != 1) {
		if (n == 0)
			errno = ECONNRESET;
		die("read");
	}
}

static void echo_until_eof(int fd)
{
	char c;

	nodelay(fd);
	while (read(fd, &c, 1) == 1)
		if (write(fd, &c, 1) != 1)
			break;
	close(fd);
}

/* Round trips (a new connection each when FRESH) for SECS seconds. */
static void measure(struct sockaddr_in a, double secs, int fresh)
{
	int fd = fresh ? -1 : dial(a);
	double start = now_us(), end = start + secs * 1e6, t0 = 0;
	long n = 0, warm = -1;

	for (;;) {
		double t = now_us();

		if (t >= end)
			break;
		/* Warm-up: the first 1% of the time (the count is unknown ahead). */
		if (warm < 0 && t - start >= secs * 1e4 && n >= 10) {
			warm = n;
			t0 = t;
		}
		if (fresh) {
			fd = dial(a);
			ping(fd);
			close(fd);
		} else {
			ping(fd);
		}
		n++;
	}
	if (!fresh)
		close(fd);
	if (warm < 0 || n - warm < 1) {
		fprintf(stderr, "netpp: too few round trips (%ld) in %.1f s\n", n, secs);
		exit(1);
	}
	printf("%s=%.1f n=%ld\n", fresh ? "connect_us" : "rr_us", (now_us() - t0) / (double)(n - warm),
	       n - warm);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "server")) {
		int lfd = listen_on(addr_of(argv[2], argv[3]));

		for (;;) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0) {
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				die("accept");
			}
			echo_until_eof(fd);
		}
	}
	if (argc == 5 && (!strcmp(argv[1], "rr") || !strcmp(argv[1], "connect"))) {
		measure(addr_of(argv[2], argv[3]), atof(argv[4]), !strcmp(argv[1], "connect"));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "poke")) {
		int fd = dial(addr_of(argv[2], argv[3]));

		ping(fd);
		close(fd);
		return 0;
	}
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "wait")) {
		int lfd = listen_on(addr_of("0.0.0.0", argv[2]));

		alarm(argc == 4 ? (unsigned)atoi(argv[3]) : 0);
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		char c;

		if (fd < 0)
			die("accept");
		if (read(fd, &c, 1) == 1 && write(fd, &c, 1) != 1)
			die("write");
		close(fd);
		return 0;
	}
	fprintf(stderr, "usage: netpp server ADDR PORT | rr ADDR PORT SECS | connect ADDR PORT SECS | wait PORT [SECS] | poke ADDR PORT\n");
	return 2;
}
