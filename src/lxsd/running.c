/*
 * running.c - the distros in lxsd's VM: a distro's disk is attached to a
 * spare slot of lxs-vm, its wsl.conf and passwd read from the image while
 * nothing mounts it, and lxs-init asked to start it (DISTRO_START) and to
 * stop it (DISTRO_STOP) without waiting: the answers come to the poll loop
 * (distro_on_answer). Also the
 * pieces of a start that are host policy: its hostname, its resolv.conf,
 * its [boot] command.
 * Must not: boot or stop the VM (vm.c) or answer clients (clients.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/proto.h"
#include "common/vmctl.h"
#include "lxsd.h"
#include "session/session.h"
#include "store/distro.h"
#include "store/extfile.h"

#define DISTRO_START_TIMEOUT_MS 30000
/* With [boot] systemd the start also waits for its boot, which only this caps. */
#define SYSTEMD_START_TIMEOUT_MS 120000

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
	const char *argv[] = {"/bin/sh", "-c", r->wsl.boot_command, NULL};
	const char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			      "HOME=/root", "USER=root", "LOGNAME=root", NULL};
	struct session_req q = {
	    .distro = r->d.name, .user = "", .cwd = "/", .argv = argv, .envp = envp};
	struct lxs_exit ex;
	int nul = open("/dev/null", O_RDWR);
	int ret = session_run(fd, &q, nul, nul, nul, -1, &ex, err, sizeof(err));
	_exit(ret < 0 ? 1 : ex.code);
}

struct running *running_find(struct lxsd *s, const char *name)
{
	for (int i = 0; i < LXSD_MAX_RUNNING; i++)
		if (s->r[i].used && !strcasecmp(s->r[i].d.name, name))
			return &s->r[i];
	return NULL;
}

static void release(struct running *r)
{
	int slot = r->slot;
	unsigned gen = r->gen;

	if (r->lock_fd >= 0)
		close(r->lock_fd);
	if (r->conv.fd >= 0)
		close(r->conv.fd);
	wire_fini(&r->conv);
	free(r->passwd);
	memset(r, 0, sizeof(*r));
	r->lock_fd = -1;
	r->conv.fd = -1;
	r->slot = slot;
	r->gen = gen + 1; /* sessions counted for the old distro no longer count here */
}

static void conf_warn(const char *sentence, void *arg)
{
	fprintf(stderr, "lxsd: %s: %s\n", (const char *)arg, sentence);
}

/* wsl-distribution.conf then wsl.conf, and passwd, from the image nothing mounts yet. */
static int read_image(struct lxsd *s, struct running *r, char *err, size_t errlen)
{
	char *text = NULL;
	long n = extfile_read(r->d.image, "/etc/wsl-distribution.conf", 1 << 20, &text);

	wsl_conf_defaults(&r->wsl);
	if (n >= 0)
		wsl_conf_parse(text, (size_t)n, &r->wsl, conf_warn, r->d.name);
	free(text);
	text = NULL;
	n = extfile_read(r->d.image, "/etc/wsl.conf", 1 << 20, &text);
	if (n >= 0)
		wsl_conf_parse(text, (size_t)n, &r->wsl, conf_warn, r->d.name);
	free(text);
	if (extfile_read(r->d.image, "/etc/passwd", 16 << 20, &r->passwd) < 0)
		r->passwd = NULL;
	if (n == -EIO && !s->test_init) {
		snprintf(err, errlen, "the image of %s (%s) is not a readable ext4 file system",
			 r->d.name, r->d.image);
		return -EIO;
	}
	return 0;
}

