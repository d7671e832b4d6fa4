/*
 * format.c - which tar compression a file name asks for. Apart from
 * export.c so that a caller that only names formats needs no libarchive.
 */
#include <string.h>
#include <strings.h>

#include "image/image.h"

enum image_tar_format image_tar_format_for(const char *path)
{
	static const struct {
		const char *suffix;
		enum image_tar_format f;
	} sfx[] = {{".tar.gz", IMAGE_TAR_GZ},    {".tgz", IMAGE_TAR_GZ},
		   {".tar.xz", IMAGE_TAR_XZ},    {".txz", IMAGE_TAR_XZ},
		   {".tar.zst", IMAGE_TAR_ZSTD}, {".tzst", IMAGE_TAR_ZSTD},
		   {".tar.zstd", IMAGE_TAR_ZSTD}};
	size_t i, len = path ? strlen(path) : 0;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t sl = strlen(sfx[i].suffix);

		if (len >= sl && !strcasecmp(path + len - sl, sfx[i].suffix))
			return sfx[i].f;
	}
	return IMAGE_TAR;
}
