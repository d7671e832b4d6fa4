/*
 * lxs-vm - the lxs virtual machine monitor. main() is the VM's lifecycle:
 * check the inputs, check that KVM can run a guest, build the VM and its
 * devices, load the kernel, run the vCPUs, confine every thread to what it
 * needs (sandbox.c), and run the event loop until the guest
 * powers off, reboots or dies, and exit with a status that says which
 * (src/common/proto.h, LXS_EXIT_*).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "boot.h"
#include "common/log.h"
#include "common/size.h"
#include "common/proto.h"
#include "control.h"
#include "detect.h"
#include "devices.h"
#include "fusesrv/fusesrv.h"
#include "hostfs/hostfs.h"
#include "p9/p9.h"
#include "evloop.h"
#include "platform.h"
#include "sandbox.h"
#include "vm.h"

#define DEFAULT_MEM     (512ULL << 20)
#define DEFAULT_CMDLINE "console=hvc0"

/*
 * What lxs-vm always tells the kernel. reboot=k,panic_warm: resets come
 * through the i8042 and a panic leaves the warm-boot flag (proto.h); panic=-1:
 * reset at once on panic; the rest skips probing for hardware that isn't here.
 */
#define BASE_CMDLINE "reboot=k,panic_warm panic=-1 io_delay=none no_timer_check tsc=reliable"

struct disk_opt {
	const char *path, *serial;
	bool ro;
};

/* --share (9P) and --fs (virtio-fs) TAG=DIR[,ro][,DrvFs options]; at most this many of each. */
#define MAX_SHARES 4

struct share_opt {
	const char *tag, *dir;
	bool ro;
	struct hfs_opts mo;
	uint32_t cache_ms; /* --fs cache_ms=N; 0: the server's default */
	uint32_t watch_ms; /* --fs watch_ms=N; 0: the server's default */
	bool no_watch;     /* --fs nowatch: host changes not told, short timeouts only */
};

