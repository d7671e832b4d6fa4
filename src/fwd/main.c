/*
 * lxs-fwd - localhost forwarding for the lxs VM (fwd.h): the TCP ports the
 * guest listens on, at the same ports on the host's loopback. lxsd starts
 * it beside lxs-vm when localhostForwarding is on (the default).
 *
 *   lxs-fwd [-v] [--no-sandbox] --vsock PATH
 *
 * PATH is lxs-vm's vsock socket; lxs-fwd listens on PATH_50002 for the
 * guest's reports. SIGTERM or SIGINT ends it cleanly. Exit status 0, or 1
 * after one sentence on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "fwd.h"

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"vsock", required_argument, NULL, 'V'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"no-sandbox", no_argument, NULL, 'N'},
	    {0},
	};
	enum log_level level = LOG_NORMAL;
	const char *vsock = NULL;
	struct fwd *f;
	sigset_t set;
	int c, ret;
	bool sandbox = true;

	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			vsock = optarg;
			break;
		case 'N':
			sandbox = false;
			break;
		case 'v':
			level = level == LOG_NORMAL ? LOG_VERBOSE : LOG_DEBUG;
			break;
		default:
			fprintf(stderr, "usage: lxs-fwd [-v] [--no-sandbox] --vsock PATH\n");
			return 2;
		}
	}
	if (!vsock || optind != argc) {
		fprintf(stderr, "usage: lxs-fwd [-v] [--no-sandbox] --vsock PATH\n");
		return 2;
	}
	log_init("lxs-fwd", level);
	/* Writes to a client that vanished fail with EPIPE instead of killing us. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fatal(1, "cannot create a signalfd");
	ret = fwd_create(&f, vsock, 0);
	if (ret == -EADDRINUSE)
		fatalx(1, "another lxs-fwd serves %s_%u already; stop it first", vsock,
		       LXS_VSOCK_PORT_FWD);
	if (ret < 0)
		fatalx(1, "cannot listen on %s_%u: %s; check that the folder exists and is yours",
		       vsock, LXS_VSOCK_PORT_FWD, strerror(-ret));
	/* Listening for the guest: from here on, only what sandbox.c allows. */
	if (sandbox && (ret = fwd_sandbox_enter()) < 0)
		fatalx(1, "cannot enter the sandbox: %s", strerror(-ret));
	ret = fwd_run(f, sfd, -1);
	fwd_destroy(f);
	close(sfd);
	if (ret < 0)
		fatalx(1, "the event loop failed: %s", strerror(-ret));
	return 0;
}
