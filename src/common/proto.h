/*
 * proto.h - the contract between the host side of lxs and code running in the
 * guest VM. Anything a guest and a host program must agree on lives here and
 * nowhere else: I/O ports, their values, and the exit statuses of lxs-vm that
 * report what the guest did. Bump LXS_PROTO_VERSION on any incompatible change.
 *
 * Field sizes and directions are part of the contract: "guest -> host" means the
 * guest writes and the VMM reads.
 */
#ifndef LXS_PROTO_H
#define LXS_PROTO_H

#include <stdint.h>

/*
 * 2: DISTRO_START gained flags and the resolv.conf string.
 * 3: every control path (lxs-vm's control socket, lxsd's socket, lxs-init's
 *    readiness) speaks these frames; the text lines are gone.
 * 4: DISTRO_START gained the automount root string and LXS_DISTRO_NO_AUTOMOUNT
 *    (lxs-init no longer reads the distro's /etc/wsl.conf).
 * 5: interop: the session conversation the other way round (lxs-host in a
 *    distro -> the host), LXS_CREATE_HOST_ENV.
 * 7: DISTRO_START's LXS_DISTRO_HOST_VIRTIOFS (the host share over virtio-fs)
 *    and the control socket's SHARE_OPTS.
 */
#define LXS_PROTO_VERSION 7

/*
 * Debug console, guest -> host, 8-bit OUT. Each byte written is copied to
 * lxs-vm's debug stream (stdout unless --debugcon says otherwise). Same port and
 * behaviour as QEMU's isa-debugcon, so one guest binary can be timed under both
 * VMMs: the test init writes LXS_BOOT_MARK here as its first action.
 */
#define LXS_PORT_DEBUGCON 0xe9
#define LXS_BOOT_MARK     "<lxs-init-reached>\n"

/*
 * Power port, guest -> host, 32-bit OUT. Written by the guest's init once it has
 * synced its disks. The VMM stops all vCPUs and exits at once.
 *   bits 0..7   exit code (power-off only; 0..LXS_EXIT_GUEST_MAX)
 *   bits 8..15  action, one of LXS_POWER_*
 *   bits 16..31 must be zero; other values are ignored with a warning.
 * A Linux kernel without ACPI cannot power a machine off by itself ("System
 * halted"), which is why init announces power-off here before halting.
 */
#define LXS_PORT_POWER                0x510
#define LXS_POWER_OFF                 1
#define LXS_POWER_REBOOT              2
#define LXS_POWER_VALUE(action, code) ((unsigned)(action) << 8 | ((unsigned)(code)&0xff))

/*
 * Resets not announced on the power port (i8042 pulse, port 0xcf9, triple
 * fault) are told apart by the BIOS warm-boot flag: lxs-vm boots Linux with
 * "reboot=k,panic_warm", so the kernel stores LXS_WARM_BOOT_FLAG at guest
 * physical LXS_WARM_BOOT_GPA before a panic reset, and 0 before a reboot.
 */
#define LXS_WARM_BOOT_GPA  0x472
#define LXS_WARM_BOOT_FLAG 0x1234

/*
 * Exit statuses of lxs-vm. 0..LXS_EXIT_GUEST_MAX: the guest powered off with
 * that code (larger codes are clamped to LXS_EXIT_GUEST_MAX).
 */
#define LXS_EXIT_GUEST_MAX 99
#define LXS_EXIT_REBOOT    100 /* the guest rebooted */
#define LXS_EXIT_PANIC     101 /* the guest kernel panicked */
#define LXS_EXIT_CRASH     102 /* triple fault, or KVM could not run the vCPU */
#define LXS_EXIT_SLOW_KVM  103 /* /dev/kvm cannot run a normal guest at speed */
#define LXS_EXIT_VMM_ERROR 125 /* lxs-vm itself failed: usage, files, KVM errors */