struct options {
	const char *kernel, *initrd, *cmdline;
	uint64_t mem;
	int cpus;
	bool allow_slow_kvm, check_kvm;
	struct disk_opt disks[LAYOUT_VIRTIO_MAX];
	int ndisks, spare_disks;
	const char *vsock, *control, *net;
	uint64_t cid;
	struct share_opt shares[MAX_SHARES];
	int nshares;
	struct share_opt fs[VM_MAX_FS];
	int nfs;
	struct sandbox sandbox;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: lxs-vm --kernel FILE [--initrd FILE] [--cmdline TEXT] [--mem SIZE] [--cpus N]\n"
	    "              [--disk PATH[,ro][,serial=ID]]... [--spare-disks N]\n"
	    "              [--vsock SOCKET [--cid N]] [--control SOCKET] [--net SOCKET]\n"
	    "              [--share TAG=DIR[,ro][,OPTIONS]]... [--fs TAG=DIR[,ro][,OPTIONS]]...\n"
	    "       lxs-vm --check-kvm\n"
	    "       lxs-vm --ctl SOCKET COMMAND [ARGS]   (src/vmm/control.h)\n"
	    "\n"
	    "  --kernel FILE    bzImage (64-bit boot protocol) or vmlinux with a PVH note\n"
	    "  --initrd FILE    initial RAM disk\n"
	    "  --cmdline TEXT   kernel command line (default \"" DEFAULT_CMDLINE "\")\n"
	    "  --mem SIZE       guest RAM, e.g. 512M or 2G (default 512M)\n"
	    "  --cpus N         vCPUs, 1 to %d (default 1)\n"
	    "  --disk SPEC      a virtio-blk disk: image PATH, read-only with ,ro, and\n"
	    "                   the serial the guest sees with ,serial=ID (repeatable)\n"
	    "  --spare-disks N  empty disk slots to attach images to later (--control)\n"
	    "  --vsock SOCKET   virtio-vsock: host connections through SOCKET (CONNECT\n"
	    "                   <port>), guest connections to port P reach SOCKET_P\n"
	    "  --cid N          the guest's vsock CID (default 3)\n"
	    "  --control SOCKET control socket for disks, balloon and stats; talk to it\n"
	    "                   with lxs-vm --ctl SOCKET attach SLOT PATH ro|rw SERIAL,\n"
	    "                   detach SLOT, balloon MIB, stats, net or poweroff\n"
	    "  --net SOCKET     virtio-net whose frames go to the user-mode NAT listening\n"
	    "                   on SOCKET (lxs-net, or passt); reconnects if it restarts\n"
	    "  --share SPEC     a virtio-9p share of host directory DIR under mount tag\n"
	    "                   TAG (9P2000.L), read-only with ,ro; other options are\n"
	    "                   DrvFs ones: metadata,uid=N,gid=N,umask=,fmask=,dmask=\n"
	    "                   (repeatable, at most %d)\n"
	    "  --fs SPEC        the same as a virtio-fs share (FUSE): the guest keeps\n"
	    "                   entries and attributes 5 minutes where lxs-vm watches for\n"
	    "                   host changes and tells it (,watch_ms=N), a second where\n"
	    "                   it cannot (,cache_ms=N); ,nowatch: never watch;\n"
	    "                   mount -t virtiofs TAG; tags of at most %d characters\n"
	    "                   (repeatable, at most %d)\n"
	    "  --check-kvm      only say whether /dev/kvm can run a guest at speed\n"
	    "  --allow-slow-kvm boot even on a software-emulated /dev/kvm\n"
	    "  --no-sandbox     leave the threads unconfined (see sandbox.c), to debug\n"
	    "                   a call the sandbox refused; never for real guests\n"
	    "  --sandbox-probe CLASS  (tests) a thread of CLASS (main, vcpu, p9, fs) makes\n"
	    "                   a forbidden call once confined: lxs-vm must end\n"
	    "  -v, --verbose    more messages (twice for debug); SIGQUIT logs vCPU and\n"
	    "                   virtio queue state, to see what a stuck guest waits for\n"
	    "\n"
	    "Exit status: the guest's power-off code (0-%d), %d reboot, %d kernel panic,\n"
	    "%d guest crash, %d /dev/kvm too slow, %d lxs-vm error.\n",
	    VM_MAX_CPUS, MAX_SHARES, VIRTIO_FS_TAG_MAX, VM_MAX_FS, LXS_EXIT_GUEST_MAX,
	    LXS_EXIT_REBOOT, LXS_EXIT_PANIC, LXS_EXIT_CRASH, LXS_EXIT_SLOW_KVM, LXS_EXIT_VMM_ERROR);
}

/* PATH[,ro][,serial=ID]; the serial defaults to the file's base name. */
static void parse_disk(char *spec, struct disk_opt *d)
{
	char *save = NULL;

	d->path = strtok_r(spec, ",", &save);
	d->serial = NULL;
	if (!d->path || !d->path[0])
		fatalx(LXS_EXIT_VMM_ERROR, "--disk needs an image path, like --disk distro.img,ro");
	for (char *t; (t = strtok_r(NULL, ",", &save));) {
		if (!strcmp(t, "ro"))
			d->ro = true;
		else if (!strncmp(t, "serial=", 7) && t[7] && strlen(t + 7) <= 20)
			d->serial = t + 7;
		else
			fatalx(
			    LXS_EXIT_VMM_ERROR,
			    "--disk option '%s' is not ro or serial=ID (ID at most 20 characters)",
			    t);
	}
	if (!d->serial) {
		const char *b = strrchr(d->path, '/');
		d->serial = b ? b + 1 : d->path;
	}
}

/*
 * TAG=DIR[,ro][,DrvFs options] of --share or --fs (flag), tags of at most
 * tagmax bytes. The tag goes to the guest; DIR stays here.
 */
