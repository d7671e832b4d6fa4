/*
 * console.c - virtio console (device ID 3): one port, no multiport.
 * See devices.h for the behaviour promised to the VMM.
 *
 * Two threads meet here: vCPU threads deliver queue notifications through
 * the transport (device lock held), and the event loop thread calls
 * con_ready() when in_fd is readable or a blocked out_fd is writable (it
 * takes the device lock). All state below is protected by dev.lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"
#include "common/le.h"

#define CONSOLE_QUEUE_MAX 256

struct console {
	struct virtio_dev dev;
	struct evloop *ev;
	int in_fd, out_fd;
	bool in_nopoll;  /* epoll cannot watch in_fd: read it directly */
	bool out_nopoll; /* epoll cannot watch out_fd (it never says EAGAIN) */

	bool rx_want;     /* the guest may have receive buffers: read in_fd */
	bool rx_eof;      /* in_fd hit EOF or an error: no more input, ever */
	bool tx_have;     /* tx_chain is popped but not completely written */
	bool tx_blocked;  /* out_fd said EAGAIN: wait for EPOLLOUT */
	bool tx_broken;   /* out_fd failed: discard output */
	unsigned tx_next; /* first iovec of tx_chain not completely written */

	uint32_t in_events;  /* events registered for in_fd (0: not registered) */
	uint32_t out_events; /* same for out_fd when it differs from in_fd */

	struct vq_chain rx_chain;
	struct vq_chain tx_chain;
};

static void con_ready(struct evloop *ev, int fd, uint32_t events, void *arg);

/* --- event loop registration ---------------------------------------------- */

static void set_events(struct console *con, int fd, uint32_t *cur, uint32_t want)
{
	int r;

	if (fd < 0 || *cur == want)
		return;
	if (!*cur)
		r = ev_add(con->ev, fd, want, con_ready, con);
	else if (!want)
		r = ev_del(con->ev, fd);
	else
		r = ev_mod(con->ev, fd, want);
	if (r == 0) {
		*cur = want;
		return;
	}
	/* Only on resource exhaustion: give up that direction, loudly. */
	errno = -r;
	log_warn("virtio-console: cannot watch fd %d", fd);
	if (want & EPOLLIN)
		con->rx_eof = true;
	if (want & EPOLLOUT) {
		con->tx_broken = true;
		con->tx_blocked = false;
	}
}

/* Watch exactly what the current state needs, nothing more. */
static void update_poll(struct console *con)
{
	bool run = virtio_dev_running(&con->dev);
	uint32_t in = 0, out = 0;

	if (con->in_fd >= 0 && run && con->rx_want && !con->rx_eof && !con->in_nopoll)
		in = EPOLLIN;
	if (con->out_fd >= 0 && run && con->tx_blocked)
		out = EPOLLOUT;
	if (con->in_fd == con->out_fd) {
		set_events(con, con->in_fd, &con->in_events, in | out);
	} else {
		set_events(con, con->in_fd, &con->in_events, in);
		set_events(con, con->out_fd, &con->out_events, out);
	}
}

/* --- receive: in_fd -> guest ---------------------------------------------- */

static void rx_stop(struct console *con, const char *why)
{
	if (why)
		log_warn("virtio-console: %s", why);
	con->rx_eof = true;
}

/*
 * Fill guest receive buffers from in_fd. With epoll this does one read per
 * readiness, so that a blocking in_fd never blocks; without (a file), it
 * reads until the guest has no buffers or the file ends.
 */