/* ------------------------------------------------------------------------
 * Sessions: running processes in a distro, over AF_VSOCK stream connections
 * from the host to the guest's lxs-init on LXS_VSOCK_PORT_INIT. One
 * connection carries one conversation: HELLO, then either one control request
 * (DISTRO_START, DISTRO_STOP, SHUTDOWN) answered OK or ERROR, or one process
 * (CREATE answered CREATED or ERROR, then DATA/ACK/EOF/SIGNAL/RESIZE until
 * EXIT). All integers little-endian. Every message is a header and `len`
 * bytes of payload; a receiver drops the connection on a len above
 * LXS_MSG_MAX, an unknown type, or a payload of the wrong size for its type.
 *
 * Flow control: each byte stream (stdin host->guest, stdout and stderr
 * guest->host) has a window of LXS_WINDOW bytes. A sender may have at most
 * that many bytes of DATA on a stream that the receiver has not yet ACKed;
 * the receiver ACKs bytes once it has written them on (to the process's stdin,
 * to the host's stdout). So a process that does not read its stdin, or a
 * host that does not read stdout, blocks only that stream, never the
 * connection: SIGNAL, RESIZE and EXIT always get through.
 * ------------------------------------------------------------------------ */

#define LXS_VSOCK_PORT_INIT 50000
/*
 * Distro files for the host (lxs-fs): lxs-init serves 9P2000.L on this port;
 * a connection's Tattach aname names a running distro (proto of src/p9).
 */
#define LXS_VSOCK_PORT_DISTROFS 50001
#define LXS_SESSION_MAGIC       0x3153584cu       /* "LXS1" */
#define LXS_MSG_MAX             (64u * 1024)      /* payload bytes */
#define LXS_DATA_MAX            (LXS_MSG_MAX - 8) /* DATA payload bytes */
#define LXS_WINDOW              (256u * 1024)

struct lxs_msg_hdr {
	uint32_t len;    /* payload bytes after this header, <= LXS_MSG_MAX */
	uint16_t type;   /* LXS_MSG_* */
	uint16_t stream; /* LXS_STREAM_* for DATA, ACK, EOF; 0 otherwise */
};

enum lxs_msg_type {
	LXS_MSG_HELLO = 1,    /* both ways, first: struct lxs_hello */
	LXS_MSG_ERROR,        /* guest->host: struct lxs_error + message text (no NUL) */
	LXS_MSG_OK,           /* guest->host: empty; a control request succeeded */
	LXS_MSG_CREATE,       /* host->guest: struct lxs_create + string table */
	LXS_MSG_CREATED,      /* guest->host: struct lxs_created */
	LXS_MSG_DATA,         /* stdin host->guest; stdout, stderr guest->host: bytes */
	LXS_MSG_ACK,          /* the other way: struct lxs_ack */
	LXS_MSG_EOF,          /* the stream ended (host: stdin EOF; guest: stdout/err closed) */
	LXS_MSG_SIGNAL,       /* host->guest: struct lxs_signal */
	LXS_MSG_RESIZE,       /* host->guest: struct lxs_winsize */
	LXS_MSG_EXIT,         /* guest->host, last: struct lxs_exit */
	LXS_MSG_DISTRO_START, /* host->guest: struct lxs_distro + string table */
	LXS_MSG_DISTRO_STOP,  /* host->guest: string table: name */
	LXS_MSG_SHUTDOWN,     /* host->guest: empty; init syncs, unmounts, powers off */
	LXS_MSG_FWD_ADD,      /* guest->host on LXS_VSOCK_PORT_FWD: struct lxs_fwd */
	LXS_MSG_FWD_DEL,      /* guest->host on LXS_VSOCK_PORT_FWD: struct lxs_fwd */
	LXS_MSG_FWD_CONNECT,  /* host->guest on LXS_VSOCK_PORT_RELAY: struct lxs_fwd */
	/* lxs-vm's control socket, lxsd -> lxs-vm (src/vmm/control.h) */
	LXS_MSG_VM_ATTACH,   /* struct lxs_vm_disk + string table: image path, serial */
	LXS_MSG_VM_DETACH,   /* struct lxs_vm_disk (flags 0) */
	LXS_MSG_VM_BALLOON,  /* struct lxs_vm_balloon */
	LXS_MSG_VM_STATS,    /* empty; answered INFO */
	LXS_MSG_VM_NET,      /* empty; answered INFO */
	LXS_MSG_VM_POWEROFF, /* empty */
	LXS_MSG_INFO,        /* an answer: "key=value" words separated by spaces (text, no NUL) */
	/* lxsd's socket, lxs -> lxsd (src/lxsd/ipc.h) */
	LXS_MSG_LXSD_PING,      /* empty; answered OK */
	LXS_MSG_LXSD_RUN,       /* struct lxs_run + string table; answered PLAN or ERROR */
	LXS_MSG_LXSD_PLAN,      /* struct lxs_plan + string table */
	LXS_MSG_LXSD_TERMINATE, /* string table: name; answered OK */
	LXS_MSG_LXSD_SHUTDOWN,  /* struct lxs_shutdown; answered OK */
	LXS_MSG_LXSD_STATUS,    /* empty; answered STATE */
	LXS_MSG_LXSD_STATE,     /* struct lxs_state + string table */
	/* guest->host on LXS_VSOCK_PORT_READY: lxs-init is up and serving */
	LXS_MSG_READY, /* empty */
	/* lxs-fs -> lxsd: empty; answered OK, then lxsd stays while the connection does */
	LXS_MSG_LXSD_HOLD,
	/* lxsd -> lxs-vm's control socket: string table: virtio-fs share tag, DrvFs options */
	LXS_MSG_VM_SHARE_OPTS,
	LXS_MSG_TYPE_MAX,
};

