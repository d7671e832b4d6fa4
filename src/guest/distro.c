/*
 * distro.c - each distro is a container in the VM: its disk (found by the
 * virtio-blk serial the host gave it) mounted under DISTRO_DIR, and a
 * container init in new mount, PID and UTS namespaces that pivot_roots into
 * it, mounts what a distro expects (/proc, /sys, /dev, /dev/pts, /dev/shm,
 * /run) and reaps its orphans. REGISTRY_DIR/NAME.pid records that init, so
 * sessions (each its own process) can setns into the distro.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/*
 * The block device whose serial is `serial` and whose size is not zero (a
 * hot-attached disk grows from zero). The kernel offers no event we could
 * wait on without a uevent listener, so this polls /sys every 10 ms, bounded.
 */
static int find_disk(const char *serial, uint32_t timeout_ms, char *dev, size_t len)
{
	double deadline = now_ms() + timeout_ms;

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
		struct timespec ts = { 0, 10 * 1000 * 1000 };
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
	} nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
		{ "urandom", 1, 9 }, { "tty", 5, 0 }, { "console", 5, 1 }, { "kmsg", 1, 11 },
	};
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "pts/ptmx", "ptmx" },
	};
	char path[512];
	int ret;

	if ((ret = mount_in(root, "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=65536k", 0755)) < 0)
		return ret;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
			return -errno;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, links[i][1]);
		if (symlink(links[i][0], path) < 0)
			return -errno;
	}
	if ((ret = mount_in(root, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			    "newinstance,gid=5,mode=620,ptmxmode=0666", 0755)) < 0 ||
	    (ret = mount_in(root, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777)) < 0)
		return ret;
	return 0;
}

/* The container's PID 1: set the distro up, report, then reap forever. */
static int container_main(const char *root, const char *hostname, int ready_fd)
{
	int ret = 0;
	const char *what = "";

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0) {
		what = "bind the root";
		goto fail;
	}
	if ((ret = mount_in(root, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555))) {
		what = "mount /proc";
		goto fail_ret;
	}
	if ((ret = mount_in(root, "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555))) {
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
	hostroot_stage(root); /* without the share there is nothing to stage */
	if (hostname[0] && sethostname(hostname, strlen(hostname)) < 0) {
		what = "set the hostname";
		goto fail;
	}
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0) {
		what = "pivot_root into the distro";
		goto fail;
	}
	hostroot_place();
	char ok = 0;
	if (write(ready_fd, &ok, 1) < 0) {
	}
	close(ready_fd);
	for (;;) {
		if (wait(NULL) < 0 && errno == ECHILD)
			pause();
	}
fail:
	ret = -errno;
fail_ret:;
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "cannot %s: %s", what, strerror(-ret));
	if (write(ready_fd, msg, (size_t)n) < 0) {
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

int distro_start(const char *name, const char *serial, const char *hostname, uint32_t timeout_ms,
		 char *err, size_t errlen)
{
	char path[256], dev[300], root[256];
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
	if ((ret = find_disk(serial, timeout_ms, dev, sizeof(dev))) < 0) {
		snprintf(err, errlen, "no disk with serial %s appeared within %u ms", serial, timeout_ms);
		goto out;
	}
	snprintf(root, sizeof(root), DISTRO_DIR "/%s", name);
	mkdir(root, 0755);
	umount2(root, MNT_DETACH); /* a leftover from a distro that died */
	if (mount(dev, root, "ext4", MS_NOATIME, "discard") < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot mount %s (serial %s) as ext4: %s", dev, serial,
			 strerror(errno));
		goto out;
	}
	hostroot_mount(); /* once per VM; optional */
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
		container_main(root, hostname, ready[1]);
	}
	close(ready[1]);
	if (pid < 0) {
		ret = -errno;
		close(ready[0]);
		snprintf(err, errlen, "cannot create the container: %s", strerror(errno));
		goto out_umount;
	}
	char msg[160];
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
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			poll(&p, 1, 10000);
			close(pfd);
		}
	}
	registry_path(name, "pid", path, sizeof(path));
	unlink(path);
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
