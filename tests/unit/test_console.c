/*
 * test_console.c - the virtio console (console.c) over pipes, driven through
 * the mmio transport with a fake guest, and the event loop it runs on
 * (evloop.c), dispatched by hand with ev_run_once().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_guest.h"
#include "unit.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/mmio.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define RXQ VIRTIO_CONSOLE_RXQ
#define TXQ VIRTIO_CONSOLE_TXQ

struct t {
	struct fake_guest fg;
	struct fake_ring r[2];
	struct evloop *ev;
	struct virtio_dev *dev;
	int in[2];  /* test writes in[1], the device reads in[0] */
	int out[2]; /* the device writes out[1], the test reads out[0] */
	int irqs;
};

static void count_irq(void *opaque)
{
	__atomic_fetch_add(&((struct t *)opaque)->irqs, 1, __ATOMIC_SEQ_CST);
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The driver's side of 3.1.1 for both queues. */
static void drv_start(struct t *t)
{
	for (unsigned q = 0; q < 2; q++)
		t->r[q] = fr_make(q, 16);
	fg_driver_start(t->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE),
			t->r, 2);
}

/* A console over fresh pipes (or the given fds when in_fd/out_fd >= 0). */
static struct t *t_new_fds(int in_fd, int out_fd)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fg_init(&t->fg) < 0 || ev_create(&t->ev) < 0)
		abort();
	t->in[0] = t->in[1] = t->out[0] = t->out[1] = -1;
	if (in_fd < 0) {
		if (pipe2(t->in, O_CLOEXEC) < 0)
			abort();
		set_nonblock(t->in[0]);
		in_fd = t->in[0];
	}
	if (out_fd < 0) {
		if (pipe2(t->out, O_CLOEXEC) < 0)
			abort();
		out_fd = t->out[1];
	}
	if (virtio_console_create(&t->dev, &t->fg.gm, t->ev, in_fd, out_fd) < 0)
		abort();
	virtio_dev_set_irq(t->dev, count_irq, t);
	return t;
}

static struct t *t_new(void)
{
	return t_new_fds(-1, -1);
}

static void t_free(struct t *t)
{
	virtio_console_destroy(t->dev);
	ev_destroy(t->ev);
	for (int i = 0; i < 2; i++) {
		if (t->in[i] >= 0)
			close(t->in[i]);
		if (t->out[i] >= 0)
			close(t->out[i]);
	}
	fg_fini(&t->fg);
	free(t);
}

static struct vring_used *used(struct t *t, unsigned q)
{
	return fr_used(&t->fg, &t->r[q]);
}

/* Post a receive buffer of len bytes at desc `head`; returns its address. */
static uint8_t *post_rx(struct t *t, uint16_t head, uint32_t len)
{
	uint64_t gpa = FG_BUF + head * 0x1000;

	fr_desc(&t->fg, &t->r[RXQ], head, gpa, len, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r[RXQ], head);
	return fg_ptr(&t->fg, gpa);
}

/* Post `data` for transmission split into `parts` chained descriptors. */
static void post_tx(struct t *t, uint16_t head, const void *data, size_t len, unsigned parts)
{
	uint64_t gpa = FG_BUF + 0x20000 + head * 0x8000;
	size_t off = 0;

	memcpy(fg_ptr(&t->fg, gpa), data, len);
	for (unsigned i = 0; i < parts; i++) {
		size_t n = i + 1 < parts ? len / parts : len - off;
		uint16_t d = (uint16_t)(head + i);

		fr_desc(&t->fg, &t->r[TXQ], d, gpa + off, (uint32_t)n,
			i + 1 < parts ? VIRTQ_DESC_F_NEXT : 0, d + 1);
		off += n;
	}
	fr_post(&t->fg, &t->r[TXQ], head);
}

/* --- transmit ------------------------------------------------------------------ */

