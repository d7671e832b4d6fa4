/*
 * connmap.c - chained hash table of vsock connections. See connmap.h.
 */
#include "vsock/connmap.h"

#include <errno.h>
#include <stdlib.h>

#define MAP_MIN_BUCKETS 64

/* splitmix64's finaliser: every key bit affects every bucket bit. */
static size_t bucket_of(const struct vsock_map *m, uint64_t key)
{
	uint64_t z = key ^ m->seed;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (size_t)z & (m->nbuckets - 1);
}

int vsock_map_init(struct vsock_map *m, uint64_t seed)
{
	m->buckets = calloc(MAP_MIN_BUCKETS, sizeof(*m->buckets));
	if (!m->buckets)
		return -ENOMEM;
	m->nbuckets = MAP_MIN_BUCKETS;
	m->count = 0;
	m->seed = seed;
	return 0;
}

void vsock_map_fini(struct vsock_map *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}

struct vsock_map_node *vsock_map_find(const struct vsock_map *m, uint64_t key)
{
	struct vsock_map_node *n;

	for (n = m->buckets[bucket_of(m, key)]; n; n = n->next)
		if (n->key == key)
			return n;
	return NULL;
}

static void grow(struct vsock_map *m)
{
	struct vsock_map_node **old = m->buckets;
	size_t oldn = m->nbuckets, i;

	if (oldn > SIZE_MAX / 2 / sizeof(*old))
		return;
	m->buckets = calloc(oldn * 2, sizeof(*old));
	if (!m->buckets) {
		/* Keep the old table: slower, still correct. */
		m->buckets = old;
		return;
	}
	m->nbuckets = oldn * 2;
	for (i = 0; i < oldn; i++) {
		while (old[i]) {
			struct vsock_map_node *n = old[i];
			size_t b = bucket_of(m, n->key);

			old[i] = n->next;
			n->next = m->buckets[b];
			m->buckets[b] = n;
		}
	}
	free(old);
}

int vsock_map_insert(struct vsock_map *m, struct vsock_map_node *n, uint64_t key)
{
	size_t b;

	if (vsock_map_find(m, key))
		return -EEXIST;
	if (m->count >= m->nbuckets)
		grow(m);
	n->key = key;
	b = bucket_of(m, key);
	n->next = m->buckets[b];
	m->buckets[b] = n;
	m->count++;
	return 0;
}

void vsock_map_remove(struct vsock_map *m, struct vsock_map_node *n)
{
	struct vsock_map_node **pp;

	for (pp = &m->buckets[bucket_of(m, n->key)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			m->count--;
			return;
		}
	}
}
