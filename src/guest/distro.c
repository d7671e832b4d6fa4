/*
 * distro.c - each distro is a container in the VM: its disk (found by the
 * virtio-blk serial the host gave it) mounted under DISTRO_DIR, and a
 * container init in new mount, PID and UTS namespaces that pivot_roots into
 * it, mounts what a distro expects (/proc, /sys, /dev, /dev/pts, /dev/shm,
 * /run) and reaps its orphans. REGISTRY_DIR/NAME.pid records that init, so
 * sessions (each its own process) can setns into the distro, and
 * REGISTRY_DIR/NAME.host where the host share appears in it, so that they
 * can start in the distro's view of a host folder. The processes serving its
 * files to the host (distrofs.c) sit in a cgroup of the distro's, so that
 * stopping it ends them and its disk can go.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/posix_const.h"
#include "guest.h"
#include "sys.h"

bool distro_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return (int)n;
}

/*
 * The block device whose serial is `serial` and whose size is not zero (a
 * hot-attached disk grows from zero). The kernel offers no event we could
 * wait on without a uevent listener, so this polls /sys every 10 ms, bounded.
 */
static int find_disk(const char *serial, uint32_t timeout_ms, char *dev, size_t len)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		DIR *d = opendir("/sys/block");
		struct dirent *e;

		while (d && (e = readdir(d))) {
			char path[300], val[128];

			if (strncmp(e->d_name, "vd", 2))
				continue;
			snprintf(path, sizeof(path), "/sys/block/%s/serial", e->d_name);
			if (read_small(path, val, sizeof(val)) < 0 || strcmp(val, serial))
				continue;
			snprintf(path, sizeof(path), "/sys/block/%s/size", e->d_name);
			if (read_small(path, val, sizeof(val)) < 0 || atoll(val) == 0)
				continue;
			snprintf(dev, len, "/dev/%s", e->d_name);
			closedir(d);
			return 0;
		}
		if (d)
			closedir(d);
		if (now_ms() >= deadline)
			return -ENODEV;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int mount_in(const char *root, const char *dir, const char *type, unsigned long flags,
		    const char *data, mode_t mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", root, dir);
	mkdir(path, mode);
	return mount(type, path, type, flags, data) < 0 ? -errno : 0;
}

/* A /dev with what a distro expects and nothing of the VM's (no other disks). */
static int make_dev(const char *root)
{
	static const struct {
		const char *name;
		unsigned maj, min;
		mode_t mode; /* as udev leaves them */
	} nodes[] = {
	    {"null", 1, 3, 0666},    {"zero", 1, 5, 0666},    {"full", 1, 7, 0666},
	    {"random", 1, 8, 0666},  {"urandom", 1, 9, 0666}, {"tty", 5, 0, 0666},
	    {"console", 5, 1, 0600}, {"kmsg", 1, 11, 0644},
	};
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	    {"pts/ptmx", "ptmx"},
	};
	char path[512];
	int ret;

	if ((ret = mount_in(root, "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=65536k", 0755)) < 0)
		return ret;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, nodes[i].name);
		/* chmod after: mknod's mode passes through init's umask (apt's _apt user writes
		 * /dev/null). */
		if (mknod(path, S_IFCHR | nodes[i].mode, makedev(nodes[i].maj, nodes[i].min)) < 0 ||
		    chmod(path, nodes[i].mode) < 0)
			return -errno;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, links[i][1]);
		if (symlink(links[i][0], path) < 0)
			return -errno;
	}
	if ((ret = mount_in(root, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			    "newinstance,gid=5,mode=620,ptmxmode=0666", 0755)) < 0 ||
	    (ret = mount_in(root, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777)) <
		0)
		return ret;
	return 0;
}

/*
 * Each distro lives in the cgroup CGROUP_DIR-NAME with a cgroup namespace of
 * its own, so a systemd inside sees that cgroup as the whole tree and two
 * distros' systemds never meet. Sessions join its SESSIONS_CG child, a leaf:
 * once systemd enables controllers at the distro's root, no process may join
 * the root itself. Its 9P servers (distrofs.c, in PID 1's namespaces) join
 * DISTROFS_CG, another leaf, only so that distro_stop finds and kills them
 * all, without a PID that may have been reused.
 */
