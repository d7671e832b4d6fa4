/*
 * lxs-session - drive lxs-init directly: start and stop distros, run
 * commands. The test suites use it before lxsd exists; lxsd uses the same
 * library (session.h).
 *
 *   lxs-session --vsock SOCK [--hosts] [--systemd] [--no-automount | --automount-root DIR]
 *               [--host-share TAG [--virtiofs] [--host-opts OPTS]] start NAME SERIAL [HOSTNAME]
 *   lxs-session --vsock SOCK stop NAME
 *   lxs-session --vsock SOCK shutdown
 *   lxs-session --vsock SOCK [-d NAME] [-u USER] [--cd DIR | --host-cd DIR] [-t|-T]
 *               [-e VAR=VAL]... -- CMD [ARG...]
 *   (--unix SOCK instead of --vsock for `lxs-init --serve-unix SOCK`)
 *
 * lxs-init does not read a distro's /etc/wsl.conf (lxsd does, and sends what
 * it says in DISTRO_START); the start options stand for its settings:
 * --hosts [network] generateHosts, --systemd [boot] systemd, --no-automount
 * [automount] enabled=false, --automount-root [automount] root; --host-share
 * names the distro's own share of the host's / (a virtio-fs one with
 * --virtiofs, else 9P mounted with the DrvFs options --host-opts), where
 * lxsd names the share of the distro's slot.
 *
 * --host-cd DIR starts in the distro's view of the host's folder DIR (under
 * its automount root), or at home where the distro has no host share.
 *
 * Exit status: the command's; 128+N when signal N killed it; 255 when
 * lxs-session itself failed (after one sentence on stderr).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

#define FAIL 255

static void die(const char *what, const char *err, int ret)
{
	fprintf(stderr, "lxs-session: %s: %s\n", what, err[0] ? err : strerror(-ret));
	exit(FAIL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"vsock", required_argument, NULL, 'V'},
	    {"unix", required_argument, NULL, 'U'},
	    {"distribution", required_argument, NULL, 'd'},
	    {"user", required_argument, NULL, 'u'},
	    {"cd", required_argument, NULL, 'c'},
	    {"env", required_argument, NULL, 'e'},
	    {"pty", no_argument, NULL, 't'},
	    {"no-pty", no_argument, NULL, 'T'},
	    {"hosts", no_argument, NULL, 'H'},
	    {"systemd", no_argument, NULL, 'S'},
	    {"no-automount", no_argument, NULL, 'N'},
	    {"automount-root", required_argument, NULL, 'R'},
	    {"host-cd", required_argument, NULL, 'C'},
	    {"host-share", required_argument, NULL, 'h'},
	    {"host-opts", required_argument, NULL, 'o'},
	    {"virtiofs", no_argument, NULL, 'F'},
	    {0},
	};
	const char *sock = NULL;
	uint32_t port = LXS_VSOCK_PORT_INIT;
	struct session_req q = {.distro = "", .user = "", .cwd = ""};
	const char **envp = calloc((size_t)argc + 8, sizeof(char *));
	size_t envc = 0;
	int pty = -1, c;
	uint32_t start_flags = 0;
	const char *automount_root = "", *host_tag = "", *host_opts = "";
	char err[512] = "";

	while ((c = getopt_long(argc, argv, "+d:u:e:tT", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			sock = optarg;
			port = LXS_VSOCK_PORT_INIT;
			break;
		case 'U':
			sock = optarg;
			port = 0;
			break;
		case 'd':
			q.distro = optarg;
			break;
		case 'u':
			q.user = optarg;
			break;
		case 'c':
			q.cwd = optarg;
			q.host_cwd = false;
			break;
		case 'C':
			q.cwd = optarg;
			q.host_cwd = true;
			break;
		case 'e':
			envp[envc++] = optarg;
			break;
		case 't':
			pty = 1;
			break;
		case 'T':
			pty = 0;
			break;
		case 'H':
			start_flags |= LXS_DISTRO_GEN_HOSTS;
			break;
		case 'S':
			start_flags |= LXS_DISTRO_SYSTEMD;
			break;
		case 'N':
			start_flags |= LXS_DISTRO_NO_AUTOMOUNT;
			break;
		case 'R':
			automount_root = optarg;
			break;
		case 'h':
			host_tag = optarg;
			break;
		case 'o':
			host_opts = optarg;
			break;
		case 'F':
			start_flags |= LXS_DISTRO_HOST_VIRTIOFS;
			break;
		default:
			fprintf(stderr,
				"lxs-session: see the usage at the top of src/session/main.c\n");
			return FAIL;
		}
	}
	if (!sock || optind >= argc) {
		fprintf(stderr, "lxs-session: give --vsock SOCK (or --unix SOCK) and a command\n");
		return FAIL;
	}
	int fd = session_connect(sock, port, err, sizeof(err));
	if (fd < 0)
		die("cannot reach lxs-init", err, fd);

	const char *verb = argv[optind];
	int ret;
	if (!strcmp(verb, "start") && argc - optind >= 3) {
		struct session_distro d = {.name = argv[optind + 1],
					   .serial = argv[optind + 2],
					   .hostname = argc - optind > 3 ? argv[optind + 3]
									 : argv[optind + 1],
					   .automount_root = automount_root,
					   .host_tag = host_tag,
					   .host_opts = host_opts,
					   .flags = start_flags,
					   .timeout_ms = 30000};
		ret = session_distro_start(fd, &d, err, sizeof(err));
		if (ret < 0)
			die("cannot start the distro", err, ret);
		return 0;
	}
	if (!strcmp(verb, "stop") && argc - optind == 2) {
		if ((ret = session_distro_stop(fd, argv[optind + 1], err, sizeof(err))) < 0)
			die("cannot stop the distro", err, ret);
		return 0;
	}
	if (!strcmp(verb, "shutdown")) {
		if ((ret = session_shutdown(fd, err, sizeof(err))) < 0)
			die("cannot shut the VM down", err, ret);
		return 0;
	}
	if (!strcmp(verb, "--"))
		optind++;
	if (optind >= argc) {
		fprintf(stderr, "lxs-session: no command given after --\n");
		return FAIL;
	}
	if (envc == 0) {
		envp[envc++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
		const char *term = getenv("TERM");
		static char termvar[128];
		if (term) {
			snprintf(termvar, sizeof(termvar), "TERM=%s", term);
			envp[envc++] = termvar;
		}
	}
	q.argv = (const char *const *)(argv + optind); /* C adds these consts only by a cast */
	q.envp = envp;
	q.pty = pty >= 0 ? pty : isatty(0) && isatty(1);

	struct lxs_exit ex = {0};
	ret = session_run_stdio(fd, &q, &ex, err, sizeof(err));
	if (ret < 0)
		die(q.argv[0], err, ret);
	return ex.signo ? 128 + ex.signo : ex.code;
}
