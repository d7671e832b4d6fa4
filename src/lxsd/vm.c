/*
 * vm.c - lxsd's VM: one lxs-vm for every version-2 distro, booted on the
 * first session that needs it and stopped when idle.
 *
 * A boot is a state, not a wait: vm_boot() starts lxs-vm and listens on
 * the vsock port lxs-init announces itself on (LXS_VSOCK_PORT_READY); the
 * VM is up when READY arrives, failed when lxs-vm exits first or the boot
 * timeout passes. The VM's console goes to run/vm.log, which is for people:
 * nothing here reads it but the one sentence lxs-vm's errors end with.
 * Must not: start distros (running.c) or answer clients (clients.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/call.h"
#include "common/dirs.h"
#include "common/clock.h"
#include "common/proto.h"
#include "lxsd.h"
#include "session/session.h"

#define VM_STOP_TIMEOUT_MS 30000

/* The newest cached kernel build (kernel/build.sh), preferring vmlinux: PVH boots faster. */
static int find_kernel(const struct lxsd *s, char *out, size_t len)
{
	char dir[LXS_PATH_MAX];
	const char *env = getenv("LXS_KERNEL");
	time_t best = 0;

	if (s->cfg.kernel[0])
		return path_fmt(out, len, "%s", s->cfg.kernel);
	if (env && env[0])
		return path_fmt(out, len, "%s", env);
	if (path_fmt(dir, sizeof(dir), "%s/kernel", s->p.cache) < 0)
		return -ENAMETOOLONG;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char cand[LXS_PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.' ||
		    path_fmt(cand, sizeof(cand), "%s/%s/vmlinux", dir, e->d_name) < 0)
			continue;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime >= best) {
			best = st.st_mtime;
			snprintf(out, len, "%s", cand);
		}
	}
	if (d)
		closedir(d);
	return best ? 0 : -ENOENT;
}

static int find_initrd(const struct lxsd *s, char *out, size_t len)
{
	const char *env = getenv("LXS_INITRD");

	if (env && env[0])
		return path_fmt(out, len, "%s", env);
	if (path_fmt(out, len, "%s/guest/lxs-initramfs.cpio", s->p.bindir) == 0 &&
	    access(out, R_OK) == 0)
		return 0;
	if (path_fmt(out, len, "%s/../lib/lxs/lxs-initramfs.cpio", s->p.bindir) == 0 &&
	    access(out, R_OK) == 0)
		return 0;
	return -ENOENT;
}

/*
 * lxs-vm's own one-sentence error ("lxs-vm: cannot open /dev/kvm ..."), the
 * last such line of its log, into out without the prefix; false if none.
 * The user should read why the VM could not start, not be sent to a log.
 */