#define CGROUP_DIR  "/sys/fs/cgroup/lxs-"
#define SESSIONS_CG "lxs-sessions"
#define DISTROFS_CG "lxs-distrofs"
/* systemd's own binary; /sbin/init may be another init or a dangling link. */
#define SYSTEMD_BIN "/lib/systemd/systemd"

static int cgroup_join(const char *dir)
{
	char path[300];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "0", 1) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * SIGKILL every process in the cgroup dir (cgroup.kill, or one by one on a
 * kernel without it) and wait, bounded, until it has none: they are gone
 * with their descriptors, so a disk they held can be unmounted.
 */
static void cgroup_kill(const char *dir)
{
	char path[320];
	int fd;
	bool all = false;

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		all = write(fd, "1", 1) == 1;
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int i = 0; i < 500; i++) { /* 5 s */
		FILE *f = fopen(path, "re");
		int pid, n = 0;

		if (!f)
			return;
		while (fscanf(f, "%d", &pid) == 1) {
			n++;
			if (!all)
				kill(pid, SIGKILL);
		}
		fclose(f);
		if (!n)
			return;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* rmdir depth-first: a cgroup goes once it has no processes and no children. */
static void cgroup_remove(const char *dir, int depth)
{
	DIR *d = depth < 16 ? opendir(dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char sub[512];

		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		cgroup_remove(sub, depth + 1);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Everything but the ready pipe: a systemd must not inherit the VM's sockets. */
static void close_other_fds(int keep)
{
	if (keep > 3)
		syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u);
	syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u);
}

/*
 * [automount] mountFsTab: the distro's own `mount -a`, run in the container
 * before any session, as WSL does at start. A failing entry is reported on
 * the console and the distro starts all the same; a mount that hangs (a
 * network file system with no network) is given up after FSTAB_TIMEOUT_S.
 */
#define FSTAB_TIMEOUT_S 10

static void mount_fstab(const char *name)
{
	static const char *const mounts[] = {"/bin/mount", "/usr/bin/mount", "/sbin/mount"};
	const char *bin = NULL;
	struct stat st;
	int status = 0;

	if (stat("/etc/fstab", &st) < 0 || !S_ISREG(st.st_mode))
		return;
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]) && !bin; i++)
		if (access(mounts[i], X_OK) == 0)
			bin = mounts[i];
	if (!bin) {
		fprintf(stderr, "lxs-init: distro %s: /etc/fstab is there but no mount program\n",
			name);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[] = {bin, "-a", NULL};
		const char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};

		alarm(FSTAB_TIMEOUT_S);
		execve(bin, exec_vec(argv), exec_vec(envp));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "lxs-init: distro %s: mount -a of /etc/fstab failed (status %#x)\n",
			name, status);
}