static void parse_share(const char *flag, size_t tagmax, char *spec, struct share_opt *sh)
{
	char *eq = strchr(spec, '='), *save = NULL;

	if (!eq || eq == spec || (size_t)(eq - spec) > tagmax)
		fatalx(LXS_EXIT_VMM_ERROR,
		       "%s needs TAG=DIR with a tag of 1 to %zu characters, like %s hostroot=/",
		       flag, tagmax, flag);
	*eq = '\0';
	sh->tag = spec;
	sh->dir = strtok_r(eq + 1, ",", &save);
	if (!sh->dir || !sh->dir[0])
		fatalx(LXS_EXIT_VMM_ERROR, "%s %s= needs a host directory", flag, spec);
	hfs_opts_default(&sh->mo);
	for (char *t; (t = strtok_r(NULL, ",", &save));) {
		char *end;

		if (!strcmp(t, "ro")) {
			sh->ro = true;
		} else if (!strcmp(flag, "--fs") && !strcmp(t, "nowatch")) {
			sh->no_watch = true;
		} else if (!strcmp(flag, "--fs") &&
			   (!strncmp(t, "cache_ms=", 9) || !strncmp(t, "watch_ms=", 9))) {
			unsigned long ms = strtoul(t + 9, &end, 10);

			if (t[9] < '0' || t[9] > '9' || *end || ms < 1 || ms > 3600000)
				fatalx(LXS_EXIT_VMM_ERROR,
				       "--fs %.9s takes milliseconds from 1 to 3600000, not '%s'",
				       t, t + 9);
			*(t[0] == 'c' ? &sh->cache_ms : &sh->watch_ms) = (uint32_t)ms;
		} else if (hfs_opts_parse(&sh->mo, t) < 0) {
			fatalx(LXS_EXIT_VMM_ERROR,
			       "%s option '%s' is not ro, metadata, uid=, gid=, umask=, "
			       "fmask= or dmask=",
			       flag, t);
		}
	}
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},
	    {"cmdline", required_argument, NULL, 'c'},
	    {"mem", required_argument, NULL, 'm'},
	    {"cpus", required_argument, NULL, 'n'},
	    {"check-kvm", no_argument, NULL, 'K'},
	    {"disk", required_argument, NULL, 'D'},
	    {"spare-disks", required_argument, NULL, 'P'},
	    {"vsock", required_argument, NULL, 'V'},
	    {"cid", required_argument, NULL, 'C'},
	    {"control", required_argument, NULL, 'O'},
	    {"net", required_argument, NULL, 'E'},
	    {"share", required_argument, NULL, 's'},
	    {"fs", required_argument, NULL, 'F'},
	    {"allow-slow-kvm", no_argument, NULL, 'S'},
	    {"no-sandbox", no_argument, NULL, 'N'},
	    {"sandbox-probe", required_argument, NULL, 'X'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int verbose = 0, c;
	char *end;

	*o = (struct options){.mem = DEFAULT_MEM,
			      .cpus = 1,
			      .cmdline = DEFAULT_CMDLINE,
			      .cid = 3,
			      .sandbox = {.probe = -1}};
	/* Named before the options, so that their errors say whose they are; -v may raise the
	 * level. */
	log_init("lxs-vm", LOG_NORMAL);
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'c':
			o->cmdline = optarg;
			break;
		case 'm':
			if (size_parse(optarg, &o->mem) < 0)
				o->mem = 0; /* refused just below */
			if (o->mem < (16ULL << 20) || o->mem > (1ULL << 40))
				fatalx(LXS_EXIT_VMM_ERROR,
				       "--mem %s is not a size between 16M and 1024G; write it "
				       "like 512M or 2G",
				       optarg);
			break;
		case 'n':
			o->cpus = (int)strtol(optarg, &end, 10);
			if (*end || o->cpus < 1 || o->cpus > VM_MAX_CPUS)
				fatalx(LXS_EXIT_VMM_ERROR, "--cpus %s is not a number from 1 to %d",
				       optarg, VM_MAX_CPUS);
			break;
		case 'K':
			o->check_kvm = true;
			break;
		case 'D':
			if (o->ndisks == LAYOUT_VIRTIO_MAX - 4)
				fatalx(LXS_EXIT_VMM_ERROR, "too many disks; at most %d",
				       LAYOUT_VIRTIO_MAX - 4);
			parse_disk(optarg, &o->disks[o->ndisks++]);
			break;
		case 'P':
			o->spare_disks = (int)strtol(optarg, &end, 10);
			if (*end || o->spare_disks < 0 || o->spare_disks > 8)
				fatalx(LXS_EXIT_VMM_ERROR,
				       "--spare-disks %s is not a number from 0 to 8", optarg);
			break;
		case 'V':
			o->vsock = optarg;
			break;
		case 'C':
			o->cid = strtoull(optarg, &end, 10);
			if (*end || o->cid < 3 || o->cid > 0xfffffffe)
				fatalx(LXS_EXIT_VMM_ERROR,
				       "--cid %s is not a guest CID (3 to 4294967294)", optarg);
			break;
		case 'O':
			o->control = optarg;
			break;
		case 'E':
			o->net = optarg;
			break;
		case 's':
			if (o->nshares == MAX_SHARES)
				fatalx(LXS_EXIT_VMM_ERROR, "too many shares; at most %d",
				       MAX_SHARES);
			parse_share("--share", VIRTIO_9P_TAG_MAX, optarg, &o->shares[o->nshares++]);
			break;
		case 'F':
			if (o->nfs == VM_MAX_FS)
				fatalx(LXS_EXIT_VMM_ERROR, "too many virtio-fs shares; at most %d",
				       VM_MAX_FS);
			parse_share("--fs", VIRTIO_FS_TAG_MAX, optarg, &o->fs[o->nfs++]);
			break;
		case 'S':
			o->allow_slow_kvm = true;
			break;
		case 'N':
			o->sandbox.off = true;
			break;
		case 'X':
			if ((o->sandbox.probe = sandbox_class_parse(optarg)) < 0)
				fatalx(LXS_EXIT_VMM_ERROR,
				       "--sandbox-probe %s is not main, vcpu or p9", optarg);
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(LXS_EXIT_VMM_ERROR);
		}
	}
	log_init("lxs-vm", verbose >= 2 ? LOG_DEBUG : verbose ? LOG_VERBOSE : LOG_NORMAL);
	if (optind < argc)
		fatalx(LXS_EXIT_VMM_ERROR, "unexpected argument '%s'; see lxs-vm --help",
		       argv[optind]);
	if (!o->kernel && !o->check_kvm)
		fatalx(LXS_EXIT_VMM_ERROR,
		       "no kernel given; use --kernel FILE (see lxs-vm --help)");
}

