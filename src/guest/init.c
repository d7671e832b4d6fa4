/*
 * lxs-init - PID 1 of the lxs VM. It mounts the kernel's file systems,
 * listens for the host on vsock port LXS_VSOCK_PORT_INIT, and serves each
 * connection in a child of its own (so a stuck session never stalls PID 1),
 * reaps orphans, and on SHUTDOWN (or SIGTERM) stops the distros, syncs,
 * unmounts and powers the VM off through the lxs power port.
 *
 * It also listens on LXS_VSOCK_PORT_DISTROFS, where the host gets the
 * distros' files over 9P (distrofs.c), again a child per connection.
 *
 * `lxs-init --serve-unix PATH` runs the same service on a Unix socket on any
 * host, without distros or namespaces: the session protocol and relay can be
 * tested without a VM. For tests only, with LXS_INIT_DISTROFS_ROOT set in
 * its environment it also serves 9P on PATH_50001 (lxs-vm's name for a
 * port's socket), that folder standing for every distro.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "sys.h"

#define say(...) say_as("", __VA_ARGS__)

static void mount_one(const char *src, const char *dst, const char *type, unsigned long flags,
		      const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY)
		say("cannot mount %s on %s: %s", type, dst, strerror(errno));
}

/*
 * The initramfs is the rootfs mount, which has no parent, and pivot_root()
 * refuses to leave such a root: containers could only chroot, which root in
 * a distro can escape. So PID 1 first moves onto a tmpfs root (what
 * switch_root does), and every container derives from a root it can pivot
 * away from. The initramfs held only this program, which keeps running.
 */
static void leave_initramfs(void)
{
	mkdir("/root.tmp", 0755);
	if (mount("tmpfs", "/root.tmp", "tmpfs", 0, "mode=0755") < 0) {
		say("cannot mount the root tmpfs: %s", strerror(errno));
		return;
	}
	unlink("/init");
	if (chdir("/root.tmp") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		say("cannot move onto the root tmpfs: %s", strerror(errno));
}

static void mount_kernel_fs(void)
{
	mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "gid=5,mode=620,ptmxmode=0666");
	mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mkdir(DISTRO_DIR, 0755);
	mkdir("/run/lxs", 0755);
	mkdir(REGISTRY_DIR, 0755);
}

/* stdio on the console, so messages reach the VMM's output. */
static void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void power_off(int code)
{
	distro_stop_all();
	sync();
	umount2(DISTRO_DIR, MNT_DETACH);
	if (iopl(3) == 0)
		outl(LXS_POWER_VALUE(LXS_POWER_OFF, code), LXS_PORT_POWER);
	reboot(RB_POWER_OFF);
	_exit(code);
}