/* The container's PID 1: set the distro up, report, then reap forever or become systemd. */
static int container_main(const char *root, const char *hostsrc, const char *hostdir,
			  const struct distro_spec *d, int ready_fd)
{
	bool systemd = d->flags & LXS_DISTRO_SYSTEMD;
	char cg[300], what2[64] = "";
	int ret = 0;
	const char *what = "";

	close_other_fds(ready_fd);
	snprintf(cg, sizeof(cg), CGROUP_DIR "%s", d->name);
	if (cgroup_join(cg) == 0 && unshare(CLONE_NEWCGROUP) < 0) {
		what = "make a cgroup namespace";
		goto fail;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0) {
		what = "bind the root";
		goto fail;
	}
	if ((ret = mount_in(root, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555))) {
		what = "mount /proc";
		goto fail_ret;
	}
	/* Read-only under systemd, as in any container: its udev must leave the VM's devices be. */
	if ((ret = mount_in(root, "/sys", "sysfs",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC | (systemd ? MS_RDONLY : 0), NULL,
			    0555))) {
		what = "mount /sys";
		goto fail_ret;
	}
	mount_in(root, "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555);
	if ((ret = make_dev(root))) {
		what = "populate /dev";
		goto fail_ret;
	}
	if ((ret = mount_in(root, "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755))) {
		what = "mount /run";
		goto fail_ret;
	}
	hostroot_stage(root, hostsrc); /* without the share there is nothing to stage */
	tools_stage(root);             /* likewise */
	if (d->hostname[0] && sethostname(d->hostname, strlen(d->hostname)) < 0) {
		what = "set the hostname";
		goto fail;
	}
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		what = "pivot_root into the distro";
		goto fail;
	}
	hostroot_place(hostdir);
	tools_place();
	/* As WSL: a file that cannot be written is reported, and the distro starts all the same. */
	if ((ret = network_files(d, what2, sizeof(what2))) < 0)
		fprintf(stderr, "lxs-init: distro %s: cannot %s: %s\n", d->name, what2,
			strerror(-ret));
	/* systemd mounts /etc/fstab itself (systemd-fstab-generator). */
	if ((d->flags & LXS_DISTRO_FSTAB) && !systemd)
		mount_fstab(d->name);
	if (systemd && access(SYSTEMD_BIN, X_OK) < 0) {
		what =
		    "start systemd (" SYSTEMD_BIN "); install systemd in the distribution or set "
		    "[boot] systemd=false in its /etc/wsl.conf";
		goto fail;
	}
	char ok = 0;
	if (write(ready_fd, &ok, 1) < 0) {
	}
	close(ready_fd);
	if (systemd) {
		/* container= makes systemd run as in any container manager's container. */
		const char *argv[] = {SYSTEMD_BIN, NULL};
		const char *envp[] = {
		    "container=lxs",
		    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(SYSTEMD_BIN, exec_vec(argv), exec_vec(envp));
		fprintf(stderr, "lxs-init: distro %s: cannot run %s: %s\n", d->name, SYSTEMD_BIN,
			strerror(errno));
		_exit(1);
	}
	for (;;) {
		if (wait(NULL) < 0 && errno == ECHILD)
			pause();
	}
fail:
	ret = -errno;
fail_ret:;
	char msg[300];
	int n = snprintf(msg, sizeof(msg), "cannot %s: %s", what, strerror(-ret));
	if (write(ready_fd, msg, (size_t)(n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1)) < 0) {
	}
	_exit(1);
}

static void registry_path(const char *name, const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, REGISTRY_DIR "/%s.%s", name, ext);
}

int distro_pid(const char *name)
{
	char path[256], val[32];

	if (!distro_name_ok(name))
		return -EINVAL;
	registry_path(name, "pid", path, sizeof(path));
	if (read_small(path, val, sizeof(val)) < 0)
		return -ENOENT;
	int pid = atoi(val);
	/* A recorded pid that is gone means the distro died. */
	if (pid <= 1 || kill(pid, 0) < 0)
		return -ENOENT;
	return pid;
}

int distro_host_dir(const char *name, char *buf, size_t len)
{
	char path[256];

	if (!distro_name_ok(name))
		return -EINVAL;
	registry_path(name, "host", path, sizeof(path));
	int n = read_small(path, buf, len);
	return n < 0 ? n : buf[0] ? 0 : -ENOENT;
}

/* Record where the share goes (dir, or "" for nowhere) before the distro is. */
static int record_host_dir(const char *name, const char *dir)
{
	char path[256];

	registry_path(name, "host", path, sizeof(path));
	if (!dir[0])
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%s\n", dir) < 0) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -EIO;
}

int distro_fs_join(const char *name)
{
	char path[300];

	if (!distro_name_ok(name))
		return -EINVAL;
	/* No cgroup2 in this VM: nothing to join, and nothing can track the servers. */
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0)
		return 0;
	snprintf(path, sizeof(path), CGROUP_DIR "%s/" DISTROFS_CG, name);
	return cgroup_join(path);
}

int distro_enter(const char *name)
{
	static const char *const ns[] = {"cgroup", "pid", "uts", "mnt"};
	int pid = distro_pid(name);
	char path[300];

	if (pid < 0)
		return pid;
	/* The cgroup first, while its path is the VM's; a VM without cgroup2 has none. */
	snprintf(path, sizeof(path), CGROUP_DIR "%s/" SESSIONS_CG, name);
	cgroup_join(path);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		int r = setns(fd, 0);
		close(fd);
		if (r < 0)
			return -errno;
	}
	return chdir("/") < 0 ? -errno : 0;
}