static void check_kvm(const struct options *o)
{
	char why[512];
	double ms;
	enum kvm_speed s = kvm_detect_speed(&ms, why, sizeof(why));

	if (o->check_kvm) {
		if (s == KVM_FAST)
			printf(
			    "lxs-vm: /dev/kvm runs guests at hardware speed (test loop %.2f ms)\n",
			    ms);
		else
			printf("lxs-vm: %s\n", why);
		exit(s == KVM_FAST ? 0 : s == KVM_SLOW ? LXS_EXIT_SLOW_KVM : LXS_EXIT_VMM_ERROR);
	}
	if (s == KVM_MISSING)
		fatalx(LXS_EXIT_VMM_ERROR, "%s", why);
	if (s == KVM_SLOW && !o->allow_slow_kvm)
		fatalx(LXS_EXIT_SLOW_KVM, "%s", why);
	log_info("KVM test loop: %.2f ms", ms);
}

/* A terminal on stdin goes raw while the guest owns it, and back afterwards. */
struct tty_state {
	bool raw;
	struct termios saved;
};

static void tty_raw(struct tty_state *t)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return;
	raw = t->saved;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR; /* keep our own messages readable */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		t->raw = true;
}

static void tty_restore(struct tty_state *t)
{
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
}

static void on_signal(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct vm *vm = arg;
	struct signalfd_siginfo si;

	(void)ev;
	(void)fd;
	(void)events;
	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGQUIT) {
		vm_dump_state(vm);
		return;
	}
	log_warnx("stopped by signal %u; the guest did not shut down cleanly", si.ssi_signo);
	vm_request_exit(vm, 128 + (int)si.ssi_signo);
}

