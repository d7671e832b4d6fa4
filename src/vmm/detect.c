#include "detect.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CALIBRATE_LIMIT_MS 250
#define GUEST_CODE_GPA     0x1000

/* mov ecx, 1000000; 1: dec ecx; jnz 1b; hlt   (16-bit real mode) */
static const unsigned char calibrate_code[] = {
    0x66, 0xb9, 0x40, 0x42, 0x0f, 0x00, 0x66, 0x49, 0x75, 0xfc, 0xf4,
};

static void on_alarm(int sig)
{
	(void)sig;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Runs the loop; returns its time in ms, a negative errno, or +inf on timeout. */
static int run_loop(int kvm, double *ms)
{
	int vm = -1, cpu = -1, ret;
	void *mem = MAP_FAILED, *run = MAP_FAILED;
	long run_size = 0;
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	struct itimerval timer = {.it_value = {0, CALIBRATE_LIMIT_MS * 1000}};
	struct itimerval off = {0};

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return -errno;
	mem = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	memcpy((char *)mem + GUEST_CODE_GPA, calibrate_code, sizeof(calibrate_code));
	struct kvm_userspace_memory_region r = {.memory_size = 0x2000,
						.userspace_addr = (uintptr_t)mem};
	cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 || cpu < 0 || run_size <= 0) {
		ret = -errno;
		goto out;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	struct kvm_sregs s;
	if (run == MAP_FAILED || ioctl(cpu, KVM_GET_SREGS, &s) < 0) {
		ret = -errno;
		goto out;
	}
	s.cs.base = 0;
	s.cs.selector = 0;
	struct kvm_regs regs = {.rip = GUEST_CODE_GPA, .rflags = 2};
	if (ioctl(cpu, KVM_SET_SREGS, &s) < 0 || ioctl(cpu, KVM_SET_REGS, &regs) < 0) {
		ret = -errno;
		goto out;
	}

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &timer, NULL);
	double t0 = now_ms();
	int rc = ioctl(cpu, KVM_RUN, 0);
	int err = errno;
	double t1 = now_ms();
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);

	if (rc < 0 && err == EINTR) {
		*ms = 1.0 / 0.0;
		ret = 0;
	} else if (rc < 0) {
		ret = -err;
	} else if (((struct kvm_run *)run)->exit_reason != KVM_EXIT_HLT) {
		ret = -EIO;
	} else {
		*ms = t1 - t0;
		ret = 0;
	}
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (cpu >= 0)
		close(cpu);
	if (mem != MAP_FAILED)
		munmap(mem, 0x2000);
	close(vm);
	return ret;
}

enum kvm_speed kvm_detect_speed(double *loop_ms, char *why, size_t whylen)
{
	static const char *const advice =
	    "run lxs on a host with hardware virtualization (Intel VT-x or AMD-V "
	    "exposed to it), or run the VM tests through the nested-KVM rig "
	    "(tests/rig/rig.sh)";
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	enum kvm_speed speed = KVM_FAST;

	*loop_ms = 0;
	if (kvm < 0) {
		snprintf(why, whylen,
			 "cannot open /dev/kvm (%s); load kvm_intel or kvm_amd and make sure "
			 "you may use /dev/kvm (the kvm group)",
			 strerror(errno));
		return KVM_MISSING;
	}
	if (getenv("LXS_TEST_NO_PVM_CHECK") == NULL && access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(why, whylen,
			 "/dev/kvm on this host is served by kvm_pvm, a software hypervisor that "
			 "emulates a normal guest at about 2 million instructions per second, so "
			 "Linux cannot boot on it; %s",
			 advice);
		speed = KVM_SLOW;
		goto out;
	}
	int ret = run_loop(kvm, loop_ms);
	if (ret < 0) {
		snprintf(why, whylen, "/dev/kvm cannot run a test guest (%s); %s", strerror(-ret),
			 advice);
		speed = KVM_MISSING;
	} else if (*loop_ms > CALIBRATE_LIMIT_MS * 0.8) {
		snprintf(
		    why, whylen,
		    "/dev/kvm on this host runs guest code by emulation (a million-step "
		    "loop took over %d ms instead of about 1 ms), so Linux cannot boot on it; %s",
		    CALIBRATE_LIMIT_MS, advice);
		speed = KVM_SLOW;
	}
out:
	close(kvm);
	return speed;
}
