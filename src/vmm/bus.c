#include "bus.h"

#include <errno.h>
#include <string.h>

int bus_add(struct bus *bus, uint64_t base, uint64_t size, bus_read_fn rd, bus_write_fn wr,
	    void *opaque, const char *name)
{
	if (size == 0 || base + size < base)
		return -EINVAL;
	if (bus->n == BUS_MAX_RANGES)
		return -ENOSPC;
	for (int i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->r[i];

		if (base < r->base + r->size && r->base < base + size)
			return -EEXIST;
	}
	bus->r[bus->n++] = (struct bus_range){base, size, rd, wr, opaque, name};
	return 0;
}

/* The range wholly containing [addr, addr + len), or NULL. */
static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, unsigned len)
{
	for (int i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->r[i];

		if (addr >= r->base && addr - r->base < r->size &&
		    len <= r->size - (addr - r->base))
			return r;
	}
	return NULL;
}

int bus_read(const struct bus *bus, uint64_t addr, void *data, unsigned len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	memset(data, 0xff, len);
	if (!r || !r->read)
		return 0;
	r->read(r->opaque, addr - r->base, data, len);
	return 1;
}

int bus_write(const struct bus *bus, uint64_t addr, const void *data, unsigned len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->write)
		return 0;
	r->write(r->opaque, addr - r->base, data, len);
	return 1;
}