/* What a device's constructor gets: the VM, the options, and where the control socket looks. */
struct dev_ctx {
	struct vm *vm;
	const struct options *o;
	struct vm_devices *devs;
};

static int one(const struct options *o)
{
	(void)o;
	return 1;
}

static int create_console(const struct dev_ctx *x, int i, struct virtio_dev **dev)
{
	(void)i;
	return virtio_console_create(dev, &x->vm->mem, x->vm->ev, STDIN_FILENO, STDOUT_FILENO);
}

static int create_rng(const struct dev_ctx *x, int i, struct virtio_dev **dev)
{
	(void)i;
	return virtio_rng_create(dev, &x->vm->mem);
}

static int create_balloon(const struct dev_ctx *x, int i, struct virtio_dev **dev)
{
	int ret = virtio_balloon_create(dev, &x->vm->mem);

	(void)i;
	if (ret == 0)
		x->devs->balloon = *dev;
	return ret;
}

/* --disk images first, then the empty slots of --spare-disks. */
static int count_disks(const struct options *o)
{
	return o->ndisks + o->spare_disks;
}

static int create_disk(const struct dev_ctx *x, int i, struct virtio_dev **dev)
{
	const struct disk_opt *d = i < x->o->ndisks ? &x->o->disks[i] : NULL;
	int ret = virtio_blk_create(dev, &x->vm->mem, x->vm->ev, d ? d->path : NULL, d && d->ro,
				    d ? d->serial : "");

	if (ret == 0)
		x->devs->disk[x->devs->ndisks++] = *dev;
	return ret;
}

static void disk_failed(const struct options *o, int i, char *why, size_t len)
{
	if (i < o->ndisks)
		snprintf(why, len, "cannot use disk image %s", o->disks[i].path);
	else
		snprintf(why, len, "cannot create spare disk slot %d", i - o->ndisks);
}

static int count_vsock(const struct options *o)
{
	return o->vsock != NULL;
}

static int create_vsock(const struct dev_ctx *x, int i, struct virtio_dev **dev)
{
	(void)i;
	return virtio_vsock_create(dev, &x->vm->mem, x->vm->ev, x->o->cid, x->o->vsock);
}

static void vsock_failed(const struct options *o, int i, char *why, size_t len)
{
	(void)i;
	snprintf(why, len, "cannot set up vsock on %s", o->vsock);
}

static int count_net(const struct options *o)
{
	return o->net != NULL;
}

/* A locally administered MAC ("lxs"), the same in every VM: one NIC per NAT. */
static int create_net(const struct dev_ctx *x, int i, struct virtio_dev **dev)
{
	static const uint8_t mac[6] = {0x02, 0x6c, 0x78, 0x73, 0x00, 0x01};
	int ret = virtio_net_create(dev, &x->vm->mem, x->vm->ev, x->o->net, mac);

	(void)i;
	if (ret == 0)
		x->devs->net = *dev;
	return ret;
}

static void net_failed(const struct options *o, int i, char *why, size_t len)
{
	(void)i;
	snprintf(why, len, "cannot set up the network card for %s", o->net);
}

static int count_shares(const struct options *o)
{
	return o->nshares;
}

static int create_share(const struct dev_ctx *x, int i, struct virtio_dev **dev)
{
	const struct share_opt *sh = &x->o->shares[i];

	return virtio_9p_create(dev, &x->vm->mem, sh->tag, sh->dir, sh->ro, &sh->mo,
				x->vm->sandbox);
}

static void share_failed(const struct options *o, int i, char *why, size_t len)
{
	snprintf(why, len, "cannot share %s as '%s'", o->shares[i].dir, o->shares[i].tag);
}

static int count_fs(const struct options *o)
{
	return o->nfs;
}

static int create_fs(const struct dev_ctx *x, int i, struct virtio_dev **dev)
{
	const struct share_opt *sh = &x->o->fs[i];
	struct fsrv_config cfg = {.opts = sh->mo,
				  .read_only = sh->ro,
				  .entry_ms = sh->cache_ms,
				  .attr_ms = sh->cache_ms,
				  .watch = !sh->no_watch,
				  .watch_ms = sh->watch_ms};
	int ret = virtio_fs_create(dev, &x->vm->mem, sh->tag, sh->dir, &cfg, x->vm->sandbox);

	if (ret == 0) {
		x->devs->fs[x->devs->nfs] = *dev;
		x->devs->fs_tag[x->devs->nfs++] = sh->tag;
	}
	return ret;
}

