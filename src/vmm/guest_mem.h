/*
 * guest_mem.h - guest physical memory as seen by the VMM.
 *
 * Guest RAM is at most two host mappings: [0, low_size) and, when the guest
 * has more RAM than fits below the MMIO hole, [4 GiB, 4 GiB + high_size).
 * Every access the VMM makes on behalf of a guest-supplied address goes
 * through gm_ptr(), which is the single place that checks range and overflow:
 * a range that is not wholly inside one RAM region yields NULL.
 */
#ifndef LXS_GUEST_MEM_H
#define LXS_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_HIGH_BASE (1ULL << 32)

struct guest_mem {
	uint8_t *low;       /* host address of guest physical 0 */
	uint64_t low_size;  /* bytes of RAM below the MMIO hole */
	uint8_t *high;      /* host address of guest physical GM_HIGH_BASE, or NULL */
	uint64_t high_size; /* bytes of RAM from GM_HIGH_BASE */
};

/*
 * Host pointer to [gpa, gpa + len) if that whole range is guest RAM in one
 * region, else NULL. len 0 is allowed (a pointer for an empty range at a valid
 * address). Never overflows, whatever the arguments.
 */
static inline void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (gpa < gm->low_size) {
		if (len > gm->low_size - gpa)
			return NULL;
		return gm->low + gpa;
	}
	if (gm->high && gpa >= GM_HIGH_BASE) {
		uint64_t off = gpa - GM_HIGH_BASE;

		if (off < gm->high_size && len <= gm->high_size - off)
			return gm->high + off;
	}
	return NULL;
}

/* Total RAM in bytes. */
static inline uint64_t gm_total(const struct guest_mem *gm)
{
	return gm->low_size + gm->high_size;
}

#endif