static bool log_vmm_error(const char *path, char *out, size_t outlen)
{
	char buf[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;
	ssize_t n;

	if (fd < 0)
		return false;
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1,
		  size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	const char *found = NULL;
	for (const char *p = buf; (p = strstr(p, "lxs-vm: ")); p++)
		if (p == buf || p[-1] == '\n')
			found = p + 8;
	if (!found)
		return false;
	snprintf(out, outlen, "%.*s", (int)strcspn(found, "\n"), found);
	return out[0] != 0;
}

static void warn_cb(const char *sentence, void *arg)
{
	(void)arg;
	fprintf(stderr, "lxsd: %s\n", sentence);
}

void lxsd_load_config(struct lxsd *s)
{
	config_defaults(&s->cfg);
	if (config_load(s->p.config, &s->cfg, warn_cb, NULL) < 0)
		fprintf(stderr, "lxsd: cannot read %s; using the defaults\n", s->p.config);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void ready_close(struct lxsd *s)
{
	close_fd(&s->ready_listen);
	close_fd(&s->ready_conn);
	if (s->ready_sock[0])
		unlink(s->ready_sock);
}

int vm_boot(struct lxsd *s, char *err, size_t errlen)
{
	char kernel[LXS_PATH_MAX], initrd[LXS_PATH_MAX], vmexe[LXS_PATH_MAX];
	char mem[32], cpus[16], cmdline[1200];
	int ret;

	if (s->vm != LXS_VM_STOPPED)
		return 0;
	lxsd_load_config(s); /* a new VM takes the configuration as it is now */
	s->vm_started_ms = now_ms();
	if (s->test_init) {
		/* Test mode: lxs-init --serve-unix plays the VM; nothing to boot. */
		snprintf(s->vsock, sizeof(s->vsock), "%s", s->test_init);
		s->vm_pidfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		s->vm_pid = 0;
		s->vm = LXS_VM_RUNNING;
		s->vm_idle_since_ms = now_ms();
		return 0;
	}
	if (find_kernel(s, kernel, sizeof(kernel)) < 0) {
		snprintf(err, errlen,
			 "no guest kernel found; build it with kernel/build.sh (or make kernel), "
			 "or set kernel= in %s",
			 s->p.config);
		return -ENOENT;
	}
	if (find_initrd(s, initrd, sizeof(initrd)) < 0) {
		snprintf(err, errlen,
			 "cannot find lxs-initramfs.cpio next to lxsd (%s/guest/); run make",
			 s->p.bindir);
		return -ENOENT;
	}
	const char *vmenv = getenv("LXS_VM");
	if ((ret = path_fmt(vmexe, sizeof(vmexe), "%s/lxs-vm", s->p.bindir)) < 0 ||
	    (vmenv && vmenv[0] && (ret = path_fmt(vmexe, sizeof(vmexe), "%s", vmenv)) < 0) ||
	    (ret = path_fmt(s->vsock, sizeof(s->vsock), "%s/vm.sock", s->p.run)) < 0 ||
	    (ret = path_fmt(s->control, sizeof(s->control), "%s/vm-control.sock", s->p.run)) < 0 ||
	    (ret = path_fmt(s->vm_log, sizeof(s->vm_log), "%s/vm.log", s->p.run)) < 0 ||
	    (ret = path_fmt(s->ready_sock, sizeof(s->ready_sock), "%s_%u", s->vsock,
			    LXS_VSOCK_PORT_READY)) < 0 ||
	    strlen(s->ready_sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen,
			 "the run folder's name %s is too long for a socket; set XDG_RUNTIME_DIR "
			 "to a shorter path",
			 s->p.run);
		return -ENAMETOOLONG;
	}
	/* Leftovers of a VM that died with a previous lxsd. */
	unlink(s->vsock);
	unlink(s->control);
	snprintf(mem, sizeof(mem), "%lluM", (unsigned long long)(s->cfg.memory >> 20));
	snprintf(cpus, sizeof(cpus), "%d", s->cfg.processors > 8 ? 8 : s->cfg.processors);
	snprintf(cmdline, sizeof(cmdline), "console=hvc0 quiet%s%s",
		 s->cfg.kernel_cmdline[0] ? " " : "", s->cfg.kernel_cmdline);
	snprintf(s->vm_desc, sizeof(s->vm_desc), "%s, %s, %s vCPUs", kernel, mem, cpus);
	if ((s->ready_listen = call_listen(s->ready_sock, 4, true)) < 0) {
		ret = s->ready_listen;
		s->ready_listen = -1;
		snprintf(err, errlen, "cannot listen on %s: %s", s->ready_sock, strerror(-ret));
		return ret;
	}
	int logfd = open(s->vm_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", s->vm_log, strerror(errno));
		goto fail;
	}
	if ((ret = netsvc_start(s, err, errlen)) < 0) {
		close(logfd);
		goto fail;
	}
	/*
	 * The host's / as one share per distro slot: virtio-fs ("hostfs<N>")
	 * or, where lxs.conf's [automount] transport says 9p, virtio-9p
	 * ("hostroot<N>"). lxs-init mounts a distro's with its /etc/wsl.conf
	 * [automount] options (running.c) and puts it at /mnt/host unless
	 * [automount] turns it off. It serves with this user's rights: a
	 * distro sees what the user sees.
	 */
	s->vm_virtiofs = s->cfg.host_virtiofs;
	const char *argv[32] = {
	    "lxs-vm", "--kernel",  kernel,     "--initrd",      initrd,           "--mem",
	    mem,      "--cpus",    cpus,       "--spare-disks", LXSD_SPARE_DISKS, "--vsock",
	    s->vsock, "--control", s->control, "--cmdline",     cmdline};
	int k = 17;
	char slots[LXSD_MAX_RUNNING][48];
	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		if (s->vm_virtiofs)
			snprintf(slots[i], sizeof(slots[i]), "hostfs%d=/,cache_ms=%ld", i,
				 s->cfg.host_cache_ms);
		else
			snprintf(slots[i], sizeof(slots[i]), "hostroot%d=/", i);
		argv[k++] = s->vm_virtiofs ? "--fs" : "--share";
		argv[k++] = slots[i];
	}
	/*
	 * lxs's tools (lxs-host, lxspath, the host's command names; lxs keeps
	 * the folder up to date), read-only, which lxs-init shows every distro
	 * at /usr/lib/lxs. A folder name with a comma cannot be a share: the
	 * distros then have no tools, and lxs-host is missing (said in vm.log).
	 */
	char tools[LXS_PATH_MAX + 16];
	if (!strchr(s->p.tools, ',') && mkdir_p(s->p.tools, 0755) == 0 &&
	    path_fmt(tools, sizeof(tools), "lxstools=%s,ro", s->p.tools) == 0) {
		argv[k++] = "--share";
		argv[k++] = tools;
	} else {
		dprintf(logfd, "lxsd: %s cannot be shared with the VM; no lxs-host in distros\n",
			s->p.tools);
	}
	/* networkingMode=none: no card at all, as WSL has none then. */
	if (s->net_fd >= 0) {
		argv[k++] = "--net";
		argv[k++] = s->net_sock;
	}
	argv[k] = NULL;
	/* The VM must not outlive lxsd: a killed lxsd takes its VM with it. */
	pid_t pid = child_spawn(vmexe, argv, logfd, -1, -1);
	close(logfd);
	if (pid < 0) {
		ret = (int)pid;
		netsvc_stop(s);
		snprintf(err, errlen, "cannot start lxs-vm: %s", strerror(-ret));
		goto fail;
	}
	s->vm_pid = pid;
	s->vm_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (s->vm_pidfd < 0) {
		ret = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		netsvc_stop(s);
		snprintf(err, errlen, "cannot watch lxs-vm: %s", strerror(-ret));
		goto fail;
	}
	s->vm = LXS_VM_BOOTING;
	s->vm_deadline_ms =
	    s->vm_started_ms + (s->cfg.boot_timeout_ms > 0 ? s->cfg.boot_timeout_ms : 120000);
	return 0;
fail:
	ready_close(s);
	return ret;
}

int vm_on_ready(struct lxsd *s)
{
	if (s->ready_conn < 0) {
		int fd = accept4(s->ready_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		/* Only lxs-vm, which runs as us, connects here for the guest. */
		if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 &&
		    cr.uid == getuid())
			s->ready_conn = fd;
		else if (fd >= 0)
			close(fd);
		return 0;
	}
	/* HELLO and READY, 16 bytes together: read them whole or wait for more. */
	uint8_t buf[2 * WIRE_HDR + sizeof(struct lxs_hello)];
	ssize_t n = recv(s->ready_conn, buf, sizeof(buf), MSG_PEEK);
	struct lxs_msg_hdr h, r;

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < (ssize_t)sizeof(buf)) {
		/* Short and ended, or wrong: this connection is no READY. */
		if (n <= 0 || recv(s->ready_conn, buf, 0, MSG_DONTWAIT) == 0)
			close_fd(&s->ready_conn);
		return 0;
	}
	memcpy(&h, buf, WIRE_HDR);
	memcpy(&r, buf + WIRE_HDR + sizeof(struct lxs_hello), WIRE_HDR);
	close_fd(&s->ready_conn);
	if (wire_hello_ok(&h, buf + WIRE_HDR) < 0 || r.type != LXS_MSG_READY || r.len != 0) {
		fprintf(stderr, "lxsd: a bad READY from the guest was ignored\n");
		return 0;
	}
	ready_close(s);
	s->vm = LXS_VM_RUNNING;
	s->vm_idle_since_ms = now_ms();
	netsvc_vm_up(s);
	fprintf(stderr, "lxsd: VM %d up in %lld ms (%s)\n", (int)s->vm_pid,
		(long long)(now_ms() - s->vm_started_ms), s->vm_desc);
	return 1;
}

