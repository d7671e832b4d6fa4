/*
 * bus.h - dispatch of guest port I/O and MMIO exits to devices.
 *
 * A device claims [base, base + size) with two callbacks that receive the offset
 * inside its range. Accesses that no device claims read as all ones and are
 * ignored on write, as on real hardware. Ranges never overlap: bus_add refuses.
 * The bus is filled before the vCPUs start and read-only afterwards, so the
 * vCPU threads need no lock to look a device up; devices lock themselves.
 */
#ifndef LXS_BUS_H
#define LXS_BUS_H

#include <stdint.h>

#define BUS_MAX_RANGES 32

typedef void (*bus_read_fn)(void *opaque, uint64_t off, void *data, unsigned len);
typedef void (*bus_write_fn)(void *opaque, uint64_t off, const void *data, unsigned len);

struct bus_range {
	uint64_t base, size;
	bus_read_fn read;
	bus_write_fn write;
	void *opaque;
	const char *name;
};

struct bus {
	struct bus_range r[BUS_MAX_RANGES];
	int n;
};

/* 0, or -EEXIST for an overlap, -ENOSPC when full, -EINVAL for an empty range. */
int bus_add(struct bus *bus, uint64_t base, uint64_t size, bus_read_fn rd, bus_write_fn wr,
	    void *opaque, const char *name);

/* Returns 1 if a device took the access, 0 if none did (data then reads ~0). */
int bus_read(const struct bus *bus, uint64_t addr, void *data, unsigned len);
int bus_write(const struct bus *bus, uint64_t addr, const void *data, unsigned len);

#endif
