/*
 * net.c - virtio-net (device ID 1, VIRTIO 1.2 5.1): one receive and one
 * transmit queue whose Ethernet frames travel to and from a user-mode NAT
 * (lxs-net, or passt: anything speaking the stream framing of net/frame.h)
 * over a Unix stream socket. See devices.h for the API.
 *
 * Features: MAC, STATUS (link down while the back end is gone), MTU
 * (65520, so that a 64 KiB TCP segment crosses the ring as one frame without
 * segmentation offloads, which a NAT that terminates TCP cannot use anyway),
 * CSUM (the host completes the checksums: the guest's CPU is the scarce one),
 * GUEST_CSUM (frames from the NAT are marked DATA_VALID: it computed their
 * checksums itself) and MRG_RXBUF (a frame spreads over as many receive
 * buffers as it needs).
 *
 * Threads: the transmit queue runs on the vCPU that notifies, the receive
 * side and the socket on the event loop; both hold dev.lock. Frames the
 * guest sends are copied into a staging buffer (their checksums completed
 * there, never in guest memory) and written in batches; when the socket is
 * full the queue waits for EPOLLOUT. Frames from the socket are read into a
 * buffer and delivered while the guest has receive buffers; without them the
 * socket is not read, so the NAT's own queue holds the rest.
 *
 * A broken back end (a bad length, EOF, an error) is closed and the link
 * goes down; a timer reconnects to the same path, so a NAT that was killed
 * and restarted comes back without the guest doing anything. What the guest
 * gets wrong in a frame (length, GSO, checksum offsets) drops that frame and
 * is counted; what breaks the queue protocol marks the device needs-reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "net/frame.h"
#include "vmm/devices.h"
#include "vmm/evloop.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define NET_QUEUE_MAX 256
#define NET_RXQ       0
#define NET_TXQ       1
#define NET_HDR       sizeof(struct virtio_net_hdr_v1)
/* Staging buffers: several big frames per system call. */
#define NET_TX_BUF       (512u * 1024)
#define NET_RX_BUF       (512u * 1024)
#define NET_RECONNECT_MS 200

struct net_dev {
	struct virtio_dev dev;
	struct evloop *ev;
	struct sockaddr_un addr;
	int fd;       /* the back end's socket, -1 while it is gone */
	int timer_fd; /* reconnect timer */
	bool want_out;
	bool rx_paused; /* no receive buffers: the socket is not read */

	uint8_t *tx; /* prefixed frames not yet written */
	size_t tx_off, tx_len;
	uint8_t *rx; /* bytes read, from the first frame not yet delivered */
	size_t rx_len;

	/* A frame being delivered over several receive chains (MRG_RXBUF). */
	struct vq_chain first, cur;
	uint16_t held_head[NET_QUEUE_MAX];
	uint32_t held_len[NET_QUEUE_MAX];
	unsigned nheld;
	size_t frame_done; /* frame bytes written so far */

	struct virtio_net_stats st;
};

/* --- the back end's socket ---------------------------------------------------- */

static void net_sock_ready(struct evloop *ev, int fd, uint32_t events, void *arg);
static void tx_run(struct net_dev *nd);

static void set_link(struct net_dev *nd, bool up)
{
	uint16_t s = up ? VIRTIO_NET_S_LINK_UP : 0;

	if (!memcmp(nd->dev.config + VIRTIO_NET_CFG_STATUS, &s, 2))
		return;
	memcpy(nd->dev.config + VIRTIO_NET_CFG_STATUS, &s, 2);
	if (nd->dev.status & VIRTIO_STATUS_DRIVER_OK)
		virtio_dev_config_changed(&nd->dev);
}

static void arm_reconnect(struct net_dev *nd)
{
	struct itimerspec its = {.it_value = {0, NET_RECONNECT_MS * 1000000L}};

	timerfd_settime(nd->timer_fd, 0, &its, NULL);
}

static void watch(struct net_dev *nd)
{
	uint32_t ev = (nd->rx_paused ? 0 : EPOLLIN) | (nd->want_out ? EPOLLOUT : 0);

	ev_mod(nd->ev, nd->fd, ev);
}