/* Attach the image and send DISTRO_START on r->start. */
static int start_in_vm(struct lxsd *s, struct running *r, char *err, size_t errlen)
{
	char verr[512];
	int ret;

	if ((ret = vmctl_attach(s->control, (unsigned)r->slot, r->d.image, false, r->serial, verr,
				sizeof(verr))) < 0) {
		snprintf(err, errlen, "the VM could not attach the image of %s: %s", r->d.name,
			 verr);
		return ret;
	}
	char hostname[65];
	if (r->wsl.hostname[0])
		snprintf(hostname, sizeof(hostname), "%s", r->wsl.hostname);
	else if (gethostname(hostname, sizeof(hostname)) < 0 || !hostname_ok(hostname))
		distro_hostname(r->d.name, hostname, sizeof(hostname)); /* a host without a name */
	hostname[sizeof(hostname) - 1] = 0;
	char resolv[LXS_RESOLV_MAX + 1], tag[32], serr[512] = "";
	snprintf(tag, sizeof(tag), "%s%d", s->vm_virtiofs ? "hostfs" : "hostroot", r->slot);
	/*
	 * A virtio-fs share takes the distro's DrvFs options from us before
	 * lxs-init mounts it (9P ones from lxs-init, in the attach).
	 */
	if (s->vm_virtiofs && r->wsl.automount_enabled) {
		ret =
		    vmctl_share_opts(s->control, tag, r->wsl.automount_options, verr, sizeof(verr));
		if (ret == -EINVAL) {
			/* As lxs-init does for a 9P share: the defaults, and a word why. */
			fprintf(stderr,
				"lxsd: %s: [automount] options: %s; /mnt/host gets the defaults\n",
				r->d.name, verr);
			ret = vmctl_share_opts(s->control, tag, "", verr, sizeof(verr));
		}
		if (ret < 0) {
			snprintf(err, errlen, "the VM could not set up /mnt/host for %s: %s",
				 r->d.name, verr);
			return ret;
		}
	}
	struct session_distro sd = {
	    .name = r->d.name,
	    .serial = r->serial,
	    .hostname = hostname,
	    .resolv_conf = resolv,
	    .host_tag = tag,
	    .host_opts = r->wsl.automount_options,
	    .automount_root = r->wsl.automount_root,
	    .timeout_ms = r->wsl.systemd ? SYSTEMD_START_TIMEOUT_MS : DISTRO_START_TIMEOUT_MS,
	    .flags = (r->wsl.generate_hosts ? LXS_DISTRO_GEN_HOSTS : 0) |
		     (r->wsl.systemd ? LXS_DISTRO_SYSTEMD : 0) |
		     (r->wsl.mount_fstab ? LXS_DISTRO_FSTAB : 0) |
		     (r->wsl.automount_enabled ? 0 : LXS_DISTRO_NO_AUTOMOUNT) |
		     (s->vm_virtiofs ? LXS_DISTRO_HOST_VIRTIOFS : 0)};
	if (r->wsl.generate_resolv_conf &&
	    host_resolvers(resolv, sizeof(resolv), s->net_fd >= 0) > 0)
		sd.flags |= LXS_DISTRO_GEN_RESOLV;
	int fd = session_connect(s->vsock, LXS_VSOCK_PORT_INIT, serr, sizeof(serr));
	if (fd >= 0 && (ret = wire_init(&r->conv, fd)) == 0)
		ret = session_distro_queue(&r->conv, &sd);
	else
		ret = fd < 0 ? fd : ret;
	if (fd >= 0 && ret < 0)
		close(fd);
	if (ret < 0) {
		r->conv.fd = -1;
		snprintf(err, errlen, "%s did not start: %s", r->d.name,
			 serr[0] ? serr : strerror(-ret));
		vmctl_detach(s->control, (unsigned)r->slot, verr, sizeof(verr));
		return ret;
	}
	r->deadline_ms = now_ms() + sd.timeout_ms + 30000;
	wire_flush(&r->conv);
	return 0;
}

static void now_running(struct lxsd *s, struct running *r)
{
	r->state = LXS_DISTRO_RUNNING;
	r->idle_since_ms = now_ms();
	if (!s->test_init)
		fprintf(stderr, "lxsd: %s started in %lld ms (slot %d)\n", r->d.name,
			(long long)(now_ms() - r->t0), r->slot);
	if (r->wsl.boot_command[0])
		run_boot_command(s, r);
}