static void t_tx(struct unit *u)
{
	struct t *t = t_new();
	char buf[64];
	ssize_t n;

	drv_start(t);
	post_tx(t, 0, "hello world\n", 12, 2);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	n = read(t->out[0], buf, sizeof(buf));
	CHECK(u, n == 12 && !memcmp(buf, "hello world\n", 12));
	CHECK(u, used(t, TXQ)->idx == 1 && used(t, TXQ)->ring[0].id == 0 &&
		     used(t, TXQ)->ring[0].len == 0);
	CHECK(u, t->irqs == 1 &&
		     (fg_mmio_rd(t->dev, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_VRING));
	t_free(t);
}

/* Buffers posted before DRIVER_OK are sent when the driver gets there. */
static void t_tx_before_driver_ok(struct unit *u)
{
	struct t *t = t_new();
	char buf[8];

	/* drv_start() programs registers only: the ring contents stay. */
	t->r[TXQ] = fr_make(TXQ, 16);
	post_tx(t, 0, "early", 5, 1);
	drv_start(t);
	CHECK(u, read(t->out[0], buf, sizeof(buf)) == 5 && !memcmp(buf, "early", 5));
	CHECK(u, used(t, TXQ)->idx == 1);
	t_free(t);
}

/* A full non-blocking out_fd never blocks the vCPU; the loop finishes. */
static void t_tx_eagain(struct unit *u)
{
	enum { LEN = 20000 };
	struct t *t = t_new();
	static uint8_t data[LEN], got[LEN];
	uint8_t junk[4096];
	size_t have = 0, filled = 0;
	ssize_t n;

	for (size_t i = 0; i < LEN; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	set_nonblock(t->out[1]);
	set_nonblock(t->out[0]);
	fcntl(t->out[1], F_SETPIPE_SZ, 4096);
	while ((n = write(t->out[1], junk, sizeof(junk))) > 0)
		filled += (size_t)n;

	drv_start(t);
	post_tx(t, 0, data, LEN, 3);
	/* Must return although the pipe is full. */
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	CHECK(u, used(t, TXQ)->idx == 0);

	for (int iter = 0; iter < 10000 && have < LEN; iter++) {
		n = read(t->out[0], filled ? junk : got + have,
			 filled ? (filled < sizeof(junk) ? filled : sizeof(junk)) : LEN - have);
		if (n > 0 && filled)
			filled -= (size_t)n;
		else if (n > 0)
			have += (size_t)n;
		ev_run_once(t->ev, 10);
	}
	CHECK(u, have == LEN && !memcmp(got, data, LEN));
	CHECK(u, used(t, TXQ)->idx == 1);

	/* Unblocked: the next chain goes straight out. */
	post_tx(t, 4, "more", 4, 1);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	CHECK(u, read(t->out[0], got, sizeof(got)) == 4 && !memcmp(got, "more", 4));
	CHECK(u, used(t, TXQ)->idx == 2);
	t_free(t);
}

/* A reader that went away: output is dropped, buffers still come back. */
static void t_tx_broken_pipe(struct unit *u)
{
	struct t *t = t_new();

	close(t->out[0]);
	t->out[0] = -1;
	drv_start(t);
	post_tx(t, 0, "lost", 4, 1);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	post_tx(t, 1, "lost", 4, 1);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	CHECK(u, used(t, TXQ)->idx == 2);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* --- receive ------------------------------------------------------------------ */

static void t_rx(struct unit *u)
{
	struct t *t = t_new();
	uint8_t *buf;

	drv_start(t);
	buf = post_rx(t, 2, 64);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, write(t->in[1], "abc", 3) == 3);
	CHECK(u, ev_run_once(t->ev, 1000) == 1);
	CHECK(u, used(t, RXQ)->idx == 1 && used(t, RXQ)->ring[0].id == 2 &&
		     used(t, RXQ)->ring[0].len == 3);
	CHECK(u, !memcmp(buf, "abc", 3));
	CHECK(u, t->irqs == 1);
	t_free(t);
}

/* No guest buffers: in_fd is not polled (no busy loop) until a notify. */
static void t_rx_waits_for_buffers(struct unit *u)
{
	struct t *t = t_new();
	uint8_t *buf;

	drv_start(t);
	CHECK(u, write(t->in[1], "xyz", 3) == 3);
	/* The device looks once, finds no buffer and stops watching. */
	CHECK(u, ev_run_once(t->ev, 100) == 1);
	CHECK(u, ev_run_once(t->ev, 0) == 0);
	CHECK(u, used(t, RXQ)->idx == 0);

	buf = post_rx(t, 0, 2);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, ev_run_once(t->ev, 100) == 1);
	CHECK(u, used(t, RXQ)->idx == 1 && used(t, RXQ)->ring[0].len == 2 && !memcmp(buf, "xy", 2));
	/* The rest waits for the next buffer. */
	CHECK(u, ev_run_once(t->ev, 0) == 1); /* finds the ring empty */
	CHECK(u, ev_run_once(t->ev, 0) == 0);
	buf = post_rx(t, 1, 8);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, ev_run_once(t->ev, 100) == 1);
	CHECK(u, used(t, RXQ)->idx == 2 && used(t, RXQ)->ring[1].len == 1 && buf[0] == 'z');
	t_free(t);
}

