/* dirs.c - see dirs.h. */
#include "dirs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

int mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	struct stat st;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *s = buf + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = 0;
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -errno;
			*s = c;
			if (!c)
				break;
		}
	}
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
