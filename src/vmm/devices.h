/*
 * devices.h - constructors of lxs-vm's virtio device models.
 *
 * What this header promises: each *_create() returns a struct virtio_dev
 * ready to be mapped on the bus (virtio_mmio_read/write with the device as
 * opaque) once the VMM has set its interrupt with virtio_dev_set_irq(). A
 * device's *_destroy() may only run when no vCPU can reach it any more, its
 * event loop is not running (or is the calling thread), and before that
 * event loop is destroyed.
 */
#ifndef LXS_VMM_DEVICES_H
#define LXS_VMM_DEVICES_H

#include <stdint.h>

struct evloop;
struct guest_mem;
struct virtio_dev;

/* virtio-console (5.3): feature bits and config layout. */
#define VIRTIO_CONSOLE_F_SIZE        0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

#define VIRTIO_CONSOLE_CFG_COLS      0 /* le16 */
#define VIRTIO_CONSOLE_CFG_ROWS      2 /* le16 */
#define VIRTIO_CONSOLE_CFG_MAX_PORTS 4 /* le32 */
#define VIRTIO_CONSOLE_CFG_SIZE      12

#define VIRTIO_CONSOLE_RXQ 0 /* receiveq: host -> guest */
#define VIRTIO_CONSOLE_TXQ 1 /* transmitq: guest -> host */

/*
 * A virtio console with one port (no MULTIPORT) offering F_SIZE.
 *
 * Input: bytes read from in_fd go to the guest's receive buffers. in_fd is
 * watched on the event loop `ev` only while the guest has buffers posted;
 * the guest's next notify resumes it. At EOF (read returns 0) or a read
 * error input stops for good. A descriptor epoll cannot watch (regular
 * file, /dev/null) is read directly when the guest posts buffers. in_fd < 0:
 * no input. in_fd should be non-blocking; if it is not, it is only read
 * after epoll said it is readable, once per readiness.
 *
 * Output: what the guest transmits is written to out_fd from the vCPU
 * thread that notified, holding the device lock. Short writes are
 * continued. If out_fd is non-blocking and full (EAGAIN), the rest waits for
 * EPOLLOUT on the event loop and the vCPU returns at once. If out_fd is
 * blocking, a stuck reader (a suspended terminal) blocks that vCPU, and the
 * console's input path, until it drains: that is the price of not buffering
 * without bound. After a write error (EPIPE...) output is discarded. The
 * VMM must ignore SIGPIPE. out_fd < 0: output is discarded.
 *
 * in_fd and out_fd may be the same descriptor. Neither is closed by the
 * device. Returns 0 and *out, or -errno.
 */
int virtio_console_create(struct virtio_dev **out, struct guest_mem *gm, struct evloop *ev,
			  int in_fd, int out_fd);
void virtio_console_destroy(struct virtio_dev *dev);
/* The host terminal's size changed: update config, tell the guest. */
void virtio_console_set_size(struct virtio_dev *dev, uint16_t cols, uint16_t rows);

#endif
