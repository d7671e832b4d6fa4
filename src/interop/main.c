/*
 * lxs-host - interop from inside a distro, one static program (musl) under
 * several names, as WSL's /init is:
 *   lxs-host CMD [ARGS...]  runs CMD on the host, as the session's user, in
 *                           the host folder that matches ours;
 *   lxspath [-a] [-u|-w|-m] PATH   wslpath's path translation (lxspath.c);
 *   any other name          (a link in /usr/lib/lxs/host-path) runs the host
 *                           command of that name: `code .` is `lxs-host code .`.
 * It is the client of proto.h's interop conversation: stdin, stdout and
 * stderr are carried (a pseudo-terminal when ours is one), signals and the
 * window size passed on, and the host program's exit is ours (128+N for a
 * signal). Variables named in WSLENV/LXSENV go along, translated.
 *
 * Exit statuses of its own: 127 the command is not found on the host, 126
 * it cannot be run, 255 the host cannot be reached or refused; 1 interop is
 * off for this session.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "common/proto.h"
#include "interop/xlate.h"
#include "session/session.h"

#define FAIL 255

__attribute__((format(printf, 2, 3))) static int say(int code, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "lxs-host: ");

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	/* One write: stderr is unbuffered, and output must not land inside the line. */
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to say it. */
	}
	return code;
}

/* The session's interop server, as LXS_INTEROP names it: fd (HELLO done) or -errno. */
static int connect_host(const char *where, char *err, size_t errlen)
{
	int fd, ret;

	if (!strncmp(where, "vsock:", 6)) {
		char *end;
		unsigned long port = strtoul(where + 6, &end, 10);
		struct sockaddr_vm a = {
		    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = (unsigned)port};

		if (*end || !where[6] || port > 0xffffffffUL) {
			snprintf(err, errlen, "LXS_INTEROP=%.100s is not a vsock port", where);
			return -EINVAL;
		}
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			ret = -errno;
			snprintf(err, errlen,
				 "cannot reach the host (vsock port %lu): %s; the lxs session that "
				 "started this shell may have ended",
				 port, strerror(errno));
			goto fail;
		}
	} else {
		char why[512] = "";

		/* A Unix socket (version 1): the plain connect of the session client. */
		if ((fd = session_connect(where, 0, why, sizeof(why))) >= 0)
			return fd;
		snprintf(err, errlen,
			 "cannot reach the host (%.300s); the lxs session that started this shell "
			 "may have ended",
			 why);
		return fd;
	}
	if ((ret = session_hello(fd, err, errlen)) < 0)
		goto fail;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int run_on_host(char **argv)
{
	extern char **environ;
	const char *where = getenv("LXS_INTEROP");
	const char *mnt = xlate_host_mount();
	char err[1024] = "", cwd[PATH_MAX], hostcwd[PATH_MAX];
	char **env = NULL;
	size_t nenv = 0;
	int ret, fd;

	if (!where || !where[0])
		return say(1,
			   "running host programs is off in this session; turn it on with "
			   "[interop] enabled=true in the distro's /etc/wsl.conf and in lxs.conf, "
			   "then lxs --terminate the distro");
	/* The host folder that is ours; none (a distro folder): the host user's home. */
	hostcwd[0] = 0;
	if (getcwd(cwd, sizeof(cwd)) && xlate_to_host(mnt, cwd, hostcwd, sizeof(hostcwd)) < 0)
		hostcwd[0] = 0;
	if ((ret = xlate_env((const char *const *)environ, XLATE_INTO_HOST, mnt, &env, &nenv)) < 0)
		return say(FAIL, "%s",
			   ret == -E2BIG ? "the variables WSLENV names are too large to pass on"
					 : "out of memory");
	if ((fd = connect_host(where, err, sizeof(err))) < 0) {
		xlate_env_free(env);
		return say(FAIL, "%s", err);
	}
	const char *distro = getenv("WSL_DISTRO_NAME");
	struct session_req q = {.distro = distro ? distro : "",
				.user = "",
				.cwd = hostcwd,
				.argv = (const char *const *)argv,
				.envp = (const char *const *)env,
				.host_cwd = true,
				.host_env = true,
				.pty = isatty(0) && isatty(1)};
	struct lxs_exit ex = {0};
	ret = session_run_stdio(fd, &q, &ex, err, sizeof(err));
	close(fd);
	xlate_env_free(env);
	if (ret == -ENOENT)
		return say(127, "%s: command not found on the host", argv[0]);
	if (ret == -EACCES || ret == -ENOEXEC || ret == -EISDIR)
		return say(126, "%s: cannot run it on the host: %s", argv[0], strerror(-ret));
	if (ret == -E2BIG)
		return say(FAIL, "%s: the arguments and variables are too long to pass to the host",
			   argv[0]);
	if (ret < 0)
		return say(FAIL, "%s", err[0] ? err : "the host ended the conversation");
	return ex.signo ? 128 + ex.signo : ex.code;
}

int main(int argc, char **argv)
{
	char *name = strrchr(argv[0], '/');

	name = name ? name + 1 : argv[0];
	if (!strcmp(name, "lxspath") || !strcmp(name, "wslpath"))
		return lxspath_main(argc, argv, xlate_host_mount(), xlate_distro_files());
	if (strcmp(name, "lxs-host")) {
		/* A host command by name: argv[0] is the command. */
		argv[0] = name;
		return run_on_host(argv);
	}
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: lxs-host COMMAND [ARGUMENTS...]\n"
			"Runs COMMAND on the host as you, in the host folder matching this one\n"
			"(your host home for a folder of the distro), with stdin, stdout and\n"
			"stderr connected; exits with its status. WSLENV names the variables\n"
			"that go along (NAME/p translates a path).\n");
		return argc < 2 ? 2 : 0;
	}
	return run_on_host(argv + 1);
}
