/*
 * platform.c - the guest's ways to leave and to talk before its drivers are
 * up: the debug console and power port of proto.h, and the two reset lines a
 * Linux kernel uses with reboot=k (the i8042 pulse) or reboot=p (port 0xcf9).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proto.h"
#include "platform.h"
#include "vm.h"

#define I8042_DATA      0x60
#define I8042_CMD       0x64
#define I8042_CMD_RESET 0xfe
#define RESET_CF9       0xcf9
#define CF9_RESET_CPU   0x04

struct platform {
	struct vm *vm;
	int debug_fd;
	atomic_bool boot_marked;
	atomic_bool warned_power;
};

static void debugcon_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	(void)opaque;
	(void)off;
	/* Reads back the port number: how guests detect a Bochs/QEMU debug port. */
	memset(data, LXS_PORT_DEBUGCON, len);
}

static void debugcon_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct platform *p = opaque;

	(void)off;
	if (!atomic_exchange(&p->boot_marked, true))
		log_info("boot timer: guest wrote its first debug byte after %.2f ms",
			 vm_uptime_ms(p->vm));
	if (write(p->debug_fd, data, len) < 0) {
		/* The debug stream is best effort. */
	}
}

static void power_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct platform *p = opaque;
	uint32_t v;

	if (off != 0 || len != 4) {
		if (!atomic_exchange(&p->warned_power, true))
			log_warnx("guest wrote %u bytes to the power port; it takes 32-bit writes",
				  len);
		return;
	}
	memcpy(&v, data, 4);
	unsigned action = (v >> 8) & 0xff, code = v & 0xff;
	if (v >> 16) {
		log_warnx("guest wrote %#x to the power port; ignored (high bits must be zero)", v);
		return;
	}
	switch (action) {
	case LXS_POWER_OFF:
		if (code > LXS_EXIT_GUEST_MAX) {
			log_warnx("guest powered off with code %u; reporting %d", code,
				  LXS_EXIT_GUEST_MAX);
			code = LXS_EXIT_GUEST_MAX;
		}
		log_info("guest powered off with code %u after %.1f ms", code, vm_uptime_ms(p->vm));
		vm_request_exit(p->vm, (int)code);
		break;
	case LXS_POWER_REBOOT:
		log_info("guest asked for a reboot after %.1f ms", vm_uptime_ms(p->vm));
		vm_request_exit(p->vm, LXS_EXIT_REBOOT);
		break;
	default:
		log_warnx("guest wrote an unknown action %u to the power port; ignored", action);
		break;
	}
}

static void i8042_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	(void)opaque;
	(void)off;
	/* Status 0: output buffer empty, input buffer empty, so kb_wait() ends. */
	memset(data, 0, len);
}

static void i8042_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct platform *p = opaque;

	(void)off;
	if (len == 1 && *(const uint8_t *)data == I8042_CMD_RESET)
		vm_guest_reset(p->vm);
}

static void cf9_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct platform *p = opaque;

	(void)off;
	if (len == 1 && (*(const uint8_t *)data & CF9_RESET_CPU))
		vm_guest_reset(p->vm);
}

static void cf9_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

int platform_create(struct vm *vm, int debug_fd)
{
	struct platform *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	p->debug_fd = debug_fd;
	if ((ret = vm_on_close(vm, free, p)) < 0) {
		free(p);
		return ret;
	}
	if ((ret = bus_add(&vm->pio, LXS_PORT_DEBUGCON, 1, debugcon_read, debugcon_write, p,
			   "debugcon")) < 0 ||
	    (ret = bus_add(&vm->pio, LXS_PORT_POWER, 4, NULL, power_write, p, "power")) < 0 ||
	    (ret = bus_add(&vm->pio, I8042_DATA, 1, i8042_read, NULL, p, "i8042-data")) < 0 ||
	    (ret = bus_add(&vm->pio, I8042_CMD, 1, i8042_read, i8042_write, p, "i8042")) < 0 ||
	    (ret = bus_add(&vm->pio, RESET_CF9, 1, cf9_read, cf9_write, p, "reset")) < 0) {
		return ret;
	}
	return 0;
}
