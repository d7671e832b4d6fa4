#include <ctype.h>
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
#include <time.h>
#include <unistd.h>

#include "common/proto.h"
#include "store/extfile.h"
#include "lxsd.h"
#include "session/session.h"

#define DISTRO_START_TIMEOUT_MS 30000
/* With [boot] systemd the start also waits for its boot, which only this caps. */
#define SYSTEMD_START_TIMEOUT_MS 120000

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

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

static bool log_has_mark(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* The mark comes early, before any chatter could push it past the buffer. */
	return memmem(buf, (size_t)n, "lxs-init-reached", 16) != NULL;
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

int vm_ensure(struct lxsd *s, char *err, size_t errlen)
{
	char kernel[LXS_PATH_MAX], initrd[LXS_PATH_MAX], vmexe[LXS_PATH_MAX];
	char mem[32], cpus[16], cmdline[1200];
	int ret;

	if (s->vm_pidfd >= 0)
		return 0;
	if (s->test_init) {
		/* Test mode: lxs-init --serve-unix plays the VM; nothing to boot. */
		snprintf(s->vsock, sizeof(s->vsock), "%s", s->test_init);
		s->vm_pidfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		s->vm_pid = 0;
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
	if ((ret = path_fmt(vmexe, sizeof(vmexe), "%s/lxs-vm", s->p.bindir)) < 0 ||
	    (ret = path_fmt(s->vsock, sizeof(s->vsock), "%s/vm.sock", s->p.run)) < 0 ||
	    (ret = path_fmt(s->control, sizeof(s->control), "%s/vm-control.sock", s->p.run)) < 0 ||
	    (ret = path_fmt(s->vm_log, sizeof(s->vm_log), "%s/vm.log", s->p.run)) < 0) {
		snprintf(err, errlen, "the run folder's name %s is too long for a socket",
			 s->p.run);
		return -ENAMETOOLONG;
	}
	if (strlen(s->vsock) + 8 > sizeof(((struct sockaddr_un *)0)->sun_path)) {
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
	int logfd = open(s->vm_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", s->vm_log, strerror(errno));
		return ret;
	}
	if ((ret = netsvc_start(s, err, errlen)) < 0) {
		close(logfd);
		return ret;
	}
	int64_t started = now_ms();
	/*
	 * The host's / as one virtio-9p share per distro slot ("hostroot<N>"):
	 * lxs-init mounts a distro's with its /etc/wsl.conf [automount]
	 * options and puts it at /mnt/host unless [automount] turns it off.
	 * It serves with this user's rights: a distro sees what the user sees.
	 */
	_Static_assert(LXSD_MAX_RUNNING == 3, "a hostroot share per slot, named below");
	const char *argv[] = { "lxs-vm", "--kernel", kernel, "--initrd", initrd, "--mem", mem,
		"--share", "hostroot0=/", "--share", "hostroot1=/", "--share", "hostroot2=/",
		"--cpus", cpus, "--spare-disks", LXSD_SPARE_DISKS, "--vsock", s->vsock,
		"--control", s->control, "--cmdline", cmdline,
		/* networkingMode=none: no card at all, as WSL has none then. */
		s->net_fd >= 0 ? "--net" : NULL, s->net_sock, NULL };
	/* The VM must not outlive lxsd: a killed lxsd takes its VM with it. */
	pid_t pid = child_spawn(vmexe, argv, logfd, -1, -1);
	close(logfd);
	if (pid < 0) {
		ret = (int)pid;
		netsvc_stop(s);
		snprintf(err, errlen, "cannot start lxs-vm: %s", strerror(-ret));
		return ret;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int64_t deadline = started + (s->cfg.boot_timeout_ms > 0 ? s->cfg.boot_timeout_ms : 120000);
	int st;
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

			if (pidfd >= 0)
				close(pidfd);
			netsvc_stop(s);
			char why[512];

			if (code == LXS_EXIT_SLOW_KVM)
				snprintf(err, errlen,
					 "this machine's /dev/kvm cannot run a Linux guest at "
					 "speed (a software hypervisor); version 2 needs hardware "
					 "virtualization");
			else if (code == LXS_EXIT_VMM_ERROR &&
				 log_vmm_error(s->vm_log, why, sizeof(why)))
				snprintf(err, errlen, "the VM could not start: %s", why);
			else
				snprintf(
				    err, errlen,
				    "the VM stopped while starting (lxs-vm exit status %d); see %s",
				    code, s->vm_log);
			return -EIO;
		}
		if (log_has_mark(s->vm_log) && access(s->vsock, F_OK) == 0)
			break;
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			if (pidfd >= 0)
				close(pidfd);
			netsvc_stop(s);
			snprintf(err, errlen, "the VM did not come up within %ld ms; see %s",
				 s->cfg.boot_timeout_ms, s->vm_log);
			return -ETIMEDOUT;
		}
		sleep_ms(5);
	}
	s->vm_pid = pid;
	s->vm_pidfd = pidfd;
	s->vm_idle_since_ms = now_ms();
	netsvc_vm_up(s);
	fprintf(stderr, "lxsd: VM %d up in %lld ms (%s, %s, %s vCPUs)\n", (int)pid,
		(long long)(now_ms() - started), kernel, mem, cpus);
	return 0;
}

/* One line to lxs-vm's control socket, one line back ("ok ..." or "error ..."). */
static int vm_control(const struct lxsd *s, const char *cmd, char *answer, size_t len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t got = 0;
	int fd, ret;

	if (strlen(s->control) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, s->control, strlen(s->control) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	char line[LXS_PATH_MAX + 128];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);
	/* One write: lxs-vm takes the command from a single read. */
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || write(fd, line, (size_t)n) != n) {
		ret = -errno;
		close(fd);
		return ret;
	}
	while (got + 1 < len) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		if (poll(&pf, 1, 10000) <= 0)
			break;
		ssize_t k = read(fd, answer + got, len - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	answer[got] = 0;
	answer[strcspn(answer, "\n")] = 0;
	return strncmp(answer, "ok", 2) ? -EIO : 0;
}

struct running *running_find(struct lxsd *s, const char *name)
{
	for (int i = 0; i < LXSD_MAX_RUNNING; i++)
		if (s->r[i].used && !strcasecmp(s->r[i].name, name))
			return &s->r[i];
	return NULL;
}

static void release(struct running *r)
{
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	free(r->passwd);
	memset(r, 0, sizeof(*r));
	r->lock_fd = -1;
}

/* A name /etc/hosts can carry: letters, digits, '-' and '.', not starting with '-'. */
static bool hostname_ok(const char *h)
{
	if (!h[0] || h[0] == '-' || h[0] == '.')
		return false;
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && *h != '-' && *h != '.')
			return false;
	return true;
}

