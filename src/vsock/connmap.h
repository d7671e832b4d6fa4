/*
 * connmap.h - the vsock connection table: an intrusive hash table keyed by
 * (local port, peer port).
 *
 * What this header promises:
 *  - Lookups cost O(1) on average whatever ports the guest picks: the hash
 *    is keyed by a per-table random seed, so a guest cannot choose ports
 *    that all land in one bucket.
 *  - The table grows as entries are added (load factor <= 1 when memory
 *    allows). A failed grow is not an error: the table keeps working with
 *    longer chains, so insertion only fails on a duplicate key.
 *  - Nodes are embedded in the caller's objects and never allocated or
 *    freed here. Not thread-safe: the caller serialises (the device lock).
 */
#ifndef LXS_VSOCK_CONNMAP_H
#define LXS_VSOCK_CONNMAP_H

#include <stddef.h>
#include <stdint.h>

struct vsock_map_node {
	struct vsock_map_node *next;
	uint64_t key;
};

struct vsock_map {
	struct vsock_map_node **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	uint64_t seed;
};

static inline uint64_t vsock_map_key(uint32_t local_port, uint32_t peer_port)
{
	return (uint64_t)local_port << 32 | peer_port;
}

/* Returns 0 or -ENOMEM. */
int vsock_map_init(struct vsock_map *m, uint64_t seed);
/* Frees the buckets; the nodes still in the table are the caller's. */
void vsock_map_fini(struct vsock_map *m);

struct vsock_map_node *vsock_map_find(const struct vsock_map *m, uint64_t key);
/* Add n with key `key`. Returns 0, or -EEXIST if the key is present. */
int vsock_map_insert(struct vsock_map *m, struct vsock_map_node *n, uint64_t key);
/* Remove n, which must be in the table. */
void vsock_map_remove(struct vsock_map *m, struct vsock_map_node *n);

#endif