/* Why a VM that was booting ended, from its exit status and log. */
static void boot_failure(const struct lxsd *s, int st, char *err, size_t errlen)
{
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	char why[512];

	if (code == LXS_EXIT_SLOW_KVM)
		snprintf(err, errlen,
			 "this machine's /dev/kvm cannot run a Linux guest at speed (a software "
			 "hypervisor); version 2 needs hardware virtualization");
	else if (code == LXS_EXIT_VMM_ERROR && log_vmm_error(s->vm_log, why, sizeof(why)))
		snprintf(err, errlen, "the VM could not start: %s", why);
	else
		snprintf(err, errlen,
			 "the VM stopped while starting (lxs-vm exit status %d); see %s", code,
			 s->vm_log);
}

int vm_on_exit(struct lxsd *s, char *err, size_t errlen)
{
	bool booting = s->vm == LXS_VM_BOOTING;
	int st = s->vm_status;

	if (s->vm_pid > 0 && !s->vm_reaped)
		waitpid(s->vm_pid, &st, 0);
	s->vm_reaped = false;
	if (booting)
		boot_failure(s, st, err, errlen);
	else if (s->vm == LXS_VM_RUNNING)
		fprintf(stderr, "lxsd: the VM stopped; see %s\n", s->vm_log);
	distros_forget(s);
	close_fd(&s->vm_pidfd);
	close_fd(&s->stop_fd);
	ready_close(s);
	s->vm_pid = 0;
	s->vm = LXS_VM_STOPPED;
	netsvc_stop(s);
	if (!s->test_init) {
		unlink(s->vsock);
		unlink(s->control);
	}
	return booting ? -EIO : 0;
}