/* The distro's name as a hostname: '_' (allowed in distro names) becomes '-'. */
static void distro_hostname(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s", name);
	for (char *c = buf; *c; c++)
		if (*c == '_')
			*c = '-';
}

/*
 * A distro's generated /etc/resolv.conf. With the NAT (networkingMode=nat)
 * its one nameserver is the NAT's DNS forwarder, which asks the host's
 * resolvers whatever they are (127.0.0.53 included), as WSL's NAT names its
 * own; the host's search, domain and options lines follow. Without a
 * network, the host's lines less loopback nameservers (a resolver on the
 * host's 127.0.0.53 is not the guest's). Returns the length; 0 when nothing
 * usable is left, and the distro's file stays.
 */
static size_t host_resolvers(char *buf, size_t len, bool nat)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512];
	size_t n = 0;
	bool servers = false;

	buf[0] = 0;
	if (nat) {
		n = (size_t)snprintf(buf, len, "nameserver %s\n", LXS_NET_DNS4);
		servers = true;
	}
	if (!f)
		return n;
	while (fgets(line, sizeof(line), f)) {
		char key[16] = "", val[256] = "";

		if (sscanf(line, "%15s %255s", key, val) != 2)
			continue;
		if (!strcmp(key, "nameserver")) {
			if (nat || !strncmp(val, "127.", 4) || !strcmp(val, "::1"))
				continue;
			servers = true;
		} else if (strcmp(key, "search") && strcmp(key, "domain") &&
			   strcmp(key, "options")) {
			continue;
		}
		size_t k = strlen(line);
		if (line[k - 1] != '\n' || n + k >= len)
			continue;
		memcpy(buf + n, line, k + 1);
		n += k;
	}
	fclose(f);
	if (!servers)
		buf[0] = 0;
	return servers ? n : 0;
}

/* [boot] command, as root, when the distro starts; lxsd does not wait for it. */
static void run_boot_command(struct lxsd *s, struct running *r)
{
	pid_t pid = fork();

	if (pid != 0) {
		r->boot_pid = pid > 0 ? pid : 0;
		return;
	}
	char err[256] = "";
	int fd =
	    session_connect(s->vsock, s->test_init ? 0 : LXS_VSOCK_PORT_INIT, err, sizeof(err));
	if (fd < 0)
		_exit(1);
	char *argv[] = {"/bin/sh", "-c", r->wsl.boot_command, NULL};
	char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HOME=/root", "USER=root", "LOGNAME=root", NULL};
	struct session_req q = {
	    .distro = r->name, .user = "", .cwd = "/", .argv = argv, .envp = envp};
	struct lxs_exit ex;
	int nul = open("/dev/null", O_RDWR);
	int ret = session_run(fd, &q, nul, nul, nul, -1, &ex, err, sizeof(err));
	_exit(ret < 0 ? 1 : ex.code);
}