enum lxs_stream { LXS_STREAM_STDIN = 0, LXS_STREAM_STDOUT = 1, LXS_STREAM_STDERR = 2 };

struct lxs_hello {
	uint32_t magic;   /* LXS_SESSION_MAGIC */
	uint32_t version; /* LXS_PROTO_VERSION; a mismatch is answered ERROR EPROTO */
};

struct lxs_error {
	int32_t err; /* errno value */
};

#define LXS_CREATE_PTY 1u /* a pseudo-terminal for stdin/stdout (stderr joins it) */
/*
 * The working directory is a host path (absolute): start in the distro's view
 * of it under the host share (/mnt/host, or where the distro's DISTRO_START
 * automount root put it), or in the user's home when the share is off or the folder
 * cannot be entered there. This is how `lxs` run in a host folder starts in
 * that folder, as wsl.exe does.
 */
#define LXS_CREATE_HOST_CWD 2u

/*
 * CREATE payload: this struct, then a string table of NUL-terminated strings,
 * in order: distro name, user ("" = root; a name or "#<uid>"), working
 * directory ("" = the user's home, "~" too), argv[0..argc), env[0..envc).
 * The total count of strings must be exactly 3 + argc + envc and the table must
 * end with a NUL; argc >= 1. Environment is exactly env (nothing is inherited).
 */
struct lxs_create {
	uint32_t flags; /* LXS_CREATE_* */
	uint16_t rows, cols;
	uint32_t argc, envc;
};

/*
 * Interop only: env holds variables to set on top of the host side's own
 * environment (WSLENV's, already translated), not the whole environment.
 */
#define LXS_CREATE_HOST_ENV 4u
#define LXS_CREATE_FLAGS    7u

struct lxs_created {
	int32_t pid; /* in the distro's PID namespace */
};

struct lxs_ack {
	uint32_t bytes; /* consumed since the previous ACK on this stream */
};

struct lxs_signal {
	int32_t signo; /* delivered to the process (its process group with a pty) */
};

struct lxs_winsize {
	uint16_t rows, cols;
};

struct lxs_exit {
	int32_t code;  /* exit code, or -1 when killed by a signal */
	int32_t signo; /* the signal that killed it, else 0 */
	int32_t core;  /* 1 if it dumped core */
};