static void fs_failed(const struct options *o, int i, char *why, size_t len)
{
	snprintf(why, len, "cannot share %s as virtio-fs '%s'", o->fs[i].dir, o->fs[i].tag);
}

/*
 * The VM's virtio devices. Rows take their slots in this order, which is the
 * order the guest probes them in (the first --disk is vda), so a new kind
 * goes at the end. count: how many the options ask for; create: instance i
 * (what vm_close destroys: ops->destroy); failed: the sentence when it
 * cannot be made (NULL: "cannot set up the <name>").
 */
static const struct device_kind {
	const char *name;
	int (*count)(const struct options *o);
	int (*create)(const struct dev_ctx *x, int i, struct virtio_dev **dev);
	void (*failed)(const struct options *o, int i, char *why, size_t len);
} device_table[] = {
    {"console", one, create_console, NULL},
    {"entropy device", one, create_rng, NULL},
    {"memory balloon", one, create_balloon, NULL},
    {"disk", count_disks, create_disk, disk_failed},
    {"vsock device", count_vsock, create_vsock, vsock_failed},
    {"network card", count_net, create_net, net_failed},
    {"9P share", count_shares, create_share, share_failed},
    {"virtio-fs share", count_fs, create_fs, fs_failed},
};

/* Every device the options ask for, on the VM's bus and its command line; or exit. */
static void add_devices(struct vm *vm, const struct options *o, struct vm_devices *devs)
{
	const struct dev_ctx x = {.vm = vm, .o = o, .devs = devs};

	for (size_t k = 0; k < sizeof(device_table) / sizeof(device_table[0]); k++) {
		const struct device_kind *dk = &device_table[k];

		for (int i = 0; i < dk->count(o); i++) {
			struct virtio_dev *dev;
			char why[PATH_MAX + 64];
			int ret = dk->create(&x, i, &dev);

			if (ret == 0)
				ret = vm_add_virtio(vm, dev);
			if (ret == 0)
				continue;
			if (dk->failed)
				dk->failed(o, i, why, sizeof(why));
			else
				snprintf(why, sizeof(why), "cannot set up the %s", dk->name);
			errno = -ret;
			fatal(LXS_EXIT_VMM_ERROR, "%s", why);
		}
	}
}

static int watch_signals(struct vm *vm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT); /* not an end: a state dump */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd < 0)
		return -errno;
	return ev_add(vm->ev, vm->signal_fd, EPOLLIN, on_signal, vm);
}

