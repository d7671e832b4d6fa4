/*
 * control.c - the server side of lxs-vm's control socket (control.h): one
 * conversation per connection in the event loop, requests checked by
 * ctlreq.c before they reach a device.
 */
#include "control.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wire.h"
#include "ctlreq.h"
#include "devices.h"
#include "evloop.h"

/* Where a connection is in its conversation. */
enum client_state { CL_HELLO, CL_REQUEST, CL_ANSWERED };

struct client {
	struct control *c;
	int idx;      /* in c->clients */
	uint64_t seq; /* accepted as the seq-th connection */
	struct wire w;
	enum client_state state;
	uint32_t events; /* what the event loop watches for it */
};

struct control {
	struct vm *vm;
	struct vm_devices *devs;
	int fd;
	char path[108];
	/* Open connections, so that vm_close frees the ones still talking. */
	struct client *clients[CONTROL_MAX_CLIENTS];
	uint64_t accepted;
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

static int answer_error(struct client *cl, int err, const char *sentence)
{
	struct lxs_error e = {.err = err};

	return wire_queue(&cl->w, LXS_MSG_ERROR, 0, &e, sizeof(e), sentence, strlen(sentence));
}

static int answer_info(struct client *cl, const char *text)
{
	return wire_queue(&cl->w, LXS_MSG_INFO, 0, text, strlen(text), NULL, 0);
}

/* Carry out a checked request and queue its answer. */
static int run_request(struct client *cl, const struct ctl_req *r)
{
	struct control *c = cl->c;
	char out[PATH_MAX + 128];
	int ret;

	switch (r->type) {
	case LXS_MSG_VM_ATTACH:
		ret = virtio_blk_attach(c->devs->disk[r->slot], r->path, r->ro, r->serial);
		if (ret < 0) {
			snprintf(out, sizeof(out), "cannot attach %s to slot %u: %s", r->path,
				 r->slot, strerror(-ret));
			return answer_error(cl, -ret, out);
		}
		snprintf(out, sizeof(out), "slot=%u", r->slot);
		return answer_info(cl, out);
	case LXS_MSG_VM_DETACH:
		ret = virtio_blk_detach(c->devs->disk[r->slot]);
		if (ret < 0) {
			snprintf(out, sizeof(out), "cannot detach slot %u: %s", r->slot,
				 strerror(-ret));
			return answer_error(cl, -ret, out);
		}
		snprintf(out, sizeof(out), "slot=%u", r->slot);
		return answer_info(cl, out);
	case LXS_MSG_VM_BALLOON:
		ret = virtio_balloon_set_target(c->devs->balloon, r->mib * 256);
		if (ret < 0) {
			snprintf(out, sizeof(out), "cannot set the balloon to %llu MiB: %s",
				 (unsigned long long)r->mib, strerror(-ret));
			return answer_error(cl, -ret, out);
		}
		snprintf(out, sizeof(out), "target_mib=%llu", (unsigned long long)r->mib);
		return answer_info(cl, out);
	case LXS_MSG_VM_STATS: {
		struct balloon_info bi;
		struct balloon_stats bs;
		int have = virtio_balloon_stats(c->devs->balloon, &bs) == 0;

		virtio_balloon_info(c->devs->balloon, &bi);
		virtio_balloon_request_stats(c->devs->balloon);
		snprintf(out, sizeof(out),
			 "rss_kib=%ld guest_resident_kib=%llu balloon_actual_pages=%llu "
			 "reported_kib=%llu guest_free_kib=%lld guest_avail_kib=%lld",
			 rss_kib(), (unsigned long long)(vm_ram_resident(c->vm) >> 10),
			 (unsigned long long)bi.actual_pages,
			 (unsigned long long)(bi.reported_bytes >> 10),
			 have ? (long long)(bs.free >> 10) : -1LL,
			 have ? (long long)(bs.available >> 10) : -1LL);
		return answer_info(cl, out);
	}
	case LXS_MSG_VM_NET: {
		struct virtio_net_stats ns;

		if (!c->devs->net)
			return answer_error(cl, ENODEV,
					    "this VM has no network card (lxs-vm --net)");
		virtio_net_get_stats(c->devs->net, &ns);
		snprintf(out, sizeof(out),
			 "link=%d tx_frames=%llu tx_bytes=%llu rx_frames=%llu rx_bytes=%llu "
			 "tx_bad=%llu tx_dropped=%llu rx_dropped=%llu backend_losses=%llu "
			 "reconnects=%llu",
			 ns.link_up, (unsigned long long)ns.tx_frames,
			 (unsigned long long)ns.tx_bytes, (unsigned long long)ns.rx_frames,
			 (unsigned long long)ns.rx_bytes, (unsigned long long)ns.tx_bad,
			 (unsigned long long)ns.tx_dropped, (unsigned long long)ns.rx_dropped,
			 (unsigned long long)ns.backend_losses, (unsigned long long)ns.reconnects);
		return answer_info(cl, out);
	}
	case LXS_MSG_VM_SHARE_OPTS:
		for (int i = 0; i < c->devs->nfs; i++) {
			if (!strcmp(c->devs->fs_tag[i], r->tag)) {
				virtio_fs_set_opts(c->devs->fs[i], &r->opts);
				return wire_queue(&cl->w, LXS_MSG_OK, 0, NULL, 0, NULL, 0);
			}
		}
		snprintf(out, sizeof(out), "this VM has no virtio-fs share tagged '%s'", r->tag);
		return answer_error(cl, ENODEV, out);
	case LXS_MSG_VM_POWEROFF:
		/* The answer still goes out: the loop ends after this callback. */
		vm_request_exit(c->vm, 0);
		return wire_queue(&cl->w, LXS_MSG_OK, 0, NULL, 0, NULL, 0);
	default:
		return -EPROTO; /* ctl_parse_request lets no other type through */
	}
}

static void client_close(struct evloop *ev, struct client *cl)
{
	ev_del(ev, cl->w.fd);
	close(cl->w.fd);
	wire_fini(&cl->w);
	cl->c->clients[cl->idx] = NULL;
	free(cl);
}

/*
 * The messages that have come in whole. Returns -errno when the client is
 * to be dropped: bytes that are not frames, a first message that is not a
 * HELLO, an answer that cannot be queued.
 */
static int take_messages(struct client *cl)
{
	struct lxs_msg_hdr h;
	const uint8_t *p;
	char err[256];
	int ret = 0;

	while (cl->state != CL_ANSWERED && (ret = wire_next(&cl->w, &h, &p)) == 1) {
		if (cl->state == CL_HELLO) {
			struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};

			ret = ctl_check_hello(&h, p, err, sizeof(err));
			if (ret < 0 && !err[0])
				return ret;
			if (ret < 0) {
				ret = answer_error(cl, EPROTO, err);
				cl->state = CL_ANSWERED;
			} else {
				ret = wire_queue(&cl->w, LXS_MSG_HELLO, 0, &hello, sizeof(hello),
						 NULL, 0);
				cl->state = CL_REQUEST;
			}
		} else {
			struct ctl_req r;

			ret = ctl_parse_request(&h, p, (unsigned)cl->c->devs->ndisks, &r, err,
						sizeof(err));
			ret = ret < 0 ? answer_error(cl, -ret, err) : run_request(cl, &r);
			cl->state = CL_ANSWERED;
		}
		wire_consume(&cl->w);
		if (ret < 0)
			return ret;
	}
	/* Once answered, whatever else the client sent is not looked at. */
	return cl->state == CL_ANSWERED ? 0 : ret;
}

