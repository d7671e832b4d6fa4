/*
 * test_vmctl.c - lxs-vm's control socket without KVM: the request checks
 * (src/vmm/ctlreq.c) case by case, then the server (src/vmm/control.c) in
 * an event loop of its own with a real disk slot and balloon on a fake
 * guest, talked to by the client library (src/common/vmctl.c) and by raw
 * clients that break the conversation.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/vmctl.h"
#include "common/wire.h"
#include "fake_guest.h"
#include "unit.h"
#include "vmm/control.h"
#include "vmm/ctlreq.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"

/* --- the request checks -------------------------------------------------- */

/* A message to parse: header, fixed part, then raw bytes (a string table). */
struct msg {
	struct lxs_msg_hdr h;
	uint8_t p[512];
};

static struct msg mk(uint16_t type, const void *fixed, size_t flen, const void *tab, size_t tlen)
{
	struct msg m = {.h = {.len = (uint32_t)(flen + tlen), .type = type}};

	if (flen)
		memcpy(m.p, fixed, flen);
	if (tlen)
		memcpy(m.p + flen, tab, tlen);
	return m;
}

static int parse(const struct msg *m, struct ctl_req *r, char *err)
{
	return ctl_parse_request(&m->h, m->p, 2, r, err, 256);
}

static void t_hello(struct unit *u)
{
	struct lxs_hello ok = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION},
			 old = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION - 1},
			 bad = {1, LXS_PROTO_VERSION};
	struct msg m;
	char err[256];

	m = mk(LXS_MSG_HELLO, &ok, sizeof(ok), NULL, 0);
	CHECK(u, ctl_check_hello(&m.h, m.p, err, sizeof(err)) == 0);
	/* Another version is told why; anything else is not a client of ours. */
	m = mk(LXS_MSG_HELLO, &old, sizeof(old), NULL, 0);
	CHECK(u, ctl_check_hello(&m.h, m.p, err, sizeof(err)) == -EPROTO && strstr(err, "version"));
	m = mk(LXS_MSG_HELLO, &bad, sizeof(bad), NULL, 0);
	CHECK(u, ctl_check_hello(&m.h, m.p, err, sizeof(err)) == -EPROTO && !err[0]);
	m = mk(LXS_MSG_HELLO, &ok, sizeof(ok) - 1, NULL, 0);
	CHECK(u, ctl_check_hello(&m.h, m.p, err, sizeof(err)) == -EPROTO && !err[0]);
	m = mk(LXS_MSG_VM_STATS, NULL, 0, NULL, 0);
	CHECK(u, ctl_check_hello(&m.h, m.p, err, sizeof(err)) == -EPROTO && !err[0]);
}

/* SHARE_OPTS: a tag and DrvFs options, parsed over the defaults; anything else refused. */
static void t_share_opts(struct unit *u)
{
	static const char good[] = "hostfs1\0uid=4321:gid=7,umask=077";
	static const char long_tag[] = "0123456789012345678901234567890123456\0";
	struct ctl_req r;
	struct msg m;
	char err[256];

	m = mk(LXS_MSG_VM_SHARE_OPTS, NULL, 0, good, sizeof(good));
	CHECK(u, parse(&m, &r, err) == 0);
	CHECK(u, r.type == LXS_MSG_VM_SHARE_OPTS && !strcmp(r.tag, "hostfs1"));
	CHECK(u, r.opts.uid == 4321 && r.opts.gid == 7 && r.opts.umask == 077 && !r.opts.metadata);
	m = mk(LXS_MSG_VM_SHARE_OPTS, NULL, 0, "t\0", 3); /* no options: the defaults */
	CHECK(u, parse(&m, &r, err) == 0 && r.opts.uid == 1000 && r.opts.umask == 022);
	m = mk(LXS_MSG_VM_SHARE_OPTS, NULL, 0, "t\0bogus=1", 10);
	CHECK(u, parse(&m, &r, err) == -EINVAL && strstr(err, "DrvFs"));
	m = mk(LXS_MSG_VM_SHARE_OPTS, NULL, 0, "\0uid=1", 7);
	CHECK(u, parse(&m, &r, err) == -EINVAL && strstr(err, "tag"));
	m = mk(LXS_MSG_VM_SHARE_OPTS, NULL, 0, long_tag, sizeof(long_tag));
	CHECK(u, parse(&m, &r, err) == -EINVAL);
	m = mk(LXS_MSG_VM_SHARE_OPTS, NULL, 0, "t\0a\0b", 6); /* three strings */
	CHECK(u, parse(&m, &r, err) == -EPROTO);
	m = mk(LXS_MSG_VM_SHARE_OPTS, NULL, 0, "t\0a", 3); /* no NUL at the end */
	CHECK(u, parse(&m, &r, err) == -EPROTO);
	m = mk(LXS_MSG_VM_SHARE_OPTS, NULL, 0, NULL, 0);
	CHECK(u, parse(&m, &r, err) == -EPROTO);
}