void reap_children(struct lxsd *s)
{
	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		if (s->r[i].used && s->r[i].boot_pid > 0 &&
		    waitpid(s->r[i].boot_pid, NULL, WNOHANG) > 0)
			s->r[i].boot_pid = 0;
	}
	/*
	 * Runners of distros already stopped. This may reap lxs-vm too; its exit
	 * is noticed through its pidfd all the same.
	 */
	pid_t pid;
	int st;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		netsvc_reaped(s, pid, st);
}

static void conf_warn(const char *sentence, void *arg)
{
	fprintf(stderr, "lxsd: %s: %s\n", (const char *)arg, sentence);
}

int distro_up(struct lxsd *s, const struct reg_distro *d, struct running **out, char *err,
	      size_t errlen)
{
	struct running *r = running_find(s, d->name);
	char link[LXS_PATH_MAX], cmd[LXS_PATH_MAX + 64], answer[512];
	int ret;

	int64_t t0 = now_ms();

	if (r) {
		*out = r;
		return 0;
	}
	if (d->version != 2) {
		snprintf(err, errlen,
			 "%s is a version 1 distribution; lxs-pico is not available yet", d->name);
		return -ENOTSUP;
	}
	for (int i = 0; i < LXSD_MAX_RUNNING && !r; i++)
		if (!s->r[i].used)
			r = &s->r[i];
	if (!r) {
		snprintf(err, errlen,
			 "%d distributions are running already, the most one VM holds; stop one "
			 "with lxs --terminate",
			 LXSD_MAX_RUNNING);
		return -EBUSY;
	}
	memset(r, 0, sizeof(*r));
	r->lock_fd = distro_lock(&s->p, d->name, true);
	if (r->lock_fd < 0) {
		snprintf(err, errlen,
			 "%s is busy (being imported, exported, moved or resized); try again when "
			 "that is done",
			 d->name);
		r->lock_fd = -1;
		return -EBUSY;
	}
	r->used = true;
	r->slot = (int)(r - s->r);
	snprintf(r->name, sizeof(r->name), "%s", d->name);
	snprintf(r->image, sizeof(r->image), "%s", d->image);
	/* A serial the guest finds the disk by; from the id, so it is stable and unique. */
	snprintf(r->serial, sizeof(r->serial), "lxs-%.16s", d->id);
	/* Nothing mounts the image yet, so reading it on the host is safe. */
	wsl_conf_defaults(&r->wsl);
	char *text = NULL;
	long n = extfile_read(d->image, "/etc/wsl-distribution.conf", 1 << 20, &text);
	if (n >= 0)
		wsl_conf_parse(text, (size_t)n, &r->wsl, conf_warn, r->name);
	free(text);
	n = extfile_read(d->image, "/etc/wsl.conf", 1 << 20, &text);
	if (n >= 0)
		wsl_conf_parse(text, (size_t)n, &r->wsl, conf_warn, r->name);
	free(text);
	if (extfile_read(d->image, "/etc/passwd", 16 << 20, &r->passwd) < 0)
		r->passwd = NULL;
	if (n == -EIO && !s->test_init) {
		snprintf(err, errlen, "the image of %s (%s) is not a readable ext4 file system",
			 d->name, d->image);
		ret = -EIO;
		goto fail;
	}
	if (s->test_init) {
		*out = r;
		r->idle_since_ms = now_ms();
		if (r->wsl.boot_command[0])
			run_boot_command(s, r);
		return 0;
	}
	/* lxs-vm's control lines cannot hold spaces, image paths can: a link in the run folder. */
	if ((ret = path_fmt(link, sizeof(link), "%s/disk-%d", s->p.run, r->slot)) < 0)
		goto fail;
	unlink(link);
	if (symlink(d->image, link) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot link the image into %s: %s", s->p.run,
			 strerror(errno));
		goto fail;
	}
	snprintf(cmd, sizeof(cmd), "attach %d %s rw %s", r->slot, link, r->serial);
	if ((ret = vm_control(s, cmd, answer, sizeof(answer))) < 0) {
		snprintf(err, errlen, "the VM could not attach the image of %s: %s", d->name,
			 answer[0] ? answer : "no answer");
		goto fail;
	}
	char hostname[65];
	if (r->wsl.hostname[0])
		snprintf(hostname, sizeof(hostname), "%s", r->wsl.hostname);
	else if (gethostname(hostname, sizeof(hostname)) < 0 || !hostname_ok(hostname))
		distro_hostname(d->name, hostname,
				sizeof(hostname)); /* a host without a name: "(none)" */
	hostname[sizeof(hostname) - 1] = 0;
	char serr[512] = "";
	int fd = session_connect(s->vsock, LXS_VSOCK_PORT_INIT, serr, sizeof(serr));
	if (fd >= 0) {
		char resolv[LXS_RESOLV_MAX + 1], tag[32];
		snprintf(tag, sizeof(tag), "hostroot%d", r->slot);
		struct session_distro sd = {.name = r->name,
					    .serial = r->serial,
					    .hostname = hostname,
					    .resolv_conf = resolv,
					    .host_tag = tag,
					    .host_opts = r->wsl.automount_options,
					    .timeout_ms = r->wsl.systemd ? SYSTEMD_START_TIMEOUT_MS
									 : DISTRO_START_TIMEOUT_MS,
					    .flags =
						(r->wsl.generate_hosts ? LXS_DISTRO_GEN_HOSTS : 0) |
						(r->wsl.systemd ? LXS_DISTRO_SYSTEMD : 0) |
						(r->wsl.mount_fstab ? LXS_DISTRO_FSTAB : 0)};
		if (r->wsl.generate_resolv_conf && host_resolvers(resolv, sizeof(resolv), s->net_fd >= 0) > 0)
			sd.flags |= LXS_DISTRO_GEN_RESOLV;
		ret = session_distro_start(fd, &sd, serr, sizeof(serr));
		close(fd);
	} else {
		ret = fd;
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s did not start: %s", d->name,
			 serr[0] ? serr : strerror(-ret));
		snprintf(cmd, sizeof(cmd), "detach %d", r->slot);
		vm_control(s, cmd, answer, sizeof(answer));
		goto fail;
	}
	r->idle_since_ms = now_ms();
	fprintf(stderr, "lxsd: %s started in %lld ms (slot %d)\n", r->name,
		(long long)(now_ms() - t0), r->slot);
	if (r->wsl.boot_command[0])
		run_boot_command(s, r);
	*out = r;
	return 0;
