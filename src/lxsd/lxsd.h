/*
 * lxsd.h - the state of lxsd, the per-user manager, shared by its files:
 *   main.c     the lifecycle and the poll loop
 *   clients.c  lxs's connections: requests, answers, sessions counted
 *   vm.c       the one lxs-vm for all version-2 distros: boot, readiness, stop
 *   running.c  the distros in it: disk attached, started, stopped
 *   netsvc.c   lxs-net and lxs-fwd beside the VM, lxs-fs beside lxsd; child.c how they start
 *
 * lxsd is single-threaded and never waits for the VM: a VM boot and a
 * distro start are states its loop watches (lxs-vm's pidfd, lxs-init's
 * READY, the DISTRO_START answer), so --list, --status and other sessions
 * are answered meanwhile; so is a distro stop (DISTRO_STOP). Functions
 * return 0 or -errno with one sentence in err. The only wait left is
 * lxsd's own exit, which stops the VM.
 */
#ifndef LXS_LXSD_H
#define LXS_LXSD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/wire.h"
#include "store/config.h"
#include "store/ipc.h"
#include "store/paths.h"
#include "store/registry.h"

/* Spare disk slots lxsd asks lxs-vm for: more overflow its cleanup table (VM_MAX_CLEANUPS). */
#define LXSD_MAX_RUNNING 3
#define LXSD_SPARE_DISKS "3"
#define LXSD_MAX_CLIENTS 512

struct running {
	bool used;
	enum lxs_distro_state state;
	struct reg_distro d; /* its registry entry as it started */
	char serial[21];     /* virtio-blk serials are at most 20 bytes */
	int slot;
	int lock_fd;           /* the distro's exclusive lock while it runs */
	int sessions;          /* open `run` connections */
	int64_t idle_since_ms; /* when sessions dropped to 0 */
	struct wsl_conf wsl;
	char *passwd;   /* /etc/passwd as read when it started */
	pid_t boot_pid; /* the [boot] command's runner, or 0 */
	/* While STARTING or STOPPING: the DISTRO_START or _STOP conversation with lxs-init. */
	struct wire conv;
	int64_t t0, deadline_ms;
	unsigned gen; /* bumped whenever the slot gets a new distro */
};

/* A program netsvc.c keeps running beside the VM. */
struct netsvc {
	pid_t pid; /* 0: not running */
	int64_t started_ms;
	int quick; /* its runs in a row that ended at once */
};

enum client_phase {
	CLIENT_HELLO,     /* nothing read yet */
	CLIENT_REQUEST,   /* HELLO read; the request is next */
	CLIENT_WAIT,      /* RUN: waiting for the VM or the distro */
	CLIENT_SESSION,   /* PLAN sent: counts as a session until it hangs up */
	CLIENT_SHUTDOWN,  /* SHUTDOWN: answered when the VM is gone */
	CLIENT_TERMINATE, /* TERMINATE: answered when its distro has stopped (d.name) */
	CLIENT_DONE,      /* answered: dropped once the answer is out */
};

struct client {
	struct wire w;
	enum client_phase phase;
	uint8_t *run; /* CLIENT_WAIT: the RUN payload (the request points into it) */
	size_t run_len;
	struct ipc_run rq;
	struct reg_distro d; /* CLIENT_WAIT: the distro asked for */
	bool saw_vm;         /* CLIENT_WAIT: a VM booted or ran while it waited */
	int slot;            /* CLIENT_SESSION: the running distro it counts for, or -1 */
	unsigned gen;
};

struct lxsd {
	struct lxs_paths p;
	struct lxs_config cfg;
	const char *test_init; /* LXSD_INIT_UNIX: an lxs-init --serve-unix instead of a VM */
	bool stay;             /* --stay: idle is no reason to leave; lxs --shutdown is */
	/* vm.c */
	enum lxs_vm_state vm;
	pid_t vm_pid;
	int vm_pidfd;   /* -1 when no VM runs */
	bool vm_reaped; /* reap_children collected lxs-vm's vm_status before its pidfd fired */
	int vm_status;
	int ready_listen; /* while BOOTING: where lxs-init says READY; else -1 */
	int ready_conn;   /* an accepted READY connection, or -1 */
	int stop_fd;      /* while STOPPING: the SHUTDOWN connection, or -1 */
	int64_t vm_started_ms, vm_deadline_ms, vm_idle_since_ms;
	char vsock[LXS_PATH_MAX], control[LXS_PATH_MAX], vm_log[LXS_PATH_MAX];
	char ready_sock[LXS_PATH_MAX];
	char vm_desc[LXS_PATH_MAX + 64]; /* kernel, memory, vCPUs: for the log */
	bool vm_virtiofs; /* the running VM's host shares are virtio-fs ("hostfs<slot>"), else 9P */
	/* running.c */
	struct running r[LXSD_MAX_RUNNING];
	/* clients.c */
	struct client c[LXSD_MAX_CLIENTS];
	int nclients;
	/* netsvc.c: the NAT's listening socket (-1: none), lxs-net and lxs-fwd. */
	int net_fd;
	char net_sock[LXS_PATH_MAX];
	struct netsvc nat, fwd;
	/* netsvc.c: lxs-fs, the distros' files at fs_mnt, for lxsd's whole life */
	struct netsvc files;
	char fs_mnt[LXS_PATH_MAX];
};