static void t_attach(struct unit *u)
{
	static const char tab[] = "/images/my distro\n.img\0lxs-0123456789abcdef";
	struct lxs_vm_disk d = {.slot = 1, .flags = LXS_VM_DISK_RO};
	struct msg m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), tab, sizeof(tab));
	struct ctl_req r;
	char err[256];

	CHECK(u, parse(&m, &r, err) == 0);
	CHECK(u, r.type == LXS_MSG_VM_ATTACH && r.slot == 1 && r.ro);
	CHECK(u, !strcmp(r.path, "/images/my distro\n.img") &&
		     !strcmp(r.serial, "lxs-0123456789abcdef"));
	CHECK(u, r.path >= (const char *)m.p && r.serial < (const char *)m.p + m.h.len);
	d.flags = 0;
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), "a\0\0", 3); /* an empty serial is one */
	CHECK(u, parse(&m, &r, err) == 0 && !r.ro && !strcmp(r.serial, ""));
}

static void t_attach_refused(struct unit *u)
{
	struct lxs_vm_disk d = {.slot = 0};
	struct ctl_req r;
	char err[256];
	struct msg m;

	/* The string table: one string, three, no final NUL, none at all. */
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), "a", 2);
	CHECK(u, parse(&m, &r, err) == -EPROTO && err[0]);
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), "a\0b\0c", 6);
	CHECK(u, parse(&m, &r, err) == -EPROTO);
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), "a\0b", 3);
	CHECK(u, parse(&m, &r, err) == -EPROTO);
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), NULL, 0);
	CHECK(u, parse(&m, &r, err) == -EPROTO);
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d) - 1, NULL, 0);
	CHECK(u, parse(&m, &r, err) == -EPROTO);
	/* What the strings say. */
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), "\0s", 3);
	CHECK(u, parse(&m, &r, err) == -EINVAL);
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d),
	       "a\0"
	       "123456789012345678901",
	       24);
	CHECK(u, parse(&m, &r, err) == -EINVAL && strstr(err, "serial"));
	/* Flags and slots. */
	d.flags = 2;
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), "a\0s", 4);
	CHECK(u, parse(&m, &r, err) == -EINVAL && strstr(err, "flags"));
	d.flags = 0;
	d.slot = 2;
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), "a\0s", 4);
	CHECK(u, parse(&m, &r, err) == -ENODEV && strstr(err, "slot 2"));
	d.slot = 0xffffffff;
	m = mk(LXS_MSG_VM_ATTACH, &d, sizeof(d), "a\0s", 4);
	CHECK(u, parse(&m, &r, err) == -ENODEV);
}

static void t_detach(struct unit *u)
{
	struct lxs_vm_disk d = {.slot = 1};
	struct ctl_req r;
	char err[256];
	struct msg m = mk(LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0);

	CHECK(u, parse(&m, &r, err) == 0 && r.type == LXS_MSG_VM_DETACH && r.slot == 1);
	m = mk(LXS_MSG_VM_DETACH, &d, sizeof(d), "x", 1);
	CHECK(u, parse(&m, &r, err) == -EPROTO);
	d.flags = LXS_VM_DISK_RO; /* means nothing to a detach: refused */
	m = mk(LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0);
	CHECK(u, parse(&m, &r, err) == -EINVAL);
	d.flags = 0;
	d.slot = 2;
	m = mk(LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0);
	CHECK(u, parse(&m, &r, err) == -ENODEV);
	/* No slots at all: every slot is out of range. */
	d.slot = 0;
	m = mk(LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0);
	CHECK(u, ctl_parse_request(&m.h, m.p, 0, &r, err, sizeof(err)) == -ENODEV);
}