static void on_client(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct client *cl = arg;
	uint32_t want;
	int ret = 0;

	if (cl->state != CL_ANSWERED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		if ((ret = wire_read(&cl->w)) == 0)
			ret = take_messages(cl);
	if (ret == 0)
		ret = wire_flush(&cl->w);
	if (ret < 0 || (ret == 0 && cl->state == CL_ANSWERED)) {
		client_close(ev, cl);
		return;
	}
	/* Reading stops with the answer; writing waits for room only when the socket is full. */
	want = (cl->state == CL_ANSWERED ? 0 : EPOLLIN) | (ret == 1 ? EPOLLOUT : 0);
	if (want != cl->events && ev_mod(ev, fd, want) == 0)
		cl->events = want;
}

static void on_accept(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct control *c = arg;
	struct ucred cred = {0};
	socklen_t clen = sizeof(cred);
	struct client *cl = NULL;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), idx;

	(void)events;
	if (cfd < 0)
		return;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != getuid()) {
		log_warnx("control: refused a connection from uid %d", (int)cred.uid);
		goto fail;
	}
	for (idx = 0; idx < CONTROL_MAX_CLIENTS && c->clients[idx]; idx++)
		;
	/*
	 * There are no timers here: a client that never finishes its request
	 * holds its place until a new one needs it. The oldest gives way, so
	 * that leaked or stuck connections can never lock lxsd out.
	 */
	if (idx == CONTROL_MAX_CLIENTS) {
		idx = 0;
		for (int i = 1; i < CONTROL_MAX_CLIENTS; i++)
			if (c->clients[i]->seq < c->clients[idx]->seq)
				idx = i;
		log_warnx("control: %d connections open; dropped the oldest", CONTROL_MAX_CLIENTS);
		client_close(ev, c->clients[idx]);
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl || wire_init(&cl->w, cfd) < 0)
		goto fail;
	cl->c = c;
	cl->idx = idx;
	cl->seq = c->accepted++;
	cl->events = EPOLLIN;
	if (ev_add(ev, cfd, EPOLLIN, on_client, cl) < 0)
		goto fail;
	c->clients[idx] = cl;
	return;
fail:
	if (cl)
		wire_fini(&cl->w);
	free(cl);
	close(cfd);
}

static void control_destroy(void *arg)
{
	struct control *c = arg;

	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i])
			client_close(c->vm->ev, c->clients[i]);
	close(c->fd);
	unlink(c->path);
	free(c);
}

int control_create(struct vm *vm, struct vm_devices *devs, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct control *c;
	mode_t old;
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
		goto err_free;
	}
	unlink(path);
	/* 0600 from the start: no window in which another user could connect. */
	old = umask(0077);
	ret = bind(c->fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (ret < 0 || listen(c->fd, 16) < 0) {
		ret = -errno;
		goto err_close;
	}
	if ((ret = vm_on_close(vm, control_destroy, c)) < 0) {
		unlink(path);
		goto err_close;
	}
	return ev_add(vm->ev, c->fd, EPOLLIN, on_accept, c);

err_close:
	close(c->fd);
err_free:
	free(c);
	return ret;
}