/*
 * DISTRO_START payload: this struct, then exactly seven strings: name, disk
 * serial (as the virtio-blk device reports it), hostname ("" keeps the VM's),
 * the text for the distro's /etc/resolv.conf (used with
 * LXS_DISTRO_GEN_RESOLV; at most LXS_RESOLV_MAX bytes), the mount tag of the
 * distro's own share of the host's / ("" = the VM-wide 9P share tagged
 * "hostroot"; a virtio-fs one with LXS_DISTRO_HOST_VIRTIOFS, else 9P), the
 * DrvFs options to mount it with ([automount] options; letters, digits,
 * '=', '_' and ','; a virtio-fs share has them already, from the host's
 * SHARE_OPTS), and the folder the share
 * appears in as "host" ([automount] root; "" = "/mnt/"; absolute, no ".."
 * component, at most LXS_AUTOMOUNT_ROOT_MAX bytes, else init warns on its
 * console and uses "/mnt/"). Init mounts the disk with that serial (waiting
 * up to timeout_ms for a hot-attached one to appear) and starts the
 * distro's container. Unknown flags are refused. The host reads the
 * distro's /etc/wsl.conf, init does not; for the host share, no
 * LXS_DISTRO_NO_AUTOMOUNT and an empty root are WSL's defaults.
 */
#define LXS_DISTRO_GEN_HOSTS     1u /* write /etc/hosts for the hostname ([network] generateHosts) */
#define LXS_DISTRO_GEN_RESOLV    2u  /* write /etc/resolv.conf ([network] generateResolvConf) */
#define LXS_DISTRO_SYSTEMD       4u  /* run the distro's systemd as its PID 1 ([boot] systemd) */
#define LXS_DISTRO_FSTAB         8u  /* mount /etc/fstab's file systems ([automount] mountFsTab) */
#define LXS_DISTRO_NO_AUTOMOUNT  16u /* no host share in the distro ([automount] enabled=false) */
#define LXS_DISTRO_HOST_VIRTIOFS 32u /* the host share's tag is a virtio-fs one */
#define LXS_DISTRO_FLAGS         63u
#define LXS_RESOLV_MAX           4096
#define LXS_AUTOMOUNT_ROOT_MAX   255

struct lxs_distro {
	uint32_t flags; /* LXS_DISTRO_* */
	uint32_t timeout_ms;
};

/* ------------------------------------------------------------------------
 * Networking of version 2 (networkingMode=nat): one virtio-net NIC whose
 * frames lxs-net hands to a user-mode NAT (libslirp) on the host. The
 * addresses are fixed, as QEMU's user networking's are, and known to both
 * sides, so lxs-init configures eth0 at boot without DHCP. The gateway is
 * the host's loopback as the guest reaches it (host.lxs.internal); the DNS
 * address is the NAT's forwarder to the host's resolvers.
 * ------------------------------------------------------------------------ */
#define LXS_NET_GUEST4   "10.0.2.15"
#define LXS_NET_PREFIX4  24
#define LXS_NET_GATEWAY4 "10.0.2.2"
#define LXS_NET_DNS4     "10.0.2.3"
#define LXS_NET_GUEST6   "fd00:6c78:73::15"
#define LXS_NET_PREFIX6  64
#define LXS_NET_GATEWAY6 "fd00:6c78:73::2"
#define LXS_NET_DNS6     "fd00:6c78:73::3"
#define LXS_NET_MTU      65520
#define LXS_NET_HOSTNAME "host.lxs.internal"

/*
 * Localhost forwarding (localhostForwarding): lxs-init reports the TCP
 * listeners of the VM to lxs-fwd on the host over a guest-initiated vsock
 * connection to LXS_VSOCK_PORT_FWD; lxs-fwd connects to the guest's
 * LXS_VSOCK_PORT_RELAY once per forwarded connection.
 */
#define LXS_VSOCK_PORT_FWD   50002
#define LXS_VSOCK_PORT_RELAY 50003