static void t_balloon(struct unit *u)
{
	struct lxs_vm_balloon b = {.mib = 300};
	struct ctl_req r;
	char err[256];
	struct msg m = mk(LXS_MSG_VM_BALLOON, &b, sizeof(b), NULL, 0);

	CHECK(u, parse(&m, &r, err) == 0 && r.mib == 300);
	b.mib = CTL_BALLOON_MAX_MIB + 1;
	m = mk(LXS_MSG_VM_BALLOON, &b, sizeof(b), NULL, 0);
	CHECK(u, parse(&m, &r, err) == -EINVAL);
	m = mk(LXS_MSG_VM_BALLOON, &b, sizeof(b) - 4, NULL, 0);
	CHECK(u, parse(&m, &r, err) == -EPROTO);
}

static void t_empty_requests(struct unit *u)
{
	static const uint16_t types[] = {LXS_MSG_VM_STATS, LXS_MSG_VM_NET, LXS_MSG_VM_POWEROFF};
	struct ctl_req r;
	char err[256];

	for (size_t i = 0; i < 3; i++) {
		struct msg m = mk(types[i], NULL, 0, NULL, 0);

		CHECK(u, parse(&m, &r, err) == 0 && r.type == types[i]);
		m = mk(types[i], "x", 1, NULL, 0);
		CHECK(u, parse(&m, &r, err) == -EPROTO && err[0]);
	}
}

static void t_not_requests(struct unit *u)
{
	static const uint16_t types[] = {
	    LXS_MSG_HELLO,   LXS_MSG_OK,     LXS_MSG_ERROR,     LXS_MSG_INFO,
	    LXS_MSG_DATA,    LXS_MSG_CREATE, LXS_MSG_LXSD_PING, 0,
	    LXS_MSG_TYPE_MAX};
	struct ctl_req r;
	char err[256];

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct msg m = mk(types[i], NULL, 0, NULL, 0);

		CHECK(u, parse(&m, &r, err) == -EPROTO && err[0]);
	}
	/* A request on a stream other than 0. */
	struct msg m = mk(LXS_MSG_VM_STATS, NULL, 0, NULL, 0);

	m.h.stream = 1;
	CHECK(u, parse(&m, &r, err) == -EPROTO);
}

/* --- the server, talked to ------------------------------------------------- */

struct srv {
	struct vm *vm;
	struct vm_devices devs;
	struct fake_guest fg;
	pthread_t loop;
	char dir[64], sock[128], img[160];
};

static void no_irq(void *opaque)
{
	(void)opaque;
}

static void *run_loop(void *arg)
{
	struct srv *s = arg;

	ev_run(s->vm->ev);
	return NULL;
}

static struct srv *srv_start(void)
{
	struct srv *s = calloc(1, sizeof(*s));
	FILE *f;

	if (!s || !(s->vm = calloc(1, sizeof(*s->vm))) || fg_init(&s->fg) < 0)
		abort();
	atomic_init(&s->vm->exit_status, -1);
	snprintf(s->dir, sizeof(s->dir), "/tmp/lxs-test-vmctl-XXXXXX");
	if (!mkdtemp(s->dir) || ev_create(&s->vm->ev) < 0)
		abort();
	snprintf(s->sock, sizeof(s->sock), "%s/ctl.sock", s->dir);
	/* A space and a newline: the text protocol could not carry this path. */
	snprintf(s->img, sizeof(s->img), "%s/my disk\n1.img", s->dir);
	if (!(f = fopen(s->img, "w")) || ftruncate(fileno(f), 1 << 20) < 0 || fclose(f))
		abort();
	if (virtio_blk_create(&s->devs.disk[0], &s->fg.gm, s->vm->ev, NULL, false, "") < 0 ||
	    virtio_balloon_create(&s->devs.balloon, &s->fg.gm) < 0)
		abort();
	virtio_dev_set_irq(s->devs.disk[0], no_irq, NULL);
	virtio_dev_set_irq(s->devs.balloon, no_irq, NULL);
	s->devs.ndisks = 1;
	if (control_create(s->vm, &s->devs, s->sock) < 0 ||
	    pthread_create(&s->loop, NULL, run_loop, s))
		abort();
	return s;
}

static void srv_stop(struct srv *s)
{
	ev_stop(s->vm->ev);
	pthread_join(s->loop, NULL);
	for (int i = s->vm->ncleanups; i-- > 0;)
		s->vm->cleanups[i].fn(s->vm->cleanups[i].arg);
	virtio_blk_destroy(s->devs.disk[0]);
	virtio_balloon_destroy(s->devs.balloon);
	ev_destroy(s->vm->ev);
	fg_fini(&s->fg);
	unlink(s->img);
	rmdir(s->dir);
	free(s->vm);
	free(s);
}

