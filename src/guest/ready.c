/*
 * ready.c - lxs-init tells the host it is up: once it listens for
 * sessions, a vsock connection to the host's LXS_VSOCK_PORT_READY carries
 * HELLO and READY (proto.h) and is closed. lxsd listens there while the VM
 * boots; with nobody listening (lxs-vm run by hand or by a test) the
 * connection is refused at once and nothing waits.
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/wire.h"
#include "guest.h"

void announce_ready(void)
{
	struct sockaddr_vm a = {
	    .svm_family = AF_VSOCK, .svm_port = LXS_VSOCK_PORT_READY, .svm_cid = VMADDR_CID_HOST};
	struct timeval tv = {.tv_sec = 2};
	struct wire w;
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	/* Bounded: a host that never answers must not hold PID 1 up. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && wire_init(&w, fd) == 0) {
		if (wire_queue_hello(&w) == 0)
			wire_send(&w, LXS_MSG_READY, 0, NULL, 0, NULL, 0);
		wire_fini(&w);
	}
	close(fd);
}