static int listen_vsock(unsigned port)
{
	struct sockaddr_vm a = {
	    .svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		say("cannot listen on vsock port %u: %s", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(a.sun_path)) {
		say("socket path %s is too long", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		say("cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Test mode's 9P socket: PATH_50001, as lxs-vm names a port's socket, only
 * when LXS_INIT_DISTROFS_ROOT names the folder to serve; -1 otherwise.
 */
static int listen_distrofs_unix(struct init_opts *o, const char *path)
{
	char sock[128];

	o->distrofs_root = getenv("LXS_INIT_DISTROFS_ROOT");
	if (!o->distrofs_root || !o->distrofs_root[0])
		return -1;
	if (snprintf(sock, sizeof(sock), "%s_%u", path, LXS_VSOCK_PORT_DISTROFS) >=
	    (int)sizeof(sock)) {
		say("socket path %s_%u is too long", path, LXS_VSOCK_PORT_DISTROFS);
		return -1;
	}
	return listen_unix(sock);
}

int serve_connection(const struct init_opts *o, int fd)
{
	struct wire w;
	struct lxs_msg_hdr h;
	const uint8_t *p;
	int ret;
	char err[256] = "";

	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (wire_init(&w, fd) < 0)
		return -ENOMEM;
	/* HELLO first, both ways; anything else, or another version, ends here. */
	if ((ret = hello_answer(&w, 30000)) < 0)
		goto out;

	ret = wire_recv(&w, &h, &p, 30000);
	if (ret == -EPROTO) {
		ret = wire_send_error(&w, EPROTO, "malformed or unknown message after HELLO");
		goto out;
	}
	if (ret < 0)
		goto out;
	switch (h.type) {
	case LXS_MSG_CREATE: {
		/* The relay reads on from this wire: hand it the request, consumed. */
		uint8_t *req = malloc(h.len ? h.len : 1);

		if (!req) {
			ret = wire_send_error(&w, ENOMEM, "out of memory");
			break;
		}
		memcpy(req, p, h.len);
		size_t len = h.len;
		wire_consume(&w);
		ret = relay_session(o, &w, req, len);
		free(req);
		break;
	}
	case LXS_MSG_DISTRO_START: {
		const char *s[7];
		struct lxs_distro d;

		if (o->test_mode) {
			ret = wire_send_error(&w, ENOTSUP,
					      "this lxs-init runs in test mode, without distros");
			break;
		}
		if (h.len < sizeof(d) || wire_split(p + sizeof(d), h.len - sizeof(d), s, 7) < 0) {
			ret = wire_send_error(&w, EPROTO, "malformed DISTRO_START");
			break;
		}
		memcpy(&d, p, sizeof(d));
		if ((d.flags & ~LXS_DISTRO_FLAGS) || strlen(s[3]) > LXS_RESOLV_MAX) {
			ret = wire_send_error(&w, EPROTO,
					      "DISTRO_START with unknown flags %#x or too long a "
					      "resolv.conf",
					      d.flags);
			break;
		}
		struct distro_spec spec = {.name = s[0],
					   .serial = s[1],
					   .hostname = s[2],
					   .resolv_conf = s[3],
					   .host_tag = s[4],
					   .host_opts = s[5],
					   .automount_root = s[6],
					   .flags = d.flags,
					   .timeout_ms = d.timeout_ms};
		ret = distro_start(&spec, err, sizeof(err));
		ret = ret < 0 ? wire_send_error(&w, -ret, "%s", err)
			      : wire_send(&w, LXS_MSG_OK, 0, NULL, 0, NULL, 0);
		break;
	}
	case LXS_MSG_DISTRO_STOP: {
		const char *s[1];

		if (o->test_mode || wire_split(p, h.len, s, 1) < 0) {
			ret = wire_send_error(&w, o->test_mode ? ENOTSUP : EPROTO,
					      "cannot stop a distro here");
			break;
		}
		ret = distro_stop(s[0], err, sizeof(err));
		ret = ret < 0 ? wire_send_error(&w, -ret, "%s", err)
			      : wire_send(&w, LXS_MSG_OK, 0, NULL, 0, NULL, 0);
		break;
	}
	case LXS_MSG_SHUTDOWN:
		wire_send(&w, LXS_MSG_OK, 0, NULL, 0, NULL, 0);
		if (o->test_mode)
			kill(getppid(), SIGTERM);
		else
			kill(1, SIGTERM);
		ret = 0;
		break;
	default:
		ret = wire_send_error(&w, EPROTO, "unexpected message type %u after HELLO", h.type);
		break;
	}
out:
	wire_fini(&w);
	close(fd);
	return ret;
}

/* Localhost forwarding runs in a child of its own (forward.c), restarted if it dies. */
static pid_t start_forward(int lfd, int sfd, int dfd)
{
	pid_t pid = fork();

	if (pid == 0) {
		close(lfd);
		close(sfd);
		if (dfd >= 0)
			close(dfd);
		_exit(forward_main());
	}
	return pid > 0 ? pid : 0;
}

int main(int argc, char **argv)
{
	struct init_opts o = {0};
	sigset_t set;
	int lfd, dfd = -1;

	if (argc == 3 && !strcmp(argv[1], "--serve-unix")) {
		o.test_mode = true;
		lfd = listen_unix(argv[2]);
		if (lfd >= 0)
			dfd = listen_distrofs_unix(&o, argv[2]);
	} else if (getpid() == 1) {
		leave_initramfs();
		mount_kernel_fs();
		open_console();
		netif_setup();
		lfd = listen_vsock(LXS_VSOCK_PORT_INIT);
		/* Without it, sessions still work: the host just cannot see the distros' files. */
		dfd = listen_vsock(LXS_VSOCK_PORT_DISTROFS);
	} else {
		fprintf(stderr,
			"usage: lxs-init (as PID 1 of the lxs VM) | lxs-init --serve-unix PATH\n");
		return 2;
	}
	if (lfd < 0) {
		if (!o.test_mode)
			power_off(1);
		return 1;
	}
	/* SIGCHLD and SIGTERM arrive through a signalfd; children get them back. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	/* The VMM's boot timer: init is up and listening. */
	if (!o.test_mode && iopl(3) == 0) {
		for (const char *m = LXS_BOOT_MARK; *m; m++)
			outb((unsigned char)*m, LXS_PORT_DEBUGCON);
	}
	if (!o.test_mode)
		announce_ready();
	pid_t fwd_pid = 0;
	int64_t fwd_start_at = 0; /* a second after it died: no crash loop */
	for (;;) {
		struct pollfd pf[3] = {{.fd = lfd, .events = POLLIN},
				       {.fd = sfd, .events = POLLIN},
				       {.fd = dfd, .events = POLLIN}}; /* -1: ignored */
		int64_t now = now_ms();

		if (!o.test_mode && !fwd_pid && now >= fwd_start_at)
			fwd_pid = start_forward(lfd, sfd, dfd);
		/* Without a forwarding process, wake up in time to start it again. */
		int timeout = -1;
		if (!o.test_mode && !fwd_pid)
			timeout = now >= fwd_start_at ? 1000 : (int)(fwd_start_at - now);
		if (poll(pf, 3, timeout) < 0 && errno != EINTR)
			break;
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					if (o.test_mode)
						return 0;
					power_off(0);
				}
			}
			/* Reap every child and every orphan that was reparented to us. */
			pid_t pid;
			while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
				if (pid == fwd_pid) {
					fwd_pid = 0;
					fwd_start_at = now_ms() + 1000;
				}
			}
		}
		/* Each connection in a child of its own: a stuck one never stalls PID 1. */
		for (int i = 0; i < 3; i += 2) {
			int cfd = (pf[i].revents & POLLIN)
				      ? accept4(pf[i].fd, NULL, NULL, SOCK_CLOEXEC)
				      : -1;

			if (cfd < 0)
				continue;
			if (fork() == 0) {
				sigprocmask(SIG_UNBLOCK, &set, NULL);
				close(lfd);
				close(sfd);
				if (dfd >= 0)
					close(dfd);
				_exit((i == 0 ? serve_connection(&o, cfd)
					      : distrofs_serve(&o, cfd)) < 0);
			}
			close(cfd);
		}
	}
	return 1;
}