/*
 * Every 9P fid holds a host descriptor, and a guest's dentry cache keeps a
 * fid per entry it has seen: thousands for one `find`, past the 1,024 soft
 * limit a shell hands down (bench/9p ran out). The hard limit is ours to
 * take; each share still caps its fids (P9DEV_MAX_FIDS).
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open-files limit to %llu",
				 (unsigned long long)rl.rlim_max);
	}
}

int main(int argc, char **argv)
{
	struct options o;
	struct vm vm;
	struct boot_info bi;
	struct tty_state tty = {0};
	struct vm_devices devs = {0};
	int ret, status;

	/* A client of a running VM's control socket, not a VM. */
	if (argc >= 2 && !strcmp(argv[1], "--ctl"))
		return control_cli(argc - 2, argv + 2);
	parse_args(argc, argv, &o);
	/* A closed stdout ends the console's output, not lxs-vm. */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	/* Inputs first, so a typo is reported the same way on every host. */
	if (o.kernel && (ret = boot_probe(o.kernel)) < 0)
		exit(LXS_EXIT_VMM_ERROR);
	if (o.initrd && access(o.initrd, R_OK) < 0)
		fatal(LXS_EXIT_VMM_ERROR, "cannot read initrd %s", o.initrd);
	check_kvm(&o);
	if (o.sandbox.off)
		log_warnx(
		    "the sandbox is OFF (--no-sandbox): a guest that takes over one of lxs-vm's "
		    "threads can do anything this user can; use it only to debug lxs-vm");
	if ((ret = sandbox_prepare(&o.sandbox)) < 0) {
		errno = -ret;
		fatal(LXS_EXIT_VMM_ERROR, "cannot prepare the sandbox");
	}

	ret = vm_open(&vm, o.mem, o.cpus);
	if (ret < 0) {
		errno = -ret;
		fatal(LXS_EXIT_VMM_ERROR, "cannot create the VM (%llu MiB, %d vCPUs)",
		      (unsigned long long)(o.mem >> 20), o.cpus);
	}
	vm.sandbox = &o.sandbox;
	if ((ret = ev_create(&vm.ev)) < 0) {
		errno = -ret;
		fatal(LXS_EXIT_VMM_ERROR, "cannot create the event loop");
	}
	if ((ret = watch_signals(&vm)) < 0) {
		errno = -ret;
		fatal(LXS_EXIT_VMM_ERROR, "cannot watch for signals");
	}

	/* Devices. Each virtio device adds itself to the kernel command line. */
	if ((ret = vm_cmdline_add(&vm, "%s", BASE_CMDLINE)) < 0 ||
	    (ret = serial_create(&vm, STDOUT_FILENO)) < 0 ||
	    (ret = platform_create(&vm, STDOUT_FILENO)) < 0) {
		errno = -ret;
		fatal(LXS_EXIT_VMM_ERROR, "cannot set up the VM's devices");
	}
	add_devices(&vm, &o, &devs);
	if (o.control && (ret = control_create(&vm, &devs, o.control)) < 0) {
		errno = -ret;
		fatal(LXS_EXIT_VMM_ERROR, "cannot create the control socket %s", o.control);
	}
	/* The user's part goes last: anything after its "--" belongs to init. */
	if (vm_cmdline_add(&vm, " %s", o.cmdline) < 0)
		fatalx(LXS_EXIT_VMM_ERROR, "the kernel command line is too long (at most %d bytes)",
		       VM_CMDLINE_MAX - 1);
	log_info("kernel command line: %s", vm.cmdline);

	if (boot_load(&vm, o.kernel, o.initrd, &bi) < 0)
		exit(LXS_EXIT_VMM_ERROR);
	if ((ret = boot_setup_vcpus(&vm, &bi)) < 0) {
		errno = -ret;
		fatal(LXS_EXIT_VMM_ERROR, "cannot set up the vCPUs");
	}
	log_info("loaded %s (%s) in %.1f ms", o.kernel, bi.kind == BOOT_PVH ? "PVH" : "bzImage",
		 vm_uptime_ms(&vm));

	tty_raw(&tty);
	if ((ret = vm_start_vcpus(&vm)) < 0) {
		tty_restore(&tty);
		errno = -ret;
		fatal(LXS_EXIT_VMM_ERROR, "cannot start the vCPUs");
	}
	/* Every thread runs now (the vCPUs and 9P workers confined themselves): the last. */
	if ((ret = sandbox_enter(&o.sandbox, SANDBOX_MAIN)) < 0) {
		vm_request_exit(&vm, LXS_EXIT_VMM_ERROR);
		errno = -ret;
		log_warn("cannot enter the sandbox");
	}
	ret = ev_run(vm.ev);
	if (ret < 0) {
		errno = -ret;
		log_warn("event loop failed");
		vm_request_exit(&vm, LXS_EXIT_VMM_ERROR);
	}
	status = atomic_load(&vm.exit_status);
	/* For bench/boot: the VMM's own cost is its peak RSS minus this. */
	log_info("guest RAM resident at exit: %.1f MiB", vm_ram_resident(&vm) / 1048576.0);
	vm_close(&vm);
	ev_destroy(vm.ev);
	close(vm.signal_fd);
	tty_restore(&tty);
	log_info("exit status %d after %.1f ms", status, vm_uptime_ms(&vm));
	return status;
}