static int raw_connect(const struct srv *s)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, s->sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();
	return fd;
}

/* Everything the server says until it closes (within 5 s): bytes, or -1. */
static ssize_t read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			return -1;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return n < 0 ? -1 : (ssize_t)got;
		got += (size_t)n;
	}
}

static void t_server_disks(struct unit *u)
{
	struct srv *s = srv_start();
	struct virtio_blk_stats st;
	char err[256], info[256];
	struct lxs_vm_disk d = {.slot = 0};

	CHECK(u, vmctl_attach(s->sock, 0, s->img, false, "lxs-test", err, sizeof(err)) == 0);
	virtio_blk_get_stats(s->devs.disk[0], &st);
	CHECK(u, st.attached && !st.read_only && st.capacity == 2048);
	/* The slot is taken: the server's errno and sentence come back. */
	CHECK(u, vmctl_attach(s->sock, 0, s->img, false, "x", err, sizeof(err)) == -EBUSY);
	CHECK(u, strstr(err, "cannot attach") && strstr(err, "my disk"));
	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0, info, sizeof(info),
			    err, sizeof(err), 5000) == 0);
	CHECK(u, !strcmp(info, "slot=0"));
	CHECK(u, vmctl_detach(s->sock, 0, err, sizeof(err)) == -ENOMEDIUM && strstr(err, "slot 0"));
	CHECK(u, vmctl_attach(s->sock, 1, s->img, true, "x", err, sizeof(err)) == -ENODEV);
	CHECK(u, strstr(err, "no disk slot 1") != NULL);
	srv_stop(s);
}

static void t_server_info(struct unit *u)
{
	struct srv *s = srv_start();
	struct lxs_vm_balloon b = {.mib = 0};
	char err[256], info[512];

	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_STATS, NULL, 0, NULL, 0, info, sizeof(info), err,
			    sizeof(err), 5000) == 0);
	CHECK(u, !strncmp(info, "rss_kib=", 8) && strstr(info, " guest_avail_kib=-1"));
	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_BALLOON, &b, sizeof(b), NULL, 0, info, sizeof(info),
			    err, sizeof(err), 5000) == 0);
	CHECK(u, !strcmp(info, "target_mib=0"));
	b.mib = 2; /* more than the fake guest's 1 MiB */
	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_BALLOON, &b, sizeof(b), NULL, 0, info, sizeof(info),
			    err, sizeof(err), 5000) == -EINVAL);
	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_NET, NULL, 0, NULL, 0, info, sizeof(info), err,
			    sizeof(err), 5000) == -ENODEV);
	CHECK(u, strstr(err, "no network card") != NULL);
	/* A payload the type does not have: refused by the server, not by the client. */
	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_STATS, "x", 1, NULL, 0, info, sizeof(info), err,
			    sizeof(err), 5000) == -EPROTO);
	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_POWEROFF, NULL, 0, NULL, 0, info, sizeof(info), err,
			    sizeof(err), 5000) == 0);
	CHECK(u, !info[0] && atomic_load(&s->vm->exit_status) == 0);
	srv_stop(s);
}

static void t_server_version(struct unit *u)
{
	struct srv *s = srv_start();
	struct lxs_msg_hdr h = {sizeof(struct lxs_hello), LXS_MSG_HELLO, 0}, got;
	struct lxs_hello hello = {LXS_SESSION_MAGIC, 2};
	struct lxs_error e;
	uint8_t buf[512];
	int fd = raw_connect(s);
	ssize_t n;

	CHECK(u, write(fd, &h, sizeof(h)) == sizeof(h) && write(fd, &hello, 8) == 8);
	n = read_all(fd, buf, sizeof(buf));
	CHECK(u, n > (ssize_t)(sizeof(got) + sizeof(e)));
	memcpy(&got, buf, sizeof(got));
	memcpy(&e, buf + sizeof(got), sizeof(e));
	CHECK(u,
	      got.type == LXS_MSG_ERROR && e.err == EPROTO && got.len + sizeof(got) == (size_t)n);
	close(fd);
	srv_stop(s);
}

