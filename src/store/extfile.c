/*
 * extfile.c - small files read from an ext4 image on the host with
 * libext2fs (extfile.h), for wsl.conf and passwd while nothing mounts the
 * image. Read-only: it must never write an image.
 */
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extfile.h"

long extfile_read(const char *image, const char *path, size_t max, char **out)
{
	ext2_filsys fs = NULL;
	ext2_file_t f = NULL;
	ext2_ino_t ino;
	char *buf = NULL;
	long ret;

	*out = NULL;
	if (ext2fs_open2(image, NULL, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs))
		return -EIO;
	/* follow: symlinks in the name and at its end, resolved inside the image. */
	if (ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino)) {
		ret = -ENOENT;
		goto out;
	}
	if (ext2fs_file_open(fs, ino, 0, &f)) {
		ret = -EIO;
		goto out;
	}
	__u64 size = 0;
	if (ext2fs_file_get_lsize(f, &size)) {
		ret = -EIO;
		goto out;
	}
	if (size > max) {
		ret = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	unsigned got = 0;
	if (size && ext2fs_file_read(f, buf, (unsigned)size, &got)) {
		ret = -EIO;
		goto out;
	}
	buf[got] = 0;
	*out = buf;
	buf = NULL;
	ret = (long)got;
out:
	free(buf);
	if (f)
		ext2fs_file_close(f);
	ext2fs_close_free(&fs);
	return ret;
}

int extfile_check_image(const char *image)
{
	unsigned char sb[2];
	int fd = open(image, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, sb, sizeof(sb), 1024 + 56);
	close(fd);
	if (n != 2 || sb[0] != 0x53 || sb[1] != 0xef)
		return -EINVAL;
	return 0;
}
