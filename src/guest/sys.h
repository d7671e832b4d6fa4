/*
 * sys.h - the few Linux interfaces lxs-init needs that musl's headers do not
 * carry (it ships no <linux/...> headers): AF_VSOCK addresses, pidfd_open.
 * Values from the kernel's uapi, stable ABI.
 */
#ifndef LXS_GUEST_SYS_H
#define LXS_GUEST_SYS_H

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define VMADDR_CID_ANY 0xffffffffu

struct sockaddr_vm {
	sa_family_t svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_flags;
	unsigned char svm_zero[3];
};

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static inline int pidfd_open(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

#endif
