/*
 * guest.h - the parts of lxs-init, PID 1 of the lxs VM.
 *
 *   init.c    PID 1: mounts, the vsock listener, reaping, shutdown; or, with
 *             --serve-unix, the same service on a Unix socket on any host,
 *             without distros (for testing the session protocol without KVM)
 *   distro.c  distro containers: disk, namespaces, pivot_root, registry
 *   relay.c   one process per session: starts the command, pumps its stdio
 *   automount.c  the host's files at /mnt/host (the "hostroot" 9P share)
 *   network.c the generated /etc/hosts and /etc/resolv.conf
 *   netif.c   the VM's loopback and eth0, configured at boot
 *   util.c    console messages and the clock, for all of the above
 *   forward.c localhost forwarding: the VM's TCP listeners reported to
 *             lxs-fwd on the host, and the relay of forwarded connections
 *   diag.c    the TCP listeners from NETLINK_SOCK_DIAG (diag.h)
 *   tools.c   lxs's tools (lxs-host, lxspath) at /usr/lib/lxs in every distro
 *   distrofs.c  the distros' files for the host: 9P on LXS_VSOCK_PORT_DISTROFS
 *             (src/p9, compiled in; musl_compat.h fills in what musl lacks)
 *   distrofs_watch.c  what others change in those files, told to the host
 *             (Tlxswatch, p9/watch.h)
 *   ../relay  (src/relay, shared with the host) runs a session's process
 */
#ifndef LXS_GUEST_H
#define LXS_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/proto.h"
#include "common/wire.h"

#define DISTRO_DIR   "/distros"         /* where distro disks are mounted */
#define REGISTRY_DIR "/run/lxs/distros" /* NAME.pid: the container's init; NAME.host */

struct init_opts {
	bool test_mode; /* no distros, no namespaces: run commands here */
	/* Test mode only: the folder distrofs serves for any distro name (LXS_INIT_DISTROFS_ROOT).
	 */
	const char *distrofs_root;
};

/* Serve one accepted connection to its end; runs in a forked child. */
int serve_connection(const struct init_opts *o, int fd);

/* distrofs.c: serve one 9P connection to its end (see there); runs in a forked child. */
int distrofs_serve(const struct init_opts *o, int fd);

/*
 * distrofs_watch.c: a distro's changes for the host's held Tlxswatch.
 * dwatch_open (as root: fanotify) for the file system of root_fd:
 * -EOPNOTSUPP where its changes cannot be named as qid paths. Then
 * dwatch_start with the connection's msize and how to send a whole reply;
 * the connection's reader hands it each Tlxswatch (0, or -errno to answer
 * it with) and the old tag of each Tflush.
 */
struct dwatch;
typedef int (*dwatch_send_fn)(void *arg, const void *buf, size_t len);
int dwatch_open(int root_fd, struct dwatch **out);
int dwatch_start(struct dwatch *w, uint32_t msize, dwatch_send_fn send, void *arg);
int dwatch_request(struct dwatch *w, uint16_t tag);
void dwatch_flush(struct dwatch *w, uint16_t oldtag);
void dwatch_free(struct dwatch *w);

/* relay.c: CREATE was received on w; run the process, return when it is done. */
int relay_session(const struct init_opts *o, struct wire *w, const uint8_t *payload, size_t len);

/* distro.c: what DISTRO_START asked for (proto.h). */
struct distro_spec {
	const char *name, *serial, *hostname, *resolv_conf;
	const char *host_tag;       /* its own host share, or "" for the VM-wide one */
	const char *host_opts;      /* [automount] options for it */
	const char *automount_root; /* [automount] root, unchecked ("" = /mnt/) */
	uint32_t flags;             /* LXS_DISTRO_* */
	uint32_t timeout_ms;
};
int distro_start(const struct distro_spec *d, char *err, size_t errlen);
int distro_stop(const char *name, char *err, size_t errlen);
/* PID (root namespace) of the distro's container init, or -ENOENT. */
int distro_pid(const char *name);
/* Stop every distro (for shutdown). */
void distro_stop_all(void);
/*
 * Join the distro's cgroup for its 9P servers (distrofs.c), which
 * distro_stop kills before unmounting its disk: 0 (also in a VM without
 * cgroup2, where nothing can track them), or -errno (no such distro now).
 */
int distro_fs_join(const char *name);
/*
 * Join the distro's cgroup and its cgroup, mount, UTS and PID namespaces (a
 * child forked afterwards lands in the PID one). For the session's process.
 */
int distro_enter(const char *name);
/*
 * Where the host share appears in the running distro name (recorded at its
 * start, in the VM's registry, so call it before distro_enter); -ENOENT when
 * it has none.
 */
int distro_host_dir(const char *name, char *buf, size_t len);
/* The current root's distro runs systemd as its init (sd_booted's test). */
bool distro_has_systemd(void);

/* network.c: /etc/hosts and /etc/resolv.conf per d->flags, in the container. */
int network_files(const struct distro_spec *d, char *what, size_t len);

/* automount.c: the host share at /mnt/host (see there). */
/*
 * Mount the distro's host share (or the VM-wide one, once); src gets where.
 * -errno: no such share, or it would not mount (said on the console).
 */
int hostroot_mount(const struct distro_spec *d, char *src, size_t len);
/* After the distro stopped: let its share go. */
void hostroot_unmount(const char *name);
/* Container, before pivot_root: bind src into root's /run. */
int hostroot_stage(const char *root, const char *src);
/* Container, after pivot_root: move it to dir (hostroot_path's), or drop it ("" dir). */
void hostroot_place(const char *dir);
/* The longest hostroot_path, with its NUL: the root, a '/' and "host". */
#define HOSTROOT_PATH_MAX (LXS_AUTOMOUNT_ROOT_MAX + 6)
/*
 * Where the share appears in the distro, per DISTRO_START's automount root
 * (a bad one is said on the console and replaced by /mnt/); -ENOENT when
 * LXS_DISTRO_NO_AUTOMOUNT turns it off.
 */
int hostroot_path(const struct distro_spec *d, char *buf, size_t len);

/*
 * tools.c: container, before pivot_root: bind the VM's mount of the
 * "lxstools" share (mounted at the first call) into root's /run: 0 or
 * -errno (no share: the distro gets no tools). After pivot_root:
 * tools_place moves it to /usr/lib/lxs.
 */
int tools_stage(const char *root);
void tools_place(void);

/*
 * forward.c: the localhost forwarding process (PID 1 forks it and restarts
 * it when it dies); returns only on a fatal error, the exit status.
 */
int forward_main(void);

/* A name usable as a file name component: [A-Za-z0-9._-], 1..64, not . or .. */
bool distro_name_ok(const char *name);

/* netif.c: bring lo up and configure eth0 if there is one: 1, 0 (no eth0), -errno. */
int netif_setup(void);

/* util.c: one line on the console, "lxs-init: " WHO MESSAGE; the monotonic clock in ms. */
void say_as(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* util.c: dir is a mount point: it lies on another device than its parent. */
bool is_mountpoint(const char *dir);
/* ready.c: tell the host (lxsd) that init serves sessions now. */
void announce_ready(void);
/*
 * util.c: the host's HELLO on w (within timeout_ms), checked, answered with
 * ours: 0, or -errno (an ERROR was sent when the host got it wrong).
 */
int hello_answer(struct wire *w, int timeout_ms);

#endif