/* The back end went away or broke the framing: forget it, try again soon. */
static void backend_lost(struct net_dev *nd, const char *why)
{
	if (nd->fd < 0)
		return;
	log_warnx("virtio-net: the network back end %s (%s); the link is down until it is back",
		  nd->addr.sun_path, why);
	ev_del(nd->ev, nd->fd);
	close(nd->fd);
	nd->fd = -1;
	nd->tx_off = nd->tx_len = 0;
	nd->rx_len = 0;
	nd->want_out = nd->rx_paused = false;
	nd->st.backend_losses++;
	set_link(nd, false);
	arm_reconnect(nd);
}

static int backend_connect(struct net_dev *nd)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int buf = 1 << 20;

	if (fd < 0)
		return -errno;
	/* A blocking-free connect on a Unix socket completes or fails at once. */
	if (connect(fd, (struct sockaddr *)&nd->addr, sizeof(nd->addr)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	int ret = ev_add(nd->ev, fd, EPOLLIN, net_sock_ready, nd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	nd->fd = fd;
	set_link(nd, true);
	return 0;
}

static void net_timer(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct net_dev *nd = arg;
	uint64_t n;

	(void)ev;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	virtio_dev_lock(&nd->dev);
	if (nd->fd < 0) {
		if (backend_connect(nd) < 0) {
			arm_reconnect(nd);
		} else {
			log_warnx("virtio-net: the network back end %s is back; the link is up",
				  nd->addr.sun_path);
			nd->st.reconnects++;
			tx_run(nd);
		}
	}
	virtio_dev_unlock(&nd->dev);
}

/* Write staged frames: true when all are out. */
static bool tx_flush(struct net_dev *nd)
{
	while (nd->tx_off < nd->tx_len) {
		ssize_t n = send(nd->fd, nd->tx + nd->tx_off, nd->tx_len - nd->tx_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!nd->want_out) {
				nd->want_out = true;
				watch(nd);
			}
			return false;
		}
		if (n <= 0) {
			backend_lost(nd, "stopped taking frames");
			return true;
		}
		nd->tx_off += (size_t)n;
	}
	nd->tx_off = nd->tx_len = 0;
	if (nd->want_out) {
		nd->want_out = false;
		watch(nd);
	}
	return true;
}

/* --- transmit: guest -> back end ----------------------------------------------- */

static void tx_run(struct net_dev *nd)
{
	struct virtio_dev *dev = &nd->dev;
	struct vq_chain *c = &nd->cur;
	bool pushed = false;

	for (;;) {
		if (nd->fd >= 0 && nd->tx_len &&
		    nd->tx_len + NET_STREAM_HDR + NET_FRAME_MAX > NET_TX_BUF && !tx_flush(nd))
			break; /* the socket is full: EPOLLOUT resumes */
		int r = virtio_dev_pop(dev, NET_TXQ, c);

		if (r <= 0)
			break;
		if (c->n_wr || c->rd_bytes < NET_HDR) {
			virtio_dev_set_needs_reset(
			    dev, c->n_wr ? "transmit chain with a device-writable buffer"
					 : "transmit chain shorter than its header");
			return;
		}
		struct virtio_net_hdr_v1 h;
		uint64_t len = c->rd_bytes - NET_HDR;

		vq_chain_read(c, 0, &h, NET_HDR);
		if (nd->fd < 0) {
			nd->st.tx_dropped++;
		} else if (len < NET_FRAME_MIN || len > NET_FRAME_MAX) {
			nd->st.tx_bad++;
		} else {
			uint8_t *p = nd->tx + nd->tx_len;

			vq_chain_read(c, NET_HDR, p + NET_STREAM_HDR, len);
			if (net_tx_check(&h, p + NET_STREAM_HDR, len) < 0) {
				nd->st.tx_bad++;
			} else {
				net_stream_prefix(p, (uint32_t)len);
				nd->tx_len += NET_STREAM_HDR + len;
				nd->st.tx_frames++;
				nd->st.tx_bytes += len;
			}
		}
		virtio_dev_push(dev, NET_TXQ, c->head, 0);
		pushed = true;
	}
	if (nd->fd >= 0 && nd->tx_len)
		tx_flush(nd);
	if (pushed)
		virtio_dev_signal(dev, NET_TXQ);
}

/* --- receive: back end -> guest ------------------------------------------------- */

/*
 * Deliver one frame: 1 done (or dropped), 0 waiting for receive buffers (the
 * chains taken so far stay held), -1 the device needs a reset.
 */
static int rx_frame(struct net_dev *nd, const uint8_t *frame, size_t len)
{
	struct virtio_dev *dev = &nd->dev;
	bool mrg = virtio_dev_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF);

	while (nd->frame_done < len || !nd->nheld) {
		struct vq_chain *c = nd->nheld ? &nd->cur : &nd->first;
		int r = virtio_dev_pop(dev, NET_RXQ, c);

		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (c->n_rd || c->wr_bytes < (nd->nheld ? 1 : NET_HDR)) {
			virtio_dev_set_needs_reset(
			    dev, c->n_rd ? "receive chain with a device-readable buffer"
					 : "receive buffer smaller than a header");
			return -1;
		}
		if (!mrg && c->wr_bytes < NET_HDR + len) {
			/* Without mergeable buffers a frame must fit one chain. */
			virtio_dev_push(dev, NET_RXQ, c->head, 0);
			nd->st.rx_dropped++;
			return 1;
		}
		size_t off = 0;

		if (!nd->nheld) {
			struct virtio_net_hdr_v1 h = {0};

			if (virtio_dev_has_feature(dev, VIRTIO_NET_F_GUEST_CSUM))
				h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
			h.num_buffers = 1;
			vq_chain_write(c, 0, &h, NET_HDR);
			off = NET_HDR;
		}
		size_t n = c->wr_bytes - off < len - nd->frame_done ? c->wr_bytes - off
								    : len - nd->frame_done;

		vq_chain_write(c, off, frame + nd->frame_done, n);
		nd->frame_done += n;
		nd->held_head[nd->nheld] = c->head;
		nd->held_len[nd->nheld] = (uint32_t)(off + n);
		if (++nd->nheld == NET_QUEUE_MAX && nd->frame_done < len) {
			virtio_dev_set_needs_reset(dev, "receive buffers too small for one frame");
			return -1;
		}
	}
	if (nd->nheld > 1) {
		uint16_t nb = (uint16_t)nd->nheld;

		vq_chain_write(&nd->first, offsetof(struct virtio_net_hdr_v1, num_buffers), &nb, 2);
	}
	for (unsigned i = 0; i < nd->nheld; i++)
		virtio_dev_push(dev, NET_RXQ, nd->held_head[i], nd->held_len[i]);
	nd->nheld = 0;
	nd->frame_done = 0;
	nd->st.rx_frames++;
	nd->st.rx_bytes += len;
	return 1;
}