static void t_server_drops_garbage(struct unit *u)
{
	struct srv *s = srv_start();
	struct lxs_msg_hdr bad = {LXS_MSG_MAX + 1, LXS_MSG_DATA, 0},
			   stats = {0, LXS_MSG_VM_STATS, 0};
	uint8_t buf[512];
	int fd;

	/* Not a frame at all; a request before HELLO; text of the old protocol. */
	fd = raw_connect(s);
	CHECK(u, write(fd, &bad, sizeof(bad)) == sizeof(bad));
	CHECK(u, read_all(fd, buf, sizeof(buf)) == 0);
	close(fd);
	fd = raw_connect(s);
	CHECK(u, write(fd, &stats, sizeof(stats)) == sizeof(stats));
	CHECK(u, read_all(fd, buf, sizeof(buf)) == 0);
	close(fd);
	fd = raw_connect(s);
	CHECK(u, write(fd, "stats\n", 6) == 6);
	CHECK(u, shutdown(fd, SHUT_WR) == 0 && read_all(fd, buf, sizeof(buf)) == 0);
	close(fd);
	/* The server is still there for a client that does it right. */
	char err[256], info[512];
	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_STATS, NULL, 0, NULL, 0, info, sizeof(info), err,
			    sizeof(err), 5000) == 0);
	srv_stop(s);
}

/* HELLO and the request one byte at a time: the server waits for whole frames. */
static void t_server_partial_reads(struct unit *u)
{
	struct srv *s = srv_start();
	struct lxs_hello hello = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	struct lxs_msg_hdr hh = {sizeof(hello), LXS_MSG_HELLO, 0}, rh = {0, LXS_MSG_VM_STATS, 0},
			   got;
	uint8_t out[2 * sizeof(hh) + sizeof(hello)], buf[1024];
	int fd = raw_connect(s);
	ssize_t n;

	memcpy(out, &hh, sizeof(hh));
	memcpy(out + sizeof(hh), &hello, sizeof(hello));
	memcpy(out + sizeof(hh) + sizeof(hello), &rh, sizeof(rh));
	for (size_t i = 0; i < sizeof(out); i++) {
		CHECK(u, write(fd, out + i, 1) == 1);
		usleep(2000);
	}
	n = read_all(fd, buf, sizeof(buf));
	CHECK(u, n > (ssize_t)(2 * sizeof(got) + sizeof(hello)));
	memcpy(&got, buf, sizeof(got));
	CHECK(u, got.type == LXS_MSG_HELLO && got.len == sizeof(hello));
	memcpy(&got, buf + sizeof(got) + sizeof(hello), sizeof(got));
	CHECK(u,
	      got.type == LXS_MSG_INFO && 2 * sizeof(got) + sizeof(hello) + got.len == (size_t)n);
	close(fd);
	srv_stop(s);
}

/* Clients that connect and say nothing hold a place each; past the cap, the oldest gives way. */
static void t_server_client_cap(struct unit *u)
{
	struct srv *s = srv_start();
	int fds[CONTROL_MAX_CLIENTS];
	char err[256], info[512];
	uint8_t buf[16];

	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		fds[i] = raw_connect(s);
	usleep(200000);
	CHECK(u, vmctl_call(s->sock, LXS_MSG_VM_STATS, NULL, 0, NULL, 0, info, sizeof(info), err,
			    sizeof(err), 5000) == 0);
	CHECK(u, read_all(fds[0], buf, sizeof(buf)) == 0);
	/* The rest are still open when the VM closes: freed by the server's teardown. */
	srv_stop(s);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
}

static void t_client_no_server(struct unit *u)
{
	char err[256];

	CHECK(u, vmctl_detach("/nonexistent/ctl.sock", 0, err, sizeof(err)) == -ENOENT);
	CHECK(u, strstr(err, "/nonexistent/ctl.sock") != NULL);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_hello);
	RUN(&u, t_attach);
	RUN(&u, t_share_opts);
	RUN(&u, t_attach_refused);
	RUN(&u, t_detach);
	RUN(&u, t_balloon);
	RUN(&u, t_empty_requests);
	RUN(&u, t_not_requests);
	RUN(&u, t_server_disks);
	RUN(&u, t_server_info);
	RUN(&u, t_server_version);
	RUN(&u, t_server_drops_garbage);
	RUN(&u, t_server_partial_reads);
	RUN(&u, t_server_client_cap);
	RUN(&u, t_client_no_server);
	return unit_done(&u);
}