/* vm.c */
/* lxs.conf as it is now (defaults where it cannot be read): at start and before each boot. */
void lxsd_load_config(struct lxsd *s);
/* Start booting the VM (VM_STOPPED -> VM_BOOTING; test mode: straight to RUNNING). */
int vm_boot(struct lxsd *s, char *err, size_t errlen);
/* ready_listen or ready_conn is readable: 1 when the VM just came up, 0 not yet. */
int vm_on_ready(struct lxsd *s);
/* lxs-vm ended (its pidfd fired): forget it and its distros; -errno and why if it was booting. */
int vm_on_exit(struct lxsd *s, char *err, size_t errlen);
/* Boot or stop taking too long: -ETIMEDOUT and why when a boot was given up. */
int vm_check_deadline(struct lxsd *s, int64_t now, char *err, size_t errlen);
/* Ask the guest to power off (VM_STOPPING), or kill it with force; vm_on_exit follows. */
void vm_stop(struct lxsd *s, bool force);
/* At lxsd's exit: stop the VM and wait for it. */
void vm_stop_wait(struct lxsd *s);

/* running.c */
struct running *running_find(struct lxsd *s, const char *name);
/* Attach d's disk and send DISTRO_START (the VM must run): its entry, STARTING or RUNNING. */
int distro_begin(struct lxsd *s, const struct reg_distro *d, struct running **out, char *err,
		 size_t errlen);
/*
 * r's conversation with lxs-init is readable, or its deadline is checked:
 * DISTRO_UP when it now runs, DISTRO_DOWN when it has stopped (r is
 * released; the slot is free), 0 while nothing changed, -errno with why
 * when a start failed (r is released).
 */
enum { DISTRO_UP = 1, DISTRO_DOWN = 2 };
int distro_on_answer(struct lxsd *s, struct running *r, int64_t now, char *err, size_t errlen);
/*
 * Ask lxs-init to stop r (STOPPING; distro_on_answer says when it is done),
 * or let go of it at once where there is no one to ask: DISTRO_DOWN then.
 */
int distro_stop(struct lxsd *s, struct running *r);
/* The VM is gone: let go of every distro without asking it. */
void distros_forget(struct lxsd *s);
/* Reap finished [boot] command runners (and the network helpers). */
void reap_children(struct lxsd *s);

/* clients.c */
void client_accept(struct lxsd *s, int lfd);
/* Client i is readable or writable; it may be dropped (the array reorders). */
void client_io(struct lxsd *s, int i, short revents);
/* The VM came up, or a distro started or failed: answer who waits for it. */
void clients_vm_up(struct lxsd *s);
void clients_distro_ready(struct lxsd *s, struct running *r);
void clients_fail(struct lxsd *s, const char *name, const char *why);
/* A distro stopped: TERMINATE waiters get their OK; RUNs for it start it again. */
void clients_distro_down(struct lxsd *s, const char *name);
/* The VM is gone: SHUTDOWN waiters get their OK; sessions stop counting. */
void clients_vm_gone(struct lxsd *s);

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
/* lxs-fs: started with lxsd (unless lxs.conf says [files] enabled=false), stopped at its exit. */
void files_start(struct lxsd *s);
void files_stop(struct lxsd *s);

/*
 * child.c: start exe with argv (stdin /dev/null, stdout and stderr to logfd
 * unless it is -1, keep_fd as descriptor keep_as unless it is -1), dying
 * with lxsd. The child's pid, or -errno.
 */
pid_t child_spawn(const char *exe, const char *const argv[], int logfd, int keep_fd, int keep_as);

#endif
