/*
 * size.h - sizes as people write them on command lines and in lxs.conf:
 * "4096", "512M", "8G", "1TB", "64GiB" (K, M, G, T are powers of 1024,
 * in either case, optionally followed by "i" and/or "B").
 */
#ifndef LXS_SIZE_H
#define LXS_SIZE_H

#include <stdint.h>

/* Parse s whole into *bytes. 0, or -EINVAL when malformed, negative or too large. */
int size_parse(const char *s, uint64_t *bytes);

#endif
