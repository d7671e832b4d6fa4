/*
 * fuzz_util.h - small helpers shared by the fuzz targets: a byte reader
 * that never runs past the input (missing bytes read as 0), CHECK, and the seed
 * corpus convention of run.sh (LXS_FUZZ_SEED_DIR names the target's corpus;
 * seeds are written only when it is empty).
 */
#ifndef LXS_FUZZ_UTIL_H
#define LXS_FUZZ_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property broken: say which, and abort so that libFuzzer keeps the input.
 * Each target defines FUZZ_NAME before including this file. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s: check failed: %s (line %d)\n", FUZZ_NAME, #cond,      \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct fz {
	const uint8_t *p;
	size_t n, off;
};

static inline int fz_left(const struct fz *f)
{
	return f->off < f->n;
}

static inline uint8_t fz_u8(struct fz *f)
{
	return f->off < f->n ? f->p[f->off++] : 0;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | (uint16_t)fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t lo = fz_u16(f);

	return lo | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t lo = fz_u32(f);

	return lo | (uint64_t)fz_u32(f) << 32;
}

/* The corpus directory to seed, or NULL when unset or not empty. */
static inline const char *fz_seed_dir(void)
{
	const char *d = getenv("LXS_FUZZ_SEED_DIR");
	DIR *dir;
	struct dirent *e;
	int empty = 1;

	if (!d || !*d || !(dir = opendir(d)))
		return NULL;
	while (empty && (e = readdir(dir)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(dir);
	return empty ? d : NULL;
}

static inline void fz_write_seed(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	if ((f = fopen(path, "wb"))) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

#endif