/* Deliver what the buffer holds; pause reading when the guest has no room. */
static void rx_run(struct net_dev *nd)
{
	struct virtio_dev *dev = &nd->dev;
	size_t off = 0;
	bool pushed = false, paused = false;

	while (virtio_dev_running(dev)) {
		const uint8_t *frame;
		size_t len, used;
		int r = net_stream_next(nd->rx + off, nd->rx_len - off, &frame, &len, &used);

		if (r < 0) {
			backend_lost(nd, "sent a frame of a bad length");
			return;
		}
		if (r == 0)
			break;
		r = rx_frame(nd, frame, len);
		if (r < 0)
			break;
		if (r == 0) {
			paused = true;
			break;
		}
		pushed = true;
		off += used;
	}
	if (!virtio_dev_running(dev))
		paused = nd->rx_len > 0;
	if (off) {
		memmove(nd->rx, nd->rx + off, nd->rx_len - off);
		nd->rx_len -= off;
	}
	if (pushed)
		virtio_dev_signal(dev, NET_RXQ);
	/* Room for another frame and somewhere to put it: read on. */
	bool full = NET_RX_BUF - nd->rx_len < NET_STREAM_HDR + NET_FRAME_MAX;

	if (nd->fd >= 0 && (paused || full) != nd->rx_paused) {
		nd->rx_paused = paused || full;
		watch(nd);
	}
}

static void net_sock_ready(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct net_dev *nd = arg;

	(void)ev;
	virtio_dev_lock(&nd->dev);
	if (fd != nd->fd)
		goto out;
	if ((events & EPOLLOUT) && tx_flush(nd) && nd->fd >= 0)
		tx_run(nd);
	if (nd->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !nd->rx_paused) {
		ssize_t n = recv(fd, nd->rx + nd->rx_len, NET_RX_BUF - nd->rx_len, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			backend_lost(nd, n == 0 ? "closed the connection" : "failed");
			goto out;
		}
		if (n > 0)
			nd->rx_len += (size_t)n;
		rx_run(nd);
	} else if (nd->fd >= 0 && (events & (EPOLLHUP | EPOLLERR)) && nd->rx_paused) {
		backend_lost(nd, "closed the connection");
	}
out:
	virtio_dev_unlock(&nd->dev);
}