bool distro_has_systemd(void)
{
	struct stat st;

	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * `systemctl is-system-running --wait` inside the distro: its answer in
 * state ("" if it said nothing), or -ETIMEDOUT at the deadline.
 */
static int systemd_state(const char *name, double deadline, char *state, size_t len)
{
	int out[2], ret = 0;
	size_t got = 0;

	state[0] = 0;
	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		if (distro_enter(name) < 0)
			_exit(125);
		pid_t c = fork();
		if (c == 0) {
			int nul = open("/dev/null", O_RDWR);
			const char *argv[] = {"systemctl", "is-system-running", "--wait", NULL};
			const char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			dup2(nul, 0);
			dup2(out[1], 1);
			dup2(nul, 2);
			execve("/bin/systemctl", exec_vec(argv), exec_vec(envp));
			_exit(127);
		}
		waitpid(c, NULL, 0);
		_exit(0);
	}
	close(out[1]);
	if (pid < 0) {
		close(out[0]);
		return -errno;
	}
	for (;;) {
		struct pollfd p = {.fd = out[0], .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		int r = left > 0 ? poll(&p, 1, (int)left) : 0;

		if (r < 0 && errno == EINTR) /* lxs-init's SIGCHLD handler */
			continue;
		if (r <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		n = read(out[0], state + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == len - 1)
			break;
	}
	state[got] = 0;
	state[strcspn(state, "\n")] = 0;
	close(out[0]);
	kill(pid, SIGKILL); /* its systemctl goes with it (PDEATHSIG) */
	waitpid(pid, NULL, 0);
	return ret;
}

/*
 * As WSL: the first session waits until systemd has booted (or gave up on
 * some unit: "degraded"), bounded by the start's timeout; a systemd that
 * takes longer is left booting and sessions start all the same. Until
 * systemd listens on its socket, systemctl answers "offline" at once, so it
 * is asked again, briefly apart, until it says something past the boot.
 */
static void wait_for_systemd(const struct distro_spec *d, pid_t init, double deadline)
{
	char state[64];

	for (;;) {
		if (systemd_state(d->name, deadline, state, sizeof(state)) < 0 || kill(init, 0) < 0)
			break;
		/* "offline": systemctl found no manager to ask yet. */
		if (state[0] && strcmp(state, "initializing") && strcmp(state, "starting") &&
		    strcmp(state, "offline"))
			return;
		if (now_ms() >= deadline)
			break;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr,
		"lxs-init: distro %s: systemd has not finished booting (%s); starting anyway\n",
		d->name, state[0] ? state : "no answer");
}

int distro_start(const struct distro_spec *d, char *err, size_t errlen)
{
	char path[256], dev[300], root[256], cg[300];
	const char *name = d->name;
	int64_t deadline = now_ms() + d->timeout_ms;
	int lock, ret;

	if (!distro_name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a valid distro name", name);
		return -EINVAL;
	}
	registry_path(name, "lock", path, sizeof(path));
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		return -errno;
	}
	if (distro_pid(name) > 0) {
		ret = 0; /* already running: starting is idempotent */
		goto out;
	}
	if ((ret = find_disk(d->serial, d->timeout_ms, dev, sizeof(dev))) < 0) {
		snprintf(err, errlen, "no disk with serial %s appeared within %u ms", d->serial,
			 d->timeout_ms);
		goto out;
	}
	snprintf(root, sizeof(root), DISTRO_DIR "/%s", name);
	mkdir(root, 0755);
	umount2(root, MNT_DETACH); /* a leftover from a distro that died */
	if (mount(dev, root, "ext4", MS_NOATIME, "discard") < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot mount %s (serial %s) as ext4: %s", dev, d->serial,
			 strerror(errno));
		goto out;
	}
	char hostsrc[300] = "", hostdir[HOSTROOT_PATH_MAX];
	hostroot_mount(d, hostsrc, sizeof(hostsrc)); /* optional: no share, no /mnt/host */
	if (hostroot_path(d, hostdir, sizeof(hostdir)) < 0)
		hostdir[0] = 0;
	/* Before NAME.pid: a session that finds the distro finds this too. */
	if ((ret = record_host_dir(name, hostdir)) < 0) {
		snprintf(err, errlen, "cannot record distro %s's host folder: %s", name,
			 strerror(-ret));
		goto out_umount;
	}
	/*
	 * A fresh cgroup: one left by a distro that died may hold a systemd's
	 * settings, and 9P servers of its old disk, which must not go on
	 * serving it.
	 */
	snprintf(cg, sizeof(cg), CGROUP_DIR "%s/" DISTROFS_CG, name);
	cgroup_kill(cg);
	snprintf(cg, sizeof(cg), CGROUP_DIR "%s", name);
	cgroup_remove(cg, 0);
	if (mkdir(cg, 0755) == 0) {
		snprintf(cg, sizeof(cg), CGROUP_DIR "%s/" SESSIONS_CG, name);
		mkdir(cg, 0755);
		snprintf(cg, sizeof(cg), CGROUP_DIR "%s/" DISTROFS_CG, name);
		mkdir(cg, 0755);
	}
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		goto out_umount;
	}
	/* The child is PID 1 of a new PID namespace, with its own mounts and hostname. */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | SIGCHLD,
				   NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(ready[0]);
		container_main(root, hostsrc, hostdir, d, ready[1]);
	}
	close(ready[1]);
	if (pid < 0) {
		ret = -errno;
		close(ready[0]);
		snprintf(err, errlen, "cannot create the container: %s", strerror(errno));
		goto out_umount;
	}
	char msg[300];
	ssize_t n = read(ready[0], msg, sizeof(msg) - 1);
	close(ready[0]);
	if (n != 1) {
		msg[n > 0 ? n : 0] = 0;
		snprintf(err, errlen, "distro %s: %s", name, n > 0 ? msg : "its init died");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ret = -EIO;
		goto out_umount;
	}
	registry_path(name, "pid", path, sizeof(path));
	FILE *f = fopen(path, "we");
	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f) != 0) {
		ret = -EIO;
		snprintf(err, errlen, "cannot record distro %s in %s", name, path);
		kill(pid, SIGKILL);
		goto out_umount;
	}
	if (d->flags & LXS_DISTRO_SYSTEMD)
		wait_for_systemd(d, pid, deadline);
	ret = 0;
	goto out;
