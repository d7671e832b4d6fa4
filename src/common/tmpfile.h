/*
 * tmpfile.h - the temporary files that become a file by rename (an export,
 * a copied image, a new image): FILE.tmp-XXXXXX[SUFFIX], made next to FILE.
 * Their writer holds an flock on them for as long as it writes, so the lock
 * dies with it: a temporary nobody holds is one a killed writer left, and
 * the next writer of the same FILE removes it (tmp_create), as it removes
 * whatever else such writers left beside FILE.
 */
#ifndef LXS_COMMON_TMPFILE_H
#define LXS_COMMON_TMPFILE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * tmpl ends in "XXXXXX" followed by suffixlen more characters (mkostemps);
 * FILE is tmpl up to ".tmp-". Removes the dead temporaries of FILE, then
 * makes a new one (O_CLOEXEC, mode 0600) and locks it: the fd, or -errno.
 */
int tmp_create(char *tmpl, int suffixlen);

/* Remove FILE.tmp-* beside file that no live writer holds. */
void tmp_sweep(const char *file);
/*
 * The same ones counted (into *count and *bytes, the space they hold; either
 * may be NULL), and with remove deleted: for reports such as lxs --status.
 */
void tmp_leftovers(const char *file, bool remove, int *count, uint64_t *bytes);

#endif
