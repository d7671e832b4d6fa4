/*
 * tmpfile.c - write-new-then-rename temporaries that a killed writer does not
 * leave behind for good (see tmpfile.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmpfile.h"

void tmp_sweep(const char *file)
{
	tmp_leftovers(file, true, NULL, NULL);
}

void tmp_leftovers(const char *file, bool remove, int *count, uint64_t *bytes)
{
	char dir[4096], prefix[512];
	const char *slash = strrchr(file, '/');
	const char *base = slash ? slash + 1 : file;
	struct dirent *e;
	DIR *d;

	if (slash && slash == file)
		snprintf(dir, sizeof(dir), "/");
	else if (slash && (size_t)(slash - file) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	else if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		return;
	if ((size_t)snprintf(prefix, sizeof(prefix), "%s.tmp-", base) >= sizeof(prefix) ||
	    !(d = opendir(dir)))
		return;
	size_t plen = strlen(prefix);
	while ((e = readdir(d))) {
		struct stat st;

		/* Ours have six random characters after the prefix, and maybe a suffix. */
		if (strncmp(e->d_name, prefix, plen) || strlen(e->d_name) < plen + 6)
			continue;
		int fd =
		    openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* A writer holds its own: only a dead one's lock can be taken. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (count)
				(*count)++;
			if (bytes)
				*bytes += (uint64_t)st.st_blocks * 512;
			if (remove)
				unlinkat(dirfd(d), e->d_name, 0);
		}
		close(fd);
	}
	closedir(d);
}

int tmp_create(char *tmpl, int suffixlen)
{
	char *mark = NULL;
	int fd, ret;

	/* The last one: a folder on the way may have ".tmp-" in its name too. */
	for (char *m = tmpl; (m = strstr(m, ".tmp-")); m++)
		mark = m;

	if (mark) {
		char file[4096];

		snprintf(file, sizeof(file), "%.*s", (int)(mark - tmpl), tmpl);
		tmp_sweep(file);
	}
	if ((fd = mkostemps(tmpl, suffixlen, O_CLOEXEC)) < 0)
		return -errno;
	/*
	 * Between mkostemps and flock another writer's sweep could take it for
	 * dead; then our rename fails and says so, nothing is lost.
	 */
	if (flock(fd, LOCK_EX) < 0) {
		ret = -errno;
		unlink(tmpl);
		close(fd);
		return ret;
	}
	return fd;
}