int distro_begin(struct lxsd *s, const struct reg_distro *d, struct running **out, char *err,
		 size_t errlen)
{
	struct running *r = running_find(s, d->name);
	int ret;

	if (r) {
		*out = r;
		return 0;
	}
	if (d->version != 2) {
		snprintf(err, errlen, "%s is a version 1 distribution; lxsd runs only version 2",
			 d->name);
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
	r->lock_fd = distro_lock(&s->p, d->name, true);
	if (r->lock_fd < 0) {
		snprintf(err, errlen,
			 "%s is busy (being imported, exported, moved or resized); try again when "
			 "that is done",
			 d->name);
		r->lock_fd = -1;
		return -EBUSY;
	}
	/*
	 * Its folder's leftovers of a killed import or conversion go now,
	 * under its lock: the sweep at lxsd's start leaves a distro that a
	 * session is already starting alone (registry.c, leftovers_of).
	 */
	int flk = folder_lock(d->location);
	if (flk >= 0) {
		struct leftovers l = {0};

		leftovers_in(d->location, true, &l);
		close(flk);
	}
	r->used = true;
	r->state = LXS_DISTRO_STARTING;
	r->d = *d;
	r->t0 = now_ms();
	r->conv.fd = -1;
	/* A serial the guest finds the disk by; from the id, so it is stable and unique. */
	snprintf(r->serial, sizeof(r->serial), "lxs-%.16s", d->id);
	if ((ret = read_image(s, r, err, errlen)) < 0)
		goto fail;
	*out = r;
	if (s->test_init) {
		/* lxs-init --serve-unix cannot start distros: the test's distro just is. */
		now_running(s, r);
		return 0;
	}
	if ((ret = start_in_vm(s, r, err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	release(r);
	return ret;
}

/* Give the slot's disk back to lxs-vm (only one the guest has let go of) and the slot to us. */
static void let_go(struct lxsd *s, struct running *r, bool detach)
{
	char verr[512];

	if (detach && !s->test_init && s->vm == LXS_VM_RUNNING &&
	    vmctl_detach(s->control, (unsigned)r->slot, verr, sizeof(verr)) < 0)
		fprintf(stderr, "lxsd: %s\n", verr);
	if (r->boot_pid > 0)
		kill(r->boot_pid, SIGKILL);
	release(r);
}

int distro_on_answer(struct lxsd *s, struct running *r, int64_t now, char *err, size_t errlen)
{
	struct lxs_msg_hdr h;
	const uint8_t *p;
	char serr[512] = "";
	int ret = 0;
	bool stopping = r->state == LXS_DISTRO_STOPPING;

	if ((r->state != LXS_DISTRO_STARTING && !stopping) || r->conv.fd < 0)
		return 0;
	if ((ret = wire_flush(&r->conv)) >= 0 && (ret = wire_read(&r->conv)) >= 0 &&
	    (ret = wire_next(&r->conv, &h, &p)) == 1)
		ret = session_distro_answer(&h, p, serr, sizeof(serr));
	else if (ret == 0 && now >= r->deadline_ms)
		ret = -ETIMEDOUT;
	else if (ret >= 0)
		return 0;
	close(r->conv.fd);
	wire_fini(&r->conv);
	r->conv.fd = -1;
	if (stopping) {
		if (ret < 0)
			fprintf(stderr, "lxsd: %s did not stop cleanly: %s\n", r->d.name,
				serr[0] ? serr : strerror(-ret));
		/* Only a disk the guest has let go of may be detached. */
		let_go(s, r, ret == 0);
		return DISTRO_DOWN;
	}
	if (ret == 0) {
		now_running(s, r);
		return DISTRO_UP;
	}
	if (ret == -ETIMEDOUT)
		snprintf(err, errlen, "%s did not start within %lld s; see %s", r->d.name,
			 (long long)(now - r->t0) / 1000, s->vm_log);
	else
		snprintf(err, errlen, "%s did not start: %s", r->d.name,
			 serr[0] ? serr : strerror(-ret));
	let_go(s, r, true);
	return ret;
}

int distro_stop(struct lxsd *s, struct running *r)
{
	char serr[512] = "";
	int fd = -1;

	if (r->state == LXS_DISTRO_STOPPING)
		return 0;
	/* A start in flight is given up: the guest may still hold the disk, so it stays. */
	if (s->test_init || s->vm != LXS_VM_RUNNING || r->state != LXS_DISTRO_RUNNING) {
		let_go(s, r, false);
		return DISTRO_DOWN;
	}
	fd = session_connect(s->vsock, LXS_VSOCK_PORT_INIT, serr, sizeof(serr));
	if (fd < 0 || wire_init(&r->conv, fd) < 0 ||
	    wire_queue(&r->conv, LXS_MSG_DISTRO_STOP, 0, r->d.name, strlen(r->d.name) + 1, NULL,
		       0) < 0) {
		fprintf(stderr, "lxsd: %s did not stop cleanly: %s\n", r->d.name,
			serr[0] ? serr : "cannot ask lxs-init");
		if (fd >= 0)
			close(fd);
		r->conv.fd = -1;
		let_go(s, r, false);
		return DISTRO_DOWN;
	}
	r->state = LXS_DISTRO_STOPPING;
	r->t0 = now_ms();
	r->deadline_ms = r->t0 + 30000;
	wire_flush(&r->conv);
	return 0;
}

void distros_forget(struct lxsd *s)
{
	for (int i = 0; i < LXSD_MAX_RUNNING; i++)
		if (s->r[i].used)
			let_go(s, &s->r[i], false);
}

void reap_children(struct lxsd *s)
{
	for (int i = 0; i < LXSD_MAX_RUNNING; i++) {
		if (s->r[i].used && s->r[i].boot_pid > 0 &&
		    waitpid(s->r[i].boot_pid, NULL, WNOHANG) > 0)
			s->r[i].boot_pid = 0;
	}
	/*
	 * Runners of distros already stopped, the network helpers, and maybe
	 * lxs-vm: its status is kept for vm_on_exit, which its pidfd calls.
	 */
	pid_t pid;
	int st;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == s->vm_pid && s->vm_pid > 0) {
			s->vm_status = st;
			s->vm_reaped = true;
		} else {
			netsvc_reaped(s, pid, st);
		}
	}
}
