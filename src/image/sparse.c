/*
 * sparse.c - giving the host back the blocks of an image file that hold
 * only zeros (a file system grown by resize2fs, a copy that kept no holes).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"

#define BLOCK 4096u
#define CHUNK (1u << 20)

static bool all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[BLOCK];

	return !memcmp(p, zero, n);
}

/* Punches [start, end) if it is not empty; adds what it gave back to *freed. */
static int punch(int fd, off_t start, off_t end, uint64_t *freed)
{
	if (end <= start)
		return 0;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, start, end - start) < 0)
		return -errno;
	*freed += (uint64_t)(end - start);
	return 0;
}

int image_make_sparse(const char *path, uint64_t *freed, char *err, size_t errlen)
{
	uint64_t gave = 0;
	uint8_t *buf = NULL;
	off_t data, hole, run = -1;
	struct stat st;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the image %s: %s", path, strerror(errno));
		goto out;
	}
	if (!(buf = malloc(CHUNK))) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory reading %s", path);
		goto out;
	}
	/* Only the data extents are read: a mostly sparse image costs little. */
	for (data = lseek(fd, 0, SEEK_DATA); data >= 0 && data < st.st_size;
	     data = lseek(fd, hole, SEEK_DATA)) {
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		data -= data % BLOCK;
		for (off_t pos = data; pos < hole;) {
			size_t want = hole - pos < (off_t)CHUNK ? (size_t)(hole - pos) : CHUNK;
			ssize_t n = pread(fd, buf, want, pos);

			if (n <= 0) {
				ret = n < 0 ? -errno : -EIO;
				snprintf(err, errlen, "cannot read the image %s: %s", path,
					 strerror(-ret));
				goto out;
			}
			for (size_t i = 0; i < (size_t)n; i += BLOCK) {
				size_t len = (size_t)n - i < BLOCK ? (size_t)n - i : BLOCK;
				bool zero = len == BLOCK && all_zero(buf + i, len);

				if (zero && run < 0)
					run = pos + (off_t)i;
				if (!zero && run >= 0) {
					if ((ret = punch(fd, run, pos + (off_t)i, &gave)) < 0)
						goto punch_failed;
					run = -1;
				}
			}
			pos += n;
		}
		if (run >= 0 && (ret = punch(fd, run, hole, &gave)) < 0)
			goto punch_failed;
		run = -1;
	}
	if (data < 0 && errno != ENXIO) {
		ret = -errno;
		snprintf(err, errlen, "cannot read the image %s: %s", path, strerror(errno));
	}
	goto out;
punch_failed:
	snprintf(err, errlen, "cannot give back the unused space of %s: %s", path, strerror(-ret));
out:
	if (freed)
		*freed = gave;
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}