static void t_rx_eof(struct unit *u)
{
	struct t *t = t_new();

	drv_start(t);
	close(t->in[1]);
	t->in[1] = -1;
	post_rx(t, 0, 16);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, ev_run_once(t->ev, 100) == 1);
	CHECK(u, used(t, RXQ)->idx == 0);
	/* Input is over: nothing is watched any more, even after a notify. */
	CHECK(u, ev_run_once(t->ev, 0) == 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, ev_run_once(t->ev, 0) == 0);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* Descriptors epoll refuses (files, /dev/null) are read on notify. */
static void t_rx_unpollable(struct unit *u)
{
	FILE *f = tmpfile();
	struct t *t;
	uint8_t *b0, *b1, *b2;
	int null_fd;

	if (!f)
		abort();
	fputs("file-data", f);
	fflush(f);
	rewind(f);
	t = t_new_fds(fileno(f), -1);
	drv_start(t);
	b0 = post_rx(t, 0, 4);
	b1 = post_rx(t, 1, 4);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, used(t, RXQ)->idx == 2 && !memcmp(b0, "file", 4) && !memcmp(b1, "-dat", 4));
	b2 = post_rx(t, 2, 4);
	post_rx(t, 3, 4);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, used(t, RXQ)->idx == 3 && used(t, RXQ)->ring[2].len == 1 && b2[0] == 'a');
	CHECK(u, ev_run_once(t->ev, 0) == 0);
	t_free(t);
	fclose(f);

	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	t = t_new_fds(null_fd, null_fd);
	drv_start(t);
	post_rx(t, 0, 4);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	post_tx(t, 0, "void", 4, 1);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	CHECK(u, used(t, RXQ)->idx == 0 && used(t, TXQ)->idx == 1);
	t_free(t);
	close(null_fd);
}

/* A receive buffer the device cannot write is a broken driver. */
static void t_rx_readonly_buffer(struct unit *u)
{
	struct t *t = t_new();

	drv_start(t);
	fr_desc(&t->fg, &t->r[RXQ], 0, FG_BUF, 16, 0, 0);
	fr_post(&t->fg, &t->r[RXQ], 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, write(t->in[1], "q", 1) == 1);
	ev_run_once(t->ev, 100);
	CHECK(u, fg_needs_reset(t->dev));
	CHECK(u, used(t, RXQ)->idx == 0);
	/* Stopped: nothing is polled any more. */
	CHECK(u, ev_run_once(t->ev, 0) == 0);
	t_free(t);
}

/* One socket for both directions. */
static void t_same_fd(struct unit *u)
{
	struct t *t;
	int sv[2];
	uint8_t *buf;
	char got[8];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	set_nonblock(sv[0]);
	t = t_new_fds(sv[0], sv[0]);
	drv_start(t);
	post_tx(t, 0, "ping", 4, 1);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	CHECK(u, read(sv[1], got, sizeof(got)) == 4 && !memcmp(got, "ping", 4));
	buf = post_rx(t, 0, 8);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, write(sv[1], "pong", 4) == 4);
	CHECK(u, ev_run_once(t->ev, 100) == 1);
	CHECK(u, used(t, RXQ)->idx == 1 && !memcmp(buf, "pong", 4));
	t_free(t);
	close(sv[0]);
	close(sv[1]);
}

/* --- config and reset ---------------------------------------------------------- */

static void t_size(struct unit *u)
{
	struct t *t = t_new();
	uint16_t cols = 0, rows = 0;
	uint32_t ports = 0;

	fg_mmio_wr(t->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_CONSOLE_F_SIZE));
	CHECK(u, !(fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_FEATURES) &
		   (1u << VIRTIO_CONSOLE_F_MULTIPORT)));
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_CONSOLE);
	drv_start(t);
	virtio_console_set_size(t->dev, 132, 43);
	virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + VIRTIO_CONSOLE_CFG_COLS, &cols, 2);
	virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + VIRTIO_CONSOLE_CFG_ROWS, &rows, 2);
	virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + VIRTIO_CONSOLE_CFG_MAX_PORTS, &ports, 4);
	CHECK(u, cols == 132 && rows == 43 && ports == 1);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_CONFIG_GENERATION) == 1);
	t_free(t);
}

