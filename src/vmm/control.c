#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "devices.h"
#include "evloop.h"

#define LINE_MAX_BYTES 1024

struct control {
	struct vm *vm;
	struct vm_devices *devs;
	int fd;
	char path[108];
};

static long rss_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* Carry out one command line; the answer goes into out. */
static void run_command(struct control *c, char *line, char *out, size_t len)
{
	char *argv[8];
	int argc = 0;

	for (char *t = strtok(line, " \t\r\n"); t && argc < 8; t = strtok(NULL, " \t\r\n"))
		argv[argc++] = t;
	if (argc == 0) {
		snprintf(out, len, "error empty command");
		return;
	}
	if (!strcmp(argv[0], "attach") && argc == 5) {
		int slot = atoi(argv[1]);

		if (slot < 0 || slot >= c->devs->ndisks || (strcmp(argv[3], "ro") && strcmp(argv[3], "rw"))) {
			snprintf(out, len, "error no disk slot %s, or mode %s is not ro or rw", argv[1],
				 argv[3]);
			return;
		}
		int r = virtio_blk_attach(c->devs->disk[slot], argv[2], !strcmp(argv[3], "ro"), argv[4]);
		if (r < 0)
			snprintf(out, len, "error cannot attach %s to slot %d: %s", argv[2], slot,
				 strerror(-r));
		else
			snprintf(out, len, "ok slot=%d", slot);
	} else if (!strcmp(argv[0], "detach") && argc == 2) {
		int slot = atoi(argv[1]);

		if (slot < 0 || slot >= c->devs->ndisks) {
			snprintf(out, len, "error no disk slot %s", argv[1]);
			return;
		}
		int r = virtio_blk_detach(c->devs->disk[slot]);
		if (r < 0)
			snprintf(out, len, "error cannot detach slot %d: %s", slot, strerror(-r));
		else
			snprintf(out, len, "ok slot=%d", slot);
	} else if (!strcmp(argv[0], "balloon") && argc == 2) {
		char *end;
		unsigned long long mib = strtoull(argv[1], &end, 10);
		int r = *end ? -EINVAL : virtio_balloon_set_target(c->devs->balloon, mib * 256);

		if (r < 0)
			snprintf(out, len, "error cannot set the balloon to %s MiB: %s", argv[1],
				 strerror(-r));
		else
			snprintf(out, len, "ok target_mib=%llu", mib);
	} else if (!strcmp(argv[0], "stats") && argc == 1) {
		struct balloon_info bi;
		struct balloon_stats bs;
		int have = virtio_balloon_stats(c->devs->balloon, &bs) == 0;

		virtio_balloon_info(c->devs->balloon, &bi);
		virtio_balloon_request_stats(c->devs->balloon);
		snprintf(out, len,
			 "ok rss_kib=%ld guest_resident_kib=%llu balloon_actual_pages=%llu "
			 "reported_kib=%llu guest_free_kib=%lld guest_avail_kib=%lld",
			 rss_kib(), (unsigned long long)(vm_ram_resident(c->vm) >> 10),
			 (unsigned long long)bi.actual_pages, (unsigned long long)(bi.reported_bytes >> 10),
			 have ? (long long)(bs.free >> 10) : -1LL,
			 have ? (long long)(bs.available >> 10) : -1LL);
	} else if (!strcmp(argv[0], "net") && argc == 1) {
		struct virtio_net_stats ns;

		if (!c->devs->net) {
			snprintf(out, len, "error this VM has no network card (lxs-vm --net)");
			return;
		}
		virtio_net_get_stats(c->devs->net, &ns);
		snprintf(out, len,
			 "ok link=%d tx_frames=%llu tx_bytes=%llu rx_frames=%llu rx_bytes=%llu "
			 "tx_bad=%llu tx_dropped=%llu rx_dropped=%llu backend_losses=%llu "
			 "reconnects=%llu",
			 ns.link_up, (unsigned long long)ns.tx_frames, (unsigned long long)ns.tx_bytes,
			 (unsigned long long)ns.rx_frames, (unsigned long long)ns.rx_bytes,
			 (unsigned long long)ns.tx_bad, (unsigned long long)ns.tx_dropped,
			 (unsigned long long)ns.rx_dropped, (unsigned long long)ns.backend_losses,
			 (unsigned long long)ns.reconnects);
	} else if (!strcmp(argv[0], "poweroff") && argc == 1) {
		snprintf(out, len, "ok");
		vm_request_exit(c->vm, 0);
	} else {
		snprintf(out, len, "error unknown command '%s'; see src/vmm/control.h", argv[0]);
	}
}

/* One connection: its command line may come in pieces. */
struct client {
	struct control *c;
	size_t len;
	char line[LINE_MAX_BYTES + 1];
};

static void client_close(struct evloop *ev, int fd, struct client *cl)
{
	ev_del(ev, fd);
	close(fd);
	free(cl);
}

static void on_client(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct client *cl = arg;
	char out[512];
	ssize_t n;

	(void)events;
	n = recv(fd, cl->line + cl->len, LINE_MAX_BYTES - cl->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(ev, fd, cl);
		return;
	}
	cl->len += (size_t)n;
	if (!memchr(cl->line, '\n', cl->len)) {
		if (cl->len == LINE_MAX_BYTES) {
			dprintf(fd, "error send one command line ending in a newline\n");
			client_close(ev, fd, cl);
		}
		return;
	}
	cl->line[cl->len] = 0;
	run_command(cl->c, cl->line, out, sizeof(out));
	dprintf(fd, "%s\n", out);
	client_close(ev, fd, cl);
}

static void on_accept(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct control *c = arg;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (cfd < 0)
		return;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != getuid()) {
		log_warnx("control: refused a connection from uid %d", (int)cred.uid);
		close(cfd);
		return;
	}
	struct client *cl = calloc(1, sizeof(*cl));

	if (!cl || ev_add(ev, cfd, EPOLLIN, on_client, cl) < 0) {
		free(cl);
		close(cfd);
		return;
	}
	cl->c = c;
}

static void control_destroy(void *arg)
{
	struct control *c = arg;

	close(c->fd);
	unlink(c->path);
	free(c);
}

int control_create(struct vm *vm, struct vm_devices *devs, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct control *c;
	int ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->vm = vm;
	c->devs = devs;
	strcpy(c->path, path);
	strcpy(a.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		ret = -errno;
		free(c);
		return ret;
	}
	unlink(path);
	mode_t old = umask(0077);
	ret = bind(c->fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (ret < 0 || listen(c->fd, 16) < 0) {
		ret = -errno;
		close(c->fd);
		free(c);
		return ret;
	}
	if ((ret = vm_on_close(vm, control_destroy, c)) < 0) {
		control_destroy(c);
		return ret;
	}
	return ev_add(vm->ev, c->fd, EPOLLIN, on_accept, c);
}
