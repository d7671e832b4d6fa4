/*
 * Proves that /dev/kvm really runs guest code, not just that the device
 * exists: a one-vCPU VM in real mode executes
 *     mov $42, %al ; out %al, $0x10 ; hlt
 * and we must see a KVM_EXIT_IO carrying 42 on port 0x10, then KVM_EXIT_HLT.
 * Exit status 0 when all of that happened, 1 otherwise, with the failed step
 * on stderr. tests/rig/rig.sh --smoke builds this and runs it inside the rig.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_ADDR  0x1000
#define GUEST_SIZE  0x1000
#define OUT_PORT    0x10
#define OUT_VALUE   42
#define RUN_LIMIT_S 20

static const uint8_t guest_code[] = {
    0xb0, OUT_VALUE, /* mov $42, %al */
    0xe6, OUT_PORT,  /* out %al, $0x10 */
    0xf4,            /* hlt */
};

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmsmoke: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	int ret = ioctl(fd, req, arg);

	if (ret < 0)
		fail("%s failed: %s", what, strerror(errno));
	return ret;
}

/*
 * A KVM that only emulates (like kvm_pvm on a plain host) could take very
 * long; a clear failure beats a silent hang.
 */
static void on_alarm(int sig)
{
	static const char msg[] = "kvmsmoke: the guest did not finish within the time limit\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static double elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1e3 + (now.tv_nsec - start->tv_nsec) / 1e6;
}

static int create_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int api;

	if (kvm < 0)
		fail("cannot open /dev/kvm: %s", strerror(errno));
	api = xioctl(kvm, KVM_GET_API_VERSION, NULL, "KVM_GET_API_VERSION");
	if (api != KVM_API_VERSION)
		fail("KVM API version %d, expected %d", api, KVM_API_VERSION);
	return kvm;
}

static void add_guest_memory(int vm)
{
	void *mem =
	    mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .guest_phys_addr = GUEST_ADDR,
	    .memory_size = GUEST_SIZE,
	};

	if (mem == MAP_FAILED)
		fail("cannot allocate guest memory: %s", strerror(errno));
	memcpy(mem, guest_code, sizeof(guest_code));
	region.userspace_addr = (uintptr_t)mem;
	xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
}

/* Real mode with CS base 0, so RIP is the guest physical address. */
static void point_vcpu_at_code(int vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rip = GUEST_ADDR, .rflags = 0x2};

	xioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	xioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	xioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

static void expect_port_write(int vcpu, struct kvm_run *run)
{
	const uint8_t *data;

	xioctl(vcpu, KVM_RUN, NULL, "KVM_RUN");
	if (run->exit_reason != KVM_EXIT_IO)
		fail("first exit was reason %u, expected KVM_EXIT_IO (%u)", run->exit_reason,
		     KVM_EXIT_IO);
	data = (const uint8_t *)run + run->io.data_offset;
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != OUT_PORT || run->io.size != 1 ||
	    run->io.count != 1 || data[0] != OUT_VALUE)
		fail("saw I/O dir %u port %#x size %u count %u value %u, expected an out of %d to "
		     "port %#x",
		     run->io.direction, run->io.port, run->io.size, run->io.count, data[0],
		     OUT_VALUE, OUT_PORT);
}

static void expect_halt(int vcpu, struct kvm_run *run)
{
	xioctl(vcpu, KVM_RUN, NULL, "KVM_RUN");
	if (run->exit_reason != KVM_EXIT_HLT)
		fail("second exit was reason %u, expected KVM_EXIT_HLT (%u)", run->exit_reason,
		     KVM_EXIT_HLT);
}

int main(void)
{
	struct timespec start;
	struct kvm_run *run;
	int kvm, vm, vcpu, run_size;

	signal(SIGALRM, on_alarm);
	alarm(RUN_LIMIT_S);
	clock_gettime(CLOCK_MONOTONIC, &start);

	kvm = create_vm();
	vm = xioctl(kvm, KVM_CREATE_VM, NULL, "KVM_CREATE_VM");
	add_guest_memory(vm);
	vcpu = xioctl(vm, KVM_CREATE_VCPU, NULL, "KVM_CREATE_VCPU");
	run_size = xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, NULL, "KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		fail("cannot map the vCPU's kvm_run: %s", strerror(errno));
	point_vcpu_at_code(vcpu);
	expect_port_write(vcpu, run);
	expect_halt(vcpu, run);

	printf("%s (%.1f ms)\n",
	       getenv("LXS_IN_RIG") ? "rig: KVM works inside" : "kvmsmoke: KVM works",
	       elapsed_ms(&start));
	return 0;
}