out_umount:
	umount2(root, MNT_DETACH);
out:
	close(lock);
	return ret;
}

int distro_stop(const char *name, char *err, size_t errlen)
{
	char path[256], root[256];
	int pid = distro_pid(name);

	if (pid == -EINVAL) {
		snprintf(err, errlen, "'%s' is not a valid distro name", name);
		return pid;
	}
	if (pid > 0) {
		/* Killing the PID namespace's init kills everything in it. */
		int pfd = pidfd_open(pid);

		kill(pid, SIGKILL);
		if (pfd >= 0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};

			poll(&p, 1, 10000);
			close(pfd);
		}
	}
	registry_path(name, "pid", path, sizeof(path));
	unlink(path);
	registry_path(name, "host", path, sizeof(path));
	unlink(path);
	/*
	 * Its 9P servers hold its disk open. After NAME.pid is gone: a server
	 * joins the cgroup before it checks that the distro runs, so it is
	 * either killed here or finds the distro stopped.
	 */
	snprintf(root, sizeof(root), CGROUP_DIR "%s/" DISTROFS_CG, name);
	cgroup_kill(root);
	snprintf(root, sizeof(root), CGROUP_DIR "%s", name);
	cgroup_remove(root, 0);
	hostroot_unmount(name);
	snprintf(root, sizeof(root), DISTRO_DIR "/%s", name);
	sync();
	if (umount2(root, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
		snprintf(err, errlen, "cannot unmount %s: %s", root, strerror(errno));
		return -errno;
	}
	return 0;
}

void distro_stop_all(void)
{
	DIR *d = opendir(REGISTRY_DIR);
	struct dirent *e;
	char err[256];

	while (d && (e = readdir(d))) {
		char *dot = strrchr(e->d_name, '.');

		if (!dot || strcmp(dot, ".pid"))
			continue;
		*dot = 0;
		distro_stop(e->d_name, err, sizeof(err));
	}
	if (d)
		closedir(d);
}