/*
 * The report connection (guest -> host port LXS_VSOCK_PORT_FWD): HELLO both
 * ways, then only guest -> host: FWD_ADD when a TCP port gains its first
 * listener on a loopback or wildcard address, or when the families it
 * listens on change (the host treats an ADD of a known port as an update),
 * FWD_DEL when its last such listener is gone. After every (re)connect the
 * guest sends an ADD for each port it has; the host forgets every forward
 * when the connection drops or another one replaces it.
 *
 * The relay (host -> guest port LXS_VSOCK_PORT_RELAY), once per forwarded
 * connection: HELLO both ways, FWD_CONNECT (families = the one the host's
 * client came on, exactly one bit), answered OK once the guest has
 * connected to the listener or ERROR; then the connection carries the raw
 * TCP stream both ways, each direction ended by a half-close.
 *
 * Both sides drop a connection on any payload of the wrong size, port 0,
 * families 0 or with unknown bits, or pad not zero. The host keeps at most
 * LXS_FWD_MAX_PORTS forwards and refuses ADDs beyond that.
 */
#define LXS_FWD_IPV4      1u /* a listener on 0.0.0.0 or 127.0.0.1 (host side: 127.0.0.1) */
#define LXS_FWD_IPV6      2u /* a listener on :: or ::1 (host side: [::1]) */
#define LXS_FWD_FAMILIES  3u
#define LXS_FWD_MAX_PORTS 4096

struct lxs_fwd {
	uint16_t port;    /* TCP port, 1..65535, the same on both sides */
	uint8_t families; /* LXS_FWD_* */
	uint8_t pad;      /* 0 */
};

/* ------------------------------------------------------------------------
 * lxs-vm's control socket (lxsd -> lxs-vm; a Unix socket, the VM owner's
 * alone). One conversation per connection: HELLO both ways, one request
 * (VM_*), one answer: OK, INFO (for STATS and NET) or ERROR (struct
 * lxs_error + one sentence). The same frames as sessions (src/common/wire.h),
 * so paths may hold any byte but NUL.
 * ------------------------------------------------------------------------ */
#define LXS_VM_DISK_RO 1u /* ATTACH: the guest may only read the disk */

struct lxs_vm_disk {
	uint32_t slot;  /* spare disk slot, 0.. */
	uint32_t flags; /* LXS_VM_DISK_*; unknown bits are refused */
};

struct lxs_vm_balloon {
	uint64_t mib; /* balloon target: MiB the host takes back */
};

/* ------------------------------------------------------------------------
 * lxsd's socket (lxs -> lxsd; a Unix socket in the user's 0700 run folder,
 * peers checked with SO_PEERCRED; src/store/ipc.h). One conversation per
 * connection: HELLO both ways, one request, one answer (ERROR: struct
 * lxs_error + one sentence). After a PLAN the connection stays open for as
 * long as the session runs: lxsd counts it, and the distro's idle timer
 * starts when the last one closes.
 *
 * LXSD_RUN: struct lxs_run, then exactly 6 + ncmd strings: distro name,
 * user, --cd, the host folder lxs runs in, TERM, LANG (each "" and ignored
 * unless its LXS_RUN_* flag is set), then the command's words. lxsd makes
 * sure the VM and the distro run, works out the session (src/store/plan.h)
 * and answers LXSD_PLAN: struct lxs_plan, then exactly 4 + argc + envc
 * strings: the vsock socket to connect to, the distro's name, the user for
 * CREATE, the working folder, argv, env. CREATE is then sent as given.
 *
 * LXSD_STATE: struct lxs_state, n x struct lxs_state_distro, then exactly n
 * strings: the distros' names, in the same order.
 * ------------------------------------------------------------------------ */
