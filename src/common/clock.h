/*
 * clock.h - the one monotonic clock lxs's programs time things with:
 * milliseconds that never jump with the wall clock. Shared by the host
 * programs and lxs-init (static musl).
 */
#ifndef LXS_CLOCK_H
#define LXS_CLOCK_H

#include <stdint.h>

int64_t now_ms(void);

#endif