static void rx_run(struct console *con)
{
	struct virtio_dev *dev = &con->dev;
	struct vq_chain *c = &con->rx_chain;
	bool pushed = false;
	ssize_t n;
	int r;

	while (con->in_fd >= 0 && con->rx_want && !con->rx_eof) {
		r = virtio_dev_pop(dev, VIRTIO_CONSOLE_RXQ, c);
		if (r <= 0) {
			/* Empty (the guest's next notify resumes us) or broken. */
			con->rx_want = false;
			break;
		}
		if (c->n_wr == 0) {
			virtio_dev_set_needs_reset(dev,
						   "console receive buffer not device-writable");
			break;
		}
		if (c->wr_bytes == 0) {
			/* readv() of nothing would look like EOF. */
			virtio_dev_push(dev, VIRTIO_CONSOLE_RXQ, c->head, 0);
			pushed = true;
			continue;
		}
		n = readv(con->in_fd, vq_chain_wr(c), (int)c->n_wr);
		if (n > 0) {
			virtio_dev_push(dev, VIRTIO_CONSOLE_RXQ, c->head, (uint32_t)n);
			pushed = true;
			if (con->in_nopoll)
				continue;
			break;
		}
		vq_unpop(&dev->vqs[VIRTIO_CONSOLE_RXQ]);
		if (n == 0)
			rx_stop(con, NULL);
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			rx_stop(con, "reading input");
		break;
	}
	if (pushed)
		virtio_dev_signal(dev, VIRTIO_CONSOLE_RXQ);
	update_poll(con);
}

/* --- transmit: guest -> out_fd -------------------------------------------- */

/* Drop n written bytes from the front of the pending chain's iovecs. */
static void tx_advance(struct console *con, size_t n)
{
	struct vq_chain *c = &con->tx_chain;

	while (n && con->tx_next < c->n_rd) {
		struct iovec *v = &c->iov[con->tx_next];
		size_t k = n < v->iov_len ? n : v->iov_len;

		v->iov_base = (uint8_t *)v->iov_base + k;
		v->iov_len -= k;
		n -= k;
		if (!v->iov_len)
			con->tx_next++;
	}
	while (con->tx_next < c->n_rd && !c->iov[con->tx_next].iov_len)
		con->tx_next++;
}

/* Write the pending chain. 0 when all of it is out (or discarded), -EAGAIN. */
static int tx_write(struct console *con)
{
	struct vq_chain *c = &con->tx_chain;
	ssize_t n;

	tx_advance(con, 0);
	while (con->tx_next < c->n_rd) {
		if (con->tx_broken || con->out_fd < 0)
			return 0;
		n = writev(con->out_fd, &c->iov[con->tx_next], (int)(c->n_rd - con->tx_next));
		if (n >= 0) {
			tx_advance(con, (size_t)n);
			continue;
		}
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN || errno == EWOULDBLOCK) && !con->out_nopoll)
			return -EAGAIN;
		log_warn("virtio-console: writing output, discarding it from now on");
		con->tx_broken = true;
	}
	return 0;
}

/* Send everything the guest queued, until it is empty or out_fd is full. */
static void tx_run(struct console *con)
{
	struct virtio_dev *dev = &con->dev;
	bool pushed = false;
	int r;

	for (;;) {
		while (!con->tx_blocked) {
			if (!con->tx_have) {
				r = virtio_dev_pop(dev, VIRTIO_CONSOLE_TXQ, &con->tx_chain);
				if (r <= 0)
					break;
				con->tx_have = true;
				con->tx_next = 0;
			}
			if (tx_write(con) == -EAGAIN) {
				con->tx_blocked = true;
				break;
			}
			/* Transmit buffers are only read: nothing written back. */
			virtio_dev_push(dev, VIRTIO_CONSOLE_TXQ, con->tx_chain.head, 0);
			con->tx_have = false;
			pushed = true;
		}
		update_poll(con);
		/*
		 * If out_fd could not be watched, update_poll() gave up on
		 * output: discard what is pending rather than hold the guest's
		 * buffers forever (its driver may spin waiting for them).
		 */
		if (!con->tx_have || con->tx_blocked)
			break;
	}
	if (pushed)
		virtio_dev_signal(dev, VIRTIO_CONSOLE_TXQ);
}

/* --- event loop and transport callbacks ------------------------------------ */

static void con_ready(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct console *con = arg;

	(void)ev;
	virtio_dev_lock(&con->dev);
	/* May run once after the fd was unwatched: rechecks its state. */
	if (fd == con->out_fd && con->tx_blocked && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		con->tx_blocked = false;
		if (virtio_dev_running(&con->dev))
			tx_run(con);
	}
	if (fd == con->in_fd && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    virtio_dev_running(&con->dev))
		rx_run(con);
	update_poll(con);
	virtio_dev_unlock(&con->dev);
}