#define LXS_RUN_USER    1u /* a user was named (-u) */
#define LXS_RUN_CD      2u /* --cd was given */
#define LXS_RUN_CWD     4u /* lxs knows the folder it runs in */
#define LXS_RUN_TERM    8u
#define LXS_RUN_LANG    16u
#define LXS_RUN_EXEC    32u /* -e: the words are argv, no shell */
#define LXS_RUN_QUOTE   64u /* each word stays whole through the shell */
#define LXS_RUN_FLAGS   127u
#define LXS_RUN_MAX_CMD 4096

struct lxs_run {
	uint32_t flags; /* LXS_RUN_* */
	uint32_t shell; /* 0 default, 1 standard, 2 login, 3 none (--shell-type) */
	uint32_t ncmd;  /* <= LXS_RUN_MAX_CMD */
};

#define LXS_PLAN_HOST_CWD 1u /* the working folder is a host path (LXS_CREATE_HOST_CWD) */
#define LXS_PLAN_INTEROP  2u /* interop is on: lxs serves the session's host programs */
#define LXS_PLAN_FLAGS    3u

struct lxs_plan {
	uint32_t flags; /* LXS_PLAN_* */
	uint32_t port;  /* the vsock port of lxs-init (0: the socket is lxs-init's own) */
	uint32_t argc, envc;
};

struct lxs_shutdown {
	uint32_t force; /* 1: kill the VM without asking init to stop the distros */
};

enum lxs_vm_state { LXS_VM_STOPPED, LXS_VM_BOOTING, LXS_VM_RUNNING, LXS_VM_STOPPING };
enum lxs_distro_state { LXS_DISTRO_STARTING = 1, LXS_DISTRO_RUNNING, LXS_DISTRO_STOPPING };
#define LXS_STATE_MAX 64

struct lxs_state {
	uint32_t vm;    /* enum lxs_vm_state */
	int32_t vm_pid; /* lxs-vm's pid on the host, 0 when none */
	uint32_t n;     /* distros that follow, <= LXS_STATE_MAX */
	uint32_t pad;
};

struct lxs_state_distro {
	uint32_t state;    /* enum lxs_distro_state */
	uint32_t sessions; /* open sessions */
};

/*
 * lxs-init's readiness (guest -> host, LXS_VSOCK_PORT_READY): once it
 * listens for sessions, init connects, sends HELLO and READY, and closes.
 * lxsd listens for it while the VM boots; a VM is up when it arrives.
 */
#define LXS_VSOCK_PORT_READY 50004

/* ------------------------------------------------------------------------
 * Interop: a host program run from a distro (lxs-host, and the host command
 * names of /usr/lib/lxs/host-path). The same conversation as a session,
 * with the roles turned: lxs-host is the client (HELLO, CREATE, stdin DATA,
 * SIGNAL, RESIZE), the host runs the program (src/relay) and answers
 * CREATED, its output and EXIT. CREATE for the host: distro "" or the
 * distro's name (for logs), user "" (the program runs as the session's
 * user; anything else is refused), the working folder a host path with
 * LXS_CREATE_HOST_CWD ("": the host user's home), LXS_CREATE_HOST_ENV.
 *
 * The server is the `lxs` process of the session (src/cli/interop.c),
 * which lxs-host finds through the session's environment variable
 * LXS_INTEROP: "vsock:PORT" in version 2 (a guest-initiated vsock
 * connection to the host, which lxs-vm hands to the Unix socket
 * "<vsock socket>_PORT"; lxs picks a free PORT from LXS_VSOCK_PORT_INTEROP
 * on), a Unix socket path in version 1 (under /usr/lib/lxs/sessions, which
 * lxs-pico maps to the host's tools folder). No LXS_INTEROP: interop is off.
 * ------------------------------------------------------------------------ */
#define LXS_VSOCK_PORT_INTEROP      50100
#define LXS_VSOCK_PORT_INTEROP_SPAN 4096
/* Host programs one session's server runs at once; more are refused (EAGAIN). */
#define LXS_INTEROP_MAX_RUNNING 64
/* Where lxs's tools appear in every distro (read-only; not the distro's own files). */
#define LXS_TOOLS_DIR "/usr/lib/lxs"

#endif