/* --- device ops --------------------------------------------------------------- */

static void net_notify(struct virtio_dev *dev, unsigned q)
{
	struct net_dev *nd = dev->priv;

	if (q == NET_TXQ)
		tx_run(nd);
	else
		rx_run(nd);
}

static int net_activate(struct virtio_dev *dev)
{
	struct net_dev *nd = dev->priv;

	rx_run(nd);
	tx_run(nd);
	return 0;
}

static void net_reset(struct virtio_dev *dev)
{
	struct net_dev *nd = dev->priv;

	/* Held chains belong to rings that no longer exist; the frame is lost. */
	if (nd->nheld)
		nd->st.rx_dropped++;
	nd->nheld = 0;
	nd->frame_done = 0;
	/* Frames read before the reset would reach a driver that never asked. */
	nd->rx_len = 0;
	if (nd->fd >= 0 && nd->rx_paused) {
		nd->rx_paused = false;
		watch(nd);
	}
}

static void net_dump(struct virtio_dev *dev)
{
	struct net_dev *nd = dev->priv;

	log_warnx("  net: back end %s, rx buffered %zu, held %u, tx staged %zu, paused %d",
		  nd->fd >= 0 ? "up" : "down", nd->rx_len, nd->nheld, nd->tx_len - nd->tx_off,
		  nd->rx_paused);
}

static const struct virtio_dev_ops net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .features = VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_STATUS),
    .num_queues = 2,
    .queue_max = NET_QUEUE_MAX,
    .config_size = VIRTIO_NET_CFG_SIZE,
    .queue_notify = net_notify,
    .reset = net_reset,
    .activate = net_activate,
    .dump = net_dump,
    .destroy = virtio_net_destroy,
};

int virtio_net_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
		      const char *backend, const uint8_t mac[6])
{
	struct net_dev *nd;
	uint16_t mtu = VIRTIO_NET_MTU;
	int ret;

	if (strlen(backend) >= sizeof(nd->addr.sun_path))
		return -ENAMETOOLONG;
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	nd->fd = nd->timer_fd = -1;
	nd->ev = ev;
	nd->addr.sun_family = AF_UNIX;
	strcpy(nd->addr.sun_path, backend);
	nd->tx = malloc(NET_TX_BUF);
	nd->rx = malloc(NET_RX_BUF);
	if (!nd->tx || !nd->rx) {
		ret = -ENOMEM;
		goto fail;
	}
	if ((ret = virtio_dev_init(&nd->dev, &net_ops, gm, nd)) < 0)
		goto fail;
	memcpy(nd->dev.config + VIRTIO_NET_CFG_MAC, mac, 6);
	memcpy(nd->dev.config + VIRTIO_NET_CFG_MTU, &mtu, 2);
	nd->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (nd->timer_fd < 0) {
		ret = -errno;
		goto fail_dev;
	}
	if ((ret = ev_add(ev, nd->timer_fd, EPOLLIN, net_timer, nd)) < 0)
		goto fail_dev;
	/* The back end may not be up yet: the link starts down and the timer retries. */
	if (backend_connect(nd) < 0)
		arm_reconnect(nd);
	*out = &nd->dev;
	return 0;
fail_dev:
	virtio_dev_fini(&nd->dev);
fail:
	if (nd->timer_fd >= 0)
		close(nd->timer_fd);
	free(nd->tx);
	free(nd->rx);
	free(nd);
	return ret;
}

void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *st)
{
	struct net_dev *nd = dev->priv;

	virtio_dev_lock(dev);
	*st = nd->st;
	st->link_up = nd->fd >= 0;
	virtio_dev_unlock(dev);
}

void virtio_net_destroy(struct virtio_dev *dev)
{
	struct net_dev *nd;

	if (!dev)
		return;
	nd = dev->priv;
	ev_del(nd->ev, nd->timer_fd);
	close(nd->timer_fd);
	if (nd->fd >= 0) {
		ev_del(nd->ev, nd->fd);
		close(nd->fd);
	}
	virtio_dev_fini(dev);
	free(nd->tx);
	free(nd->rx);
	free(nd);
}