int vm_check_deadline(struct lxsd *s, int64_t now, char *err, size_t errlen)
{
	if ((s->vm != LXS_VM_BOOTING && s->vm != LXS_VM_STOPPING) || now < s->vm_deadline_ms)
		return 0;
	bool booting = s->vm == LXS_VM_BOOTING;
	if (!booting)
		fprintf(stderr, "lxsd: the VM did not power off within %d s; killing it\n",
			VM_STOP_TIMEOUT_MS / 1000);
	kill(s->vm_pid, SIGKILL);
	s->vm = LXS_VM_STOPPING; /* so vm_on_exit does not call it a failed boot */
	vm_on_exit(s, err, errlen);
	if (!booting)
		return 0;
	snprintf(err, errlen, "the VM did not come up within %ld ms; see %s",
		 s->cfg.boot_timeout_ms > 0 ? s->cfg.boot_timeout_ms : 120000L, s->vm_log);
	return -ETIMEDOUT;
}

void vm_stop(struct lxsd *s, bool force)
{
	if (s->vm == LXS_VM_STOPPED)
		return;
	if (s->test_init) {
		s->vm = LXS_VM_STOPPING;
		vm_on_exit(s, NULL, 0);
		return;
	}
	if (!force && s->vm == LXS_VM_RUNNING) {
		char serr[512] = "";
		int fd = session_connect(s->vsock, LXS_VSOCK_PORT_INIT, serr, sizeof(serr));

		/* SHUTDOWN: init stops the distros, syncs, unmounts and powers off. */
		if (fd >= 0 && session_shutdown_send(fd) == 0) {
			/* Kept open until the VM is gone (its pidfd says when), unread. */
			s->stop_fd = fd;
			s->vm = LXS_VM_STOPPING;
			s->vm_deadline_ms = now_ms() + VM_STOP_TIMEOUT_MS;
			return;
		}
		if (fd >= 0)
			close(fd);
	}
	kill(s->vm_pid, SIGKILL);
	s->vm = LXS_VM_STOPPING;
	s->vm_deadline_ms = now_ms() + VM_STOP_TIMEOUT_MS;
}

void vm_stop_wait(struct lxsd *s)
{
	vm_stop(s, false);
	while (s->vm == LXS_VM_STOPPING && !s->test_init) {
		struct pollfd pf = {.fd = s->vm_pidfd, .events = POLLIN};
		int64_t left = s->vm_deadline_ms - now_ms();

		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			vm_check_deadline(s, now_ms() + VM_STOP_TIMEOUT_MS + 1, NULL, 0);
			break;
		}
		if (pf.revents)
			vm_on_exit(s, NULL, 0);
	}
}