static void rx_resume(struct console *con)
{
	con->rx_want = true;
	if (con->in_nopoll)
		rx_run(con);
	else
		update_poll(con);
}

static void con_notify(struct virtio_dev *dev, unsigned q)
{
	struct console *con = dev->priv;

	if (q == VIRTIO_CONSOLE_RXQ)
		rx_resume(con);
	else if (q == VIRTIO_CONSOLE_TXQ)
		tx_run(con);
}

static int con_activate(struct virtio_dev *dev)
{
	struct console *con = dev->priv;

	/* Buffers posted before DRIVER_OK were not notified: look now. */
	rx_resume(con);
	tx_run(con);
	return 0;
}

static void con_reset(struct virtio_dev *dev)
{
	struct console *con = dev->priv;

	con->rx_want = false;
	con->tx_have = false;
	con->tx_blocked = false;
	con->tx_next = 0;
	update_poll(con);
}

static const struct virtio_dev_ops console_ops = {
    .name = "console",
    .device_id = VIRTIO_ID_CONSOLE,
    .features = VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE),
    .num_queues = 2,
    .queue_max = CONSOLE_QUEUE_MAX,
    .config_size = VIRTIO_CONSOLE_CFG_SIZE,
    .queue_notify = con_notify,
    .reset = con_reset,
    .activate = con_activate,
    .destroy = virtio_console_destroy,
};

/* --- life cycle ------------------------------------------------------------ */

/* Whether epoll can watch fd: not for regular files and some devices. */
static int probe_pollable(struct console *con, int fd, bool *nopoll)
{
	int r = ev_add(con->ev, fd, 0, con_ready, con);

	*nopoll = false;
	if (r == -EPERM) {
		*nopoll = true;
		return 0;
	}
	if (r < 0)
		return r;
	return ev_del(con->ev, fd);
}

int virtio_console_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
			  int in_fd, int out_fd)
{
	struct console *con;
	int r;

	if (!ev)
		return -EINVAL;
	con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	con->ev = ev;
	con->in_fd = in_fd < 0 ? -1 : in_fd;
	con->out_fd = out_fd < 0 ? -1 : out_fd;

	r = virtio_dev_init(&con->dev, &console_ops, gm, con);
	if (r < 0)
		goto err_free;
	if (con->in_fd >= 0) {
		r = probe_pollable(con, con->in_fd, &con->in_nopoll);
		if (r < 0)
			goto err_dev;
	}
	if (con->out_fd >= 0 && con->out_fd != con->in_fd) {
		r = probe_pollable(con, con->out_fd, &con->out_nopoll);
		if (r < 0)
			goto err_dev;
	} else if (con->out_fd >= 0) {
		con->out_nopoll = con->in_nopoll;
	}
	le_put16(con->dev.config + VIRTIO_CONSOLE_CFG_COLS, 0);
	le_put16(con->dev.config + VIRTIO_CONSOLE_CFG_ROWS, 0);
	le_put32(con->dev.config + VIRTIO_CONSOLE_CFG_MAX_PORTS, 1);
	*out = &con->dev;
	return 0;

err_dev:
	virtio_dev_fini(&con->dev);
err_free:
	free(con);
	return r;
}

void virtio_console_destroy(struct virtio_dev *dev)
{
	struct console *con;

	if (!dev)
		return;
	con = dev->priv;
	virtio_dev_lock(dev);
	if (con->in_events)
		ev_del(con->ev, con->in_fd);
	if (con->out_events)
		ev_del(con->ev, con->out_fd);
	virtio_dev_unlock(dev);
	virtio_dev_fini(dev);
	free(con);
}

void virtio_console_set_size(struct virtio_dev *dev, uint16_t cols, uint16_t rows)
{
	virtio_dev_lock(dev);
	le_put16(dev->config + VIRTIO_CONSOLE_CFG_COLS, cols);
	le_put16(dev->config + VIRTIO_CONSOLE_CFG_ROWS, rows);
	virtio_dev_config_changed(dev);
	virtio_dev_unlock(dev);
}
