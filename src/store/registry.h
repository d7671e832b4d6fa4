/*
 * registry.h - the list of distributions a user has, one text file
 * (paths.h: data/registry), and the locks that keep lxs processes and lxsd
 * from stepping on one distro at the same time.
 *
 * Crash safety: the file only ever changes by writing a new file next to it,
 * fsyncing it, renaming it over the old one and fsyncing the folder, so a
 * crash or kill -9 at any moment leaves the old or the new registry, never a
 * mix. Read-modify-write cycles hold registry_lock() so two writers never
 * lose each other's change; readers need no lock.
 *
 * Per-distro locks (data/locks/NAME.lock, flock): importing, moving,
 * resizing and unregistering hold it exclusively, and so does lxsd for as
 * long as the distro runs (its image is mounted read-write in the VM);
 * export holds it shared. A lock dies with its process, so a killed lxs or
 * lxsd never leaves a distro locked.
 *
 * Functions return 0 or -errno and, where a sentence helps, fill err.
 */
#ifndef LXS_STORE_REGISTRY_H
#define LXS_STORE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "paths.h"

#define REG_NAME_MAX    64
#define REG_MAX_DISTROS 256
#define REG_FORMAT      "lxs-registry 1"

/*
 * version 2: `image` is an ext4 image run in the VM. version 1 (lxs-pico,
 * not yet available): `image` is the root filesystem folder.
 */
struct reg_distro {
	char name[REG_NAME_MAX + 1];
	char id[33];                 /* 128 random bits, hex */
	int version;                 /* 1 or 2 */
	char location[LXS_PATH_MAX]; /* the folder given at import */
	char image[LXS_PATH_MAX];
	char default_user[REG_NAME_MAX + 2]; /* "" = root; a name, or "#uid" */
};

struct registry {
	struct reg_distro *d;
	int n;
	char default_name[REG_NAME_MAX + 1];
	int default_version;
};

/*
 * A distro name: 1..64 of [A-Za-z0-9._-], starting with a letter or digit
 * (it is also a file name and the guest's container name).
 */
bool reg_name_ok(const char *name);

/* Read the registry (a missing file is an empty registry). registry_free after. */
int registry_load(const char *path, struct registry *r, char *err, size_t errlen);
void registry_free(struct registry *r);
/* Write the registry atomically (see above). */
int registry_save(const char *path, const struct registry *r, char *err, size_t errlen);

/* Serialise into / parse from a buffer: the file format, exposed for tests. */
char *registry_format(const struct registry *r, size_t *len);
int registry_parse(const char *text, size_t len, struct registry *r, char *err, size_t errlen);

struct reg_distro *registry_find(const struct registry *r, const char *name);
/* Add a copy of d (-EEXIST if the name is taken, case-insensitively as in WSL). */
int registry_add(struct registry *r, const struct reg_distro *d);
int registry_remove(struct registry *r, const char *name);

/* 32 hex digits of fresh randomness into id[33]. */
int registry_new_id(char id[33]);

/* Hold the registry's write lock (blocking): an fd to close when done. */
int registry_lock(const struct lxs_paths *p, char *err, size_t errlen);

/*
 * Take NAME's distro lock: exclusive or shared, never waiting for a real
 * holder (-EWOULDBLOCK when someone else holds it; a hold of a moment, such
 * as distro_locked's look, is waited out for a few ms). Returns the fd that
 * holds it.
 */
int distro_lock(const struct lxs_paths *p, const char *name, bool exclusive);
/* Whether someone holds NAME's lock exclusively right now (an import, a running distro). */
bool distro_locked(const struct lxs_paths *p, const char *name);
/*
 * Write into NAME's lock file (held by lock) the folder the operation writes
 * in, so that what it leaves there if killed is found later (leftovers_all);
 * a folder of NULL clears the note when the operation is over, so a note
 * nobody holds the lock for means an operation there was killed. forms: the
 * operation has checked that the distro forms it makes there (rootfs,
 * ext4.img) are not there already, so unregistered ones found after it was
 * killed are its own and may go (stale_forms_in); without it only its
 * temporaries are looked for, and a user's own files are never touched.
 */
int distro_lock_note(int lock, const char *folder, bool forms);
/*
 * The folder the held lock's file notes, if an operation that clears its
 * note when it ends wrote it (older lxs did not), else "".
 */
void distro_lock_noted(int lock, char *out, size_t len);

/*
 * Leftovers: the rootfs.tmp-* folders and ext4.img.tmp-* files that imports,
 * conversions and moves write in a distro folder and rename into place when
 * complete; a killed one leaves them (and the forms of stale_forms_in, and
 * registry.tmp-* beside the registry, which registry_save also removes).
 * Every writer of them holds the folder's own lock (folder_lock: flock on
 * the folder, exclusive, never waiting; the fd, or -EWOULDBLOCK), so a
 * sweeper that takes it deletes nothing that is still being written.
 */
struct leftovers {
	int count;
	uint64_t bytes; /* space they hold on disk, not their apparent size */
};
int folder_lock(const char *dir);
/* Count the leftovers in dir into *l (added to it); with remove, delete them too. */
int leftovers_in(const char *dir, bool remove, struct leftovers *l);
/*
 * The forms of a distro in dir (rootfs, a folder; ext4.img, a file) that no
 * registered distro uses, counted into *l and with remove deleted. Only for a
 * folder that a killed operation noted (distro_lock_note): there they are
 * what it left between putting a form in place and the registry write that
 * would use it (an import), or between switching the registry and removing
 * the old form (a conversion), never a user's own files.
 */
int stale_forms_in(const struct lxs_paths *p, const char *dir, bool remove, struct leftovers *l);
/*
 * Every folder that may hold leftovers: the registered distros' and the ones
 * noted in lock files, each of a name no operation holds. Counted into *l;
 * with remove, deleted where the folder's lock can be taken (lxsd at start),
 * without holding the distro's lock (leftovers_of says why).
 */
int leftovers_all(const struct lxs_paths *p, bool remove, struct leftovers *l);

#endif