static void t_reset_stops_polling(struct unit *u)
{
	struct t *t = t_new();

	drv_start(t);
	post_rx(t, 0, 16);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_STATUS, 0);
	CHECK(u, write(t->in[1], "late", 4) == 4);
	CHECK(u, ev_run_once(t->ev, 0) == 0);
	CHECK(u, used(t, RXQ)->idx == 0);

	/* After a new setup input flows again. */
	memset(fg_ptr(&t->fg, 0), 0, FG_BUF);
	drv_start(t);
	post_rx(t, 0, 16);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	CHECK(u, ev_run_once(t->ev, 100) == 1);
	CHECK(u, used(t, RXQ)->idx == 1 && used(t, RXQ)->ring[0].len == 4);
	t_free(t);
}

/* --- event loop ------------------------------------------------------------------ */

static void *stop_later(void *arg)
{
	usleep(20000);
	ev_stop(arg);
	return NULL;
}

static void t_ev_stop_from_thread(struct unit *u)
{
	struct evloop *ev;
	pthread_t th;

	CHECK(u, ev_create(&ev) == 0);
	pthread_create(&th, NULL, stop_later, ev);
	CHECK(u, ev_run(ev) == 0);
	pthread_join(th, NULL);
	CHECK(u, ev_run(ev) == 0); /* sticky */
	ev_destroy(ev);
}

struct pair_state {
	int fds[2][2];
	int calls[2];
};

/* Each callback deletes both fds: the other's pending event must not run. */
static void del_both(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct pair_state *p = arg;

	(void)events;
	p->calls[fd == p->fds[1][0]]++;
	ev_del(ev, p->fds[0][0]);
	ev_del(ev, p->fds[1][0]);
}

static void t_ev_del_in_callback(struct unit *u)
{
	struct pair_state p = {0};
	struct evloop *ev;

	CHECK(u, ev_create(&ev) == 0);
	for (int i = 0; i < 2; i++) {
		if (pipe2(p.fds[i], O_CLOEXEC) < 0)
			abort();
		CHECK(u, ev_add(ev, p.fds[i][0], EPOLLIN, del_both, &p) == 0);
		CHECK(u, write(p.fds[i][1], "x", 1) == 1);
	}
	CHECK(u, ev_add(ev, p.fds[0][0], EPOLLIN, del_both, &p) == -EEXIST);
	CHECK(u, ev_run_once(ev, 100) == 1);
	CHECK(u, p.calls[0] + p.calls[1] == 1);
	CHECK(u, ev_run_once(ev, 0) == 0);
	CHECK(u, ev_mod(ev, p.fds[0][0], EPOLLIN) == -ENOENT);
	CHECK(u, ev_del(ev, p.fds[0][0]) == -ENOENT);
	/* Re-adding a deleted fd works. */
	CHECK(u, ev_add(ev, p.fds[0][0], EPOLLIN, del_both, &p) == 0);
	CHECK(u, ev_run_once(ev, 100) == 1);
	ev_destroy(ev);
	for (int i = 0; i < 2; i++) {
		close(p.fds[i][0]);
		close(p.fds[i][1]);
	}
}

int main(void)
{
	struct unit u = {0};

	signal(SIGPIPE, SIG_IGN);
	RUN(&u, t_tx);
	RUN(&u, t_tx_before_driver_ok);
	RUN(&u, t_tx_eagain);
	RUN(&u, t_tx_broken_pipe);
	RUN(&u, t_rx);
	RUN(&u, t_rx_waits_for_buffers);
	RUN(&u, t_rx_eof);
	RUN(&u, t_rx_unpollable);
	RUN(&u, t_rx_readonly_buffer);
	RUN(&u, t_same_fd);
	RUN(&u, t_size);
	RUN(&u, t_reset_stops_polling);
	RUN(&u, t_ev_stop_from_thread);
	RUN(&u, t_ev_del_in_callback);
	return unit_done(&u);
}
