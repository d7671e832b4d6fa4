/*
 * testinit - a tiny static PID 1 for VM tests and the boot benchmark.
 *
 * It marks its first instruction on the debug port (so a VMM's time to init
 * can be measured from outside), prints a token line with the kernel version
 * and online CPU count, then does what "lxstest.action=" on the kernel
 * command line asks:
 *   poweroff (default)  power off with lxstest.code=N through the lxs power
 *                       port (and QEMU's isa-debug-exit at 0xf4, for the peer)
 *   reboot              announce a reboot on the power port
 *   kernel-reboot       reboot(2) without announcing it (reset line path)
 *   panic               crash the kernel through sysrq
 * lxstest.dmesg=1 prints the kernel's log buffer first (for diagnosing boots).
 * Works under lxs-vm and QEMU alike; needs no libc beyond musl, no shell.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/proto.h"

#define QEMU_DEBUG_EXIT 0xf4

static void mark_boot(void)
{
	const char *m = LXS_BOOT_MARK;

	while (*m)
		outb((unsigned char)*m++, LXS_PORT_DEBUGCON);
}

static void setup_console(void)
{
	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	int fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Value of "key=" on the kernel command line, copied into buf, or NULL. */
static const char *param(const char *key, char *buf, size_t len)
{
	char line[4096];
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, line, sizeof(line) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return NULL;
	line[n] = 0;
	size_t klen = strlen(key);
	for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
		if (!strncmp(tok, key, klen) && tok[klen] == '=') {
			snprintf(buf, len, "%s", tok + klen + 1);
			return buf;
		}
	}
	return NULL;
}

int main(void)
{
	char action[32] = "poweroff", code_s[16] = "0", dmesg[4] = "0";
	struct utsname u;

	/* Port access first: the boot mark must be the very first thing we do. */
	if (iopl(3) == 0)
		mark_boot();
	setup_console();
	param("lxstest.action", action, sizeof(action));
	param("lxstest.code", code_s, sizeof(code_s));
	int code = atoi(code_s);
	if (param("lxstest.dmesg", dmesg, sizeof(dmesg)) && dmesg[0] == '1') {
		static char log[1 << 18];
		int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log));

		if (n > 0 && write(1, log, (size_t)n) < 0)
			return 1;
	}

	uname(&u);
	printf("LXS-TEST-TOKEN kernel=%s cpus=%ld action=%s code=%d\n", u.release,
	       sysconf(_SC_NPROCESSORS_ONLN), action, code);
	fflush(stdout);
	sync();

	if (!strcmp(action, "panic")) {
		int fd = open("/proc/sysrq-trigger", O_WRONLY);

		if (fd >= 0 && write(fd, "c", 1) == 1)
			pause();
		return 1; /* init exiting panics the kernel too */
	}
	if (!strcmp(action, "kernel-reboot")) {
		reboot(RB_AUTOBOOT);
		return 1;
	}
	if (!strcmp(action, "reboot")) {
		outl(LXS_POWER_VALUE(LXS_POWER_REBOOT, 0), LXS_PORT_POWER);
		reboot(RB_AUTOBOOT);
		return 1;
	}
	outl(LXS_POWER_VALUE(LXS_POWER_OFF, code), LXS_PORT_POWER);
	outl((unsigned)code, QEMU_DEBUG_EXIT);
	reboot(RB_POWER_OFF);
	return 1;
}
