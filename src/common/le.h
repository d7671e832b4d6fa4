/*
 * le.h - little-endian loads and stores at any alignment, for the wire and
 * on-disk formats the host and guest share (virtio, vsock, the boot
 * protocol). memcpy keeps them free of alignment and aliasing traps; the
 * compiler turns each into a single move. lxs only runs on little-endian
 * hosts, so no byte swapping is needed, and this says so at compile time.
 */
#ifndef LXS_LE_H
#define LXS_LE_H

#include <stdint.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lxs runs on little-endian hosts only"
#endif

static inline uint16_t le_get16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t le_get32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t le_get64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void le_put16(void *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void le_put32(void *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void le_put64(void *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

#endif