fail:
	release(r);
	return ret;
}

int distro_down(struct lxsd *s, struct running *r, char *err, size_t errlen)
{
	char cmd[64], answer[256], link[LXS_PATH_MAX];
	int ret = 0;

	if (!s->test_init && s->vm_pidfd >= 0) {
		char serr[512] = "";
		int fd = session_connect(s->vsock, LXS_VSOCK_PORT_INIT, serr, sizeof(serr));

		ret = fd < 0 ? fd : session_distro_stop(fd, r->name, serr, sizeof(serr));
		if (fd >= 0)
			close(fd);
		if (ret < 0)
			snprintf(err, errlen, "%s did not stop cleanly: %s", r->name,
				 serr[0] ? serr : strerror(-ret));
		/* Only a disk the guest has let go of may be detached. */
		if (ret == 0) {
			snprintf(cmd, sizeof(cmd), "detach %d", r->slot);
			vm_control(s, cmd, answer, sizeof(answer));
		}
	}
	if (path_fmt(link, sizeof(link), "%s/disk-%d", s->p.run, r->slot) == 0)
		unlink(link);
	if (r->boot_pid > 0)
		kill(r->boot_pid, SIGKILL);
	release(r);
	return ret;
}

void vm_gone(struct lxsd *s)
{
	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		if (s->r[i].used) {
			char link[LXS_PATH_MAX];

			if (path_fmt(link, sizeof(link), "%s/disk-%d", s->p.run, s->r[i].slot) == 0)
				unlink(link);
			if (s->r[i].boot_pid > 0)
				kill(s->r[i].boot_pid, SIGKILL);
			release(&s->r[i]);
		}
	}
	if (s->vm_pid > 0)
		waitpid(s->vm_pid, NULL, 0);
	if (s->vm_pidfd >= 0)
		close(s->vm_pidfd);
	s->vm_pidfd = -1;
	s->vm_pid = 0;
	netsvc_stop(s);
	if (!s->test_init) {
		unlink(s->vsock);
		unlink(s->control);
	}
}

void vm_stop(struct lxsd *s, bool force)
{
	if (s->vm_pidfd < 0)
		return;
	if (s->test_init) {
		vm_gone(s);
		return;
	}
	if (!force) {
		char serr[512] = "";
		int fd = session_connect(s->vsock, LXS_VSOCK_PORT_INIT, serr, sizeof(serr));

		/* SHUTDOWN: init stops the distros, syncs, unmounts and powers off. */
		if (fd >= 0) {
			session_shutdown(fd, serr, sizeof(serr));
			close(fd);
		}
		struct pollfd pf = {.fd = s->vm_pidfd, .events = POLLIN};
		if (poll(&pf, 1, 30000) <= 0)
			fprintf(stderr, "lxsd: the VM did not power off within 30 s; killing it\n");
	}
	kill(s->vm_pid, SIGKILL);
	vm_gone(s);
}
