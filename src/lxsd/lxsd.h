/*
 * lxsd.h - the state of lxsd, the per-user manager, and the VM side of it
 * (vm.c): one lxs-vm for all version-2 distros, started on the first
 * session, distros attached to its spare disk slots and started as
 * containers by lxs-init, each stopped when idle, the VM too.
 *
 * lxsd is single-threaded: main.c's loop calls these functions, which may
 * block for as long as a VM boot or a distro start takes; a client that
 * asks meanwhile waits its turn. They return 0 or -errno with one sentence
 * in err.
 */
#ifndef LXS_DAEMON_LXSD_H
#define LXS_DAEMON_LXSD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/config.h"
#include "store/paths.h"
#include "store/registry.h"

#define LXSD_MAX_RUNNING                                                                           \
	3 /* spare disk slots lxsd asks lxs-vm for: more overflow its cleanup table                \
	     (VM_MAX_CLEANUPS) */
#define LXSD_SPARE_DISKS "3"

struct running {
	bool used;
	char name[REG_NAME_MAX + 1];
	char serial[21]; /* virtio-blk serials are at most 20 bytes */
	char image[LXS_PATH_MAX];
	int slot;
	int lock_fd;           /* the distro's exclusive lock while it runs */
	int sessions;          /* open `run` connections */
	int64_t idle_since_ms; /* when sessions dropped to 0 */
	struct wsl_conf wsl;
	char *passwd;   /* /etc/passwd as read when it started */
	pid_t boot_pid; /* the [boot] command's runner, or 0 */
};

/* A program netsvc.c keeps running beside the VM. */
struct netsvc {
	pid_t pid; /* 0: not running */
	int64_t started_ms;
	int quick; /* its runs in a row that ended at once */
};

struct lxsd {
	struct lxs_paths p;
	struct lxs_config cfg;
	const char *test_init; /* LXSD_INIT_UNIX: an lxs-init --serve-unix instead of a VM */
	pid_t vm_pid;
	int vm_pidfd; /* -1 when no VM runs */
	int64_t vm_idle_since_ms;
	char vsock[LXS_PATH_MAX], control[LXS_PATH_MAX], vm_log[LXS_PATH_MAX];
	struct running r[LXSD_MAX_RUNNING];
	/* netsvc.c: the NAT's listening socket (-1: none), lxs-net and lxs-fwd. */
	int net_fd;
	char net_sock[LXS_PATH_MAX];
	struct netsvc nat, fwd;
};

int64_t now_ms(void);

/* Start the VM if it is not running. */
int vm_ensure(struct lxsd *s, char *err, size_t errlen);
/* Stop every distro and the VM: politely (init syncs and unmounts) unless force. */
void vm_stop(struct lxsd *s, bool force);
/* The VM process ended (its pidfd fired): forget it and its distros. */
void vm_gone(struct lxsd *s);

/* The running entry for name, or NULL. */
struct running *running_find(struct lxsd *s, const char *name);
/* Start the registered distro d (the VM must run): its entry. */
int distro_up(struct lxsd *s, const struct reg_distro *d, struct running **out, char *err,
	      size_t errlen);
/* Stop a running distro and give its disk slot back. */
int distro_down(struct lxsd *s, struct running *r, char *err, size_t errlen);
/*
 * netsvc.c: lxs-net and its socket before the VM starts (networkingMode=nat;
 * nothing otherwise), lxs-fwd once it is up (localhostForwarding); a child
 * that ended: true if it was one of them (started again while the VM runs);
 * both stopped with the VM.
 */
int netsvc_start(struct lxsd *s, char *err, size_t errlen);
void netsvc_vm_up(struct lxsd *s);
bool netsvc_reaped(struct lxsd *s, pid_t pid, int status);
void netsvc_stop(struct lxsd *s);

/*
 * child.c: start exe with argv (stdin /dev/null, stdout and stderr to logfd
 * unless it is -1, keep_fd as descriptor keep_as unless it is -1), dying
 * with lxsd. The child's pid, or -errno.
 */
pid_t child_spawn(const char *exe, const char *const argv[], int logfd, int keep_fd, int keep_as);

/* Reap finished [boot] command runners. */
void reap_children(struct lxsd *s);

#endif
