/*
 * distro.c - what changes a user's set of distros (distro.h): import from a
 * tarball or an image, export, unregister, defaults, move, resize, version
 * conversion, each crash-safe through the registry's rules. Must not run
 * sessions or talk to lxsd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/posix_const.h"
#include "common/tmpfile.h"
#include "distro.h"
#include "extfile.h"
#include "v1.h"

/* Start a read-modify-write of the registry: the lock fd, with r loaded. */
static int reg_begin(const struct lxs_paths *p, struct registry *r, char *err, size_t errlen)
{
	int lock = registry_lock(p, err, errlen), ret;

	if (lock < 0)
		return lock;
	if ((ret = registry_load(p->registry, r, err, errlen)) < 0) {
		close(lock);
		return ret;
	}
	return lock;
}

static int reg_end(const struct lxs_paths *p, struct registry *r, int lock, bool save, char *err,
		   size_t errlen)
{
	int ret = save ? registry_save(p->registry, r, err, errlen) : 0;

	registry_free(r);
	close(lock);
	return ret;
}

static int not_found(const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "there is no distribution named %s; see lxs --list", name);
	return -ENOENT;
}

/* reg_begin, then name's entry in *d; with none, the registry is let go and -ENOENT said. */
static int reg_begin_find(const struct lxs_paths *p, struct registry *r, const char *name,
			  struct reg_distro **d, char *err, size_t errlen)
{
	int lock = reg_begin(p, r, err, errlen);

	if (lock < 0)
		return lock;
	if (!(*d = registry_find(r, name))) {
		reg_end(p, r, lock, false, err, errlen);
		return not_found(name, err, errlen);
	}
	return lock;
}

/* A copy of name's registry entry, or -ENOENT with not_found's sentence. */
static int lookup(const struct lxs_paths *p, const char *name, struct reg_distro *out, char *err,
		  size_t errlen)
{
	struct registry r;
	int ret = registry_load(p->registry, &r, err, errlen);

	if (ret < 0)
		return ret;
	struct reg_distro *d = registry_find(&r, name);
	if (d)
		*out = *d;
	registry_free(&r);
	return d ? 0 : not_found(name, err, errlen);
}

static int busy(const char *name, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s is running or busy with another lxs (import, export, move); %s",
		 name, what);
	return -EBUSY;
}

/* Names, folders and files lxs stores one per line, so they must not hold a newline. */
static bool storable(const char *s)
{
	return !strchr(s, '\n') && !strchr(s, '\r');
}

static int check_new_name(const struct lxs_paths *p, const char *name, char *err, size_t errlen)
{
	struct registry r;
	int ret;

	if (!reg_name_ok(name)) {
		snprintf(err, errlen,
			 "'%.80s%s' is not a valid distribution name; use 1 to %d letters, digits, "
			 "'.', '_' or '-', starting with a letter or digit",
			 name, strlen(name) > 80 ? "..." : "", REG_NAME_MAX);
		return -EINVAL;
	}
	if ((ret = registry_load(p->registry, &r, err, errlen)) < 0)
		return ret;
	ret = registry_find(&r, name) ? -EEXIST : 0;
	registry_free(&r);
	if (ret)
		snprintf(err, errlen,
			 "a distribution named %s already exists; pick another name or lxs "
			 "--unregister it first",
			 name);
	return ret;
}

/* Add d to the registry (first one becomes the default): the last step of an import. */
static int register_distro(const struct lxs_paths *p, const struct reg_distro *d, char *err,
			   size_t errlen)
{
	struct registry r;
	int lock = reg_begin(p, &r, err, errlen), ret;

	if (lock < 0)
		return lock;
	for (int i = 0; i < r.n; i++) {
		if (!strcmp(r.d[i].image, d->image)) {
			snprintf(err, errlen, "distribution %s already uses %s", r.d[i].name,
				 d->image);
			reg_end(p, &r, lock, false, err, errlen);
			return -EEXIST;
		}
	}
	if ((ret = registry_add(&r, d)) < 0) {
		snprintf(err, errlen,
			 ret == -EEXIST
			     ? "a distribution named %s was registered meanwhile; pick another name"
			     : "cannot add %s: the registry is full",
			 d->name);
		reg_end(p, &r, lock, false, err, errlen);
		return ret;
	}
	if (!r.default_name[0] || !registry_find(&r, r.default_name))
		snprintf(r.default_name, sizeof(r.default_name), "%s", d->name);
	return reg_end(p, &r, lock, true, err, errlen);
}

struct import_cb {
	const struct import_opts *o;
	char first_skip[256];
	uint64_t skipped;
};

/*
 * Entries the image library had to skip (a name too long for ext4, a hard
 * link to a folder, an unknown type) make the whole tarball suspect: the
 * import stops and leaves nothing behind rather than register a distro with
 * holes in it. Hostile entries (common/tar_rules.h) fail in the library.
 */
static int import_progress(const struct image_progress *ip, void *arg)
{
	struct import_cb *x = arg;

	if (ip->skipped > x->skipped) {
		x->skipped = ip->skipped;
		if (!x->first_skip[0])
			snprintf(x->first_skip, sizeof(x->first_skip), "%s",
				 ip->warning ? ip->warning : "an entry was skipped");
		return 1;
	}
	return x->o->progress ? x->o->progress(ip, x->o->progress_arg) : 0;
}

static int copy_sparse(int in, int out, bool seekable, char *err, size_t errlen);

/*
 * Hold dir's folder lock for an operation that writes its temporary forms
 * there (registry.h, leftovers), note dir in the distro's lock so that a
 * killed operation's leftovers are found, and remove what killed ones left:
 * the lock's fd, or -errno with one sentence in err. release_folder ends it.
 */
static int own_folder(const struct lxs_paths *p, int lock, const char *dir, char *err,
		      size_t errlen)
{
	char noted[LXS_PATH_MAX];
	struct leftovers l = {0};
	int fd = folder_lock(dir);

	if (fd < 0) {
		snprintf(err, errlen,
			 "another lxs is writing in %s right now; wait for it or choose another "
			 "folder",
			 dir);
		return fd == -EWOULDBLOCK ? -EBUSY : fd;
	}
	/*
	 * The last operation on this distro was killed while it wrote here: the
	 * forms it left unregistered go too (an import killed between its
	 * rename and its registry write, a conversion before it removed the
	 * old form), or they would block this one or stay for good.
	 */
	distro_lock_noted(lock, noted, sizeof(noted));
	if (!strcmp(noted, dir))
		stale_forms_in(p, dir, true, &l);
	/* Temporaries only, until the operation has checked its forms (distro_lock_note). */
	distro_lock_note(lock, dir, false);
	leftovers_in(dir, true, &l);
	return fd;
}

/* The operation own_folder began is over, done or failed and cleaned up: nothing to find. */
static void release_folder(int lock, int folder)
{
	if (folder < 0)
		return;
	distro_lock_note(lock, NULL, false);
	close(folder);
}

/*
 * Copy the open file in (holes kept) to dest by write-new-then-rename: dest
 * is either as it was or complete and on disk. One sentence in err on failure.
 */
static int copy_file_atomically(int in, const char *dest, mode_t mode, char *err, size_t errlen)
{
	char tmp[LXS_PATH_MAX];
	int out = -1, ret;

	if ((ret = path_fmt(tmp, sizeof(tmp), "%s.tmp-XXXXXX", dest)) < 0 ||
	    (ret = out = tmp_create(tmp, 0)) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", dest, strerror(-ret));
		return ret;
	}
	ret = copy_sparse(in, out, true, err, errlen);
	if (ret == 0 && (fchmod(out, mode) < 0 || fsync(out) < 0 || rename(tmp, dest) < 0)) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", dest, strerror(errno));
	}
	if (ret < 0)
		unlink(tmp);
	close(out);
	return ret;
}

/* --import --vhd: an ext4 image copied (holes kept) to image, by write-new-then-rename. */
static int copy_image_in(const char *file, const char *image, char *err, size_t errlen)
{
	int in, ret;

	if (!strcmp(file, "-")) {
		snprintf(err, errlen, "--vhd needs an image file, not stdin");
		return -EINVAL;
	}
	if ((ret = extfile_check_image(file)) < 0) {
		snprintf(err, errlen,
			 "%s is not an ext4 image; without --vhd, --import takes a tarball", file);
		return ret == -ENOENT ? ret : -EINVAL;
	}
	if ((in = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot copy %s: %s", file, strerror(errno));
		return ret;
	}
	ret = copy_file_atomically(in, image, 0600, err, errlen);
	close(in);
	return ret;
}

/*
 * Version 1: lxs-pico unpacks into a temporary folder inside dir, which is
 * renamed to dir/rootfs only when complete and registered only after that,
 * so a killed import leaves no half distro registered.
 */
static int import_v1(const struct lxs_paths *p, const struct import_opts *o, int lock,
		     const char *real, struct reg_distro *d, char *err, size_t errlen)
{
	char root[LXS_PATH_MAX], tmp[LXS_PATH_MAX];
	struct stat st;
	int ret;

	if ((ret = path_fmt(root, sizeof(root), "%s/" V1_ROOT_NAME, real)) < 0) {
		snprintf(err, errlen, "the install folder's name is too long");
		return ret;
	}
	if (lstat(root, &st) == 0) {
		snprintf(err, errlen, "%s already holds a distribution (%s); choose another folder",
			 real, V1_ROOT_NAME);
		return -EEXIST;
	}
	if (path_fmt(tmp, sizeof(tmp), "%s/" DISTRO_IMAGE_NAME, real) < 0 ||
	    access(tmp, F_OK) == 0) {
		snprintf(err, errlen,
			 "%s already holds a distribution image (%s); choose another folder", real,
			 DISTRO_IMAGE_NAME);
		return -EEXIST;
	}
	/* Neither form was here: what a kill leaves now is ours to remove. */
	distro_lock_note(lock, real, true);
	if ((ret = v1_unpack_tmp(p, o->file, o->in_fd, real, tmp, sizeof(tmp), o->progress,
				 o->progress_arg, err, errlen)) < 0)
		return ret;
	if (rename(tmp, root) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", root, strerror(errno));
		v1_remove_tree(tmp);
		return ret;
	}
	snprintf(d->name, sizeof(d->name), "%s", o->name);
	snprintf(d->location, sizeof(d->location), "%s", real);
	snprintf(d->image, sizeof(d->image), "%s", root);
	if ((ret = registry_new_id(d->id)) < 0 || (ret = register_distro(p, d, err, errlen)) < 0) {
		v1_remove_tree(root);
		return ret;
	}
	return 0;
}

int distro_import(const struct lxs_paths *p, const struct import_opts *o, char *err, size_t errlen)
{
	char dir[LXS_PATH_MAX], image[LXS_PATH_MAX], real[PATH_MAX];
	struct reg_distro d = {.version = 2};
	struct stat st;
	bool made_dir = false;
	int lock = -1, folder = -1, ret;

	if ((ret = check_new_name(p, o->name, err, errlen)) < 0)
		return ret;
	if (o->version != 0 && o->version != 1 && o->version != 2) {
		snprintf(err, errlen, "--version must be 1 or 2");
		return -EINVAL;
	}
	/* No --version: the registry's default (--set-default-version), else 2. */
	if (o->version) {
		d.version = o->version;
	} else {
		struct registry r;

		if ((ret = registry_load(p->registry, &r, err, errlen)) < 0)
			return ret;
		d.version = r.default_version == 1 ? 1 : 2;
		registry_free(&r);
	}
	if (d.version == 1 && o->image) {
		snprintf(err, errlen,
			 "--vhd imports an ext4 image, which only version 2 runs; "
			 "import it with --version 2");
		return -EINVAL;
	}
	if (!o->dir[0] || !storable(o->dir) ||
	    (ret = absolute_path(o->dir, dir, sizeof(dir))) < 0) {
		snprintf(err, errlen, "'%s' cannot be used as an install folder", o->dir);
		return -EINVAL;
	}
	if (strcmp(o->file, "-") && stat(o->file, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", o->file, strerror(errno));
		return ret;
	}
	if (strcmp(o->file, "-") && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "%s is a folder; give a tarball (tar, tar.gz, tar.xz or tar.zst)",
			 o->file);
		return -EISDIR;
	}
	/* Two lxs importing the same name: the second one stops here. */
	lock = distro_lock(p, o->name, true);
	if (lock < 0) {
		snprintf(err, errlen,
			 "another lxs is importing or using %s right now; wait for it or pick "
			 "another name",
			 o->name);
		return lock == -EWOULDBLOCK ? -EBUSY : lock;
	}
	if ((ret = check_new_name(p, o->name, err, errlen)) < 0)
		goto out;
	made_dir = access(dir, F_OK) < 0;
	if ((ret = mkdir_p(dir, 0755)) < 0) {
		snprintf(err, errlen, "cannot create the install folder %s: %s", dir,
			 strerror(-ret));
		goto out;
	}
	if (!realpath(dir, real)) {
		ret = -errno;
		snprintf(err, errlen, "cannot use %s: %s", dir, strerror(errno));
		goto out;
	}
	if ((folder = ret = own_folder(p, lock, real, err, errlen)) < 0)
		goto out;
	ret = 0;
	if (d.version == 1) {
		ret = import_v1(p, o, lock, real, &d, err, errlen);
		made_dir = made_dir && ret < 0;
		goto out;
	}
	if ((ret = path_fmt(image, sizeof(image), "%s/" DISTRO_IMAGE_NAME, real)) < 0) {
		snprintf(err, errlen, "the install folder's name is too long");
		goto out;
	}
	if (access(image, F_OK) == 0 || v1_is_dir(real, V1_ROOT_NAME)) {
		ret = -EEXIST;
		snprintf(err, errlen,
			 "%s already holds a distribution image (%s); choose another folder", real,
			 DISTRO_IMAGE_NAME);
		goto out;
	}
	distro_lock_note(lock, real, true);
	struct import_cb cb = {.o = o};
	if (o->image)
		ret = copy_image_in(o->file, image, err, errlen);
	else
		ret = image_from_tar(o->file, o->in_fd, image, o->image_bytes, import_progress, &cb,
				     err, errlen);
	if (ret == -ECANCELED && cb.skipped) {
		snprintf(err, errlen,
			 "%s has entries that cannot be imported safely (%s); nothing was imported",
			 strcmp(o->file, "-") ? o->file : "the tarball on stdin", cb.first_skip);
		ret = -EINVAL;
	}
	if (ret < 0)
		goto out;
	snprintf(d.name, sizeof(d.name), "%s", o->name);
	snprintf(d.location, sizeof(d.location), "%s", real);
	snprintf(d.image, sizeof(d.image), "%s", image);
	if ((ret = registry_new_id(d.id)) < 0 || (ret = register_distro(p, &d, err, errlen)) < 0) {
		unlink(image);
		goto out;
	}
	made_dir = false;
out:
	release_folder(lock, folder);
	if (made_dir)
		rmdir(dir);
	if (lock >= 0)
		close(lock);
	return ret;
}

int distro_import_in_place(const struct lxs_paths *p, const char *name, const char *image,
			   char *err, size_t errlen)
{
	char abs[LXS_PATH_MAX], real[PATH_MAX];
	struct reg_distro d = {.version = 2};
	int lock, ret;

	if ((ret = check_new_name(p, name, err, errlen)) < 0)
		return ret;
	if (!storable(image) || absolute_path(image, abs, sizeof(abs)) < 0 ||
	    !realpath(abs, real)) {
		snprintf(err, errlen, "cannot find the image %s", image);
		return -ENOENT;
	}
	if ((ret = extfile_check_image(real)) < 0) {
		snprintf(err, errlen,
			 "%s is not an ext4 image; --import-in-place takes an ext4 image file",
			 image);
		return ret == -ENOENT ? ret : -EINVAL;
	}
	if ((lock = distro_lock(p, name, true)) < 0) {
		snprintf(err, errlen, "another lxs is importing or using %s right now", name);
		return -EBUSY;
	}
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.image, sizeof(d.image), "%s", real);
	snprintf(d.location, sizeof(d.location), "%s", real);
	*strrchr(d.location, '/') = 0;
	if (!d.location[0])
		strcpy(d.location, "/");
	if ((ret = registry_new_id(d.id)) == 0)
		ret = register_distro(p, &d, err, errlen);
	close(lock);
	return ret;
}

int export_format_parse(const char *s, enum export_format *f)
{
	static const struct {
		const char *name;
		enum export_format f;
	} t[] = {
	    {"tar", EXPORT_TAR},       {"tar.gz", EXPORT_TAR_GZ}, {"tgz", EXPORT_TAR_GZ},
	    {"tar.xz", EXPORT_TAR_XZ}, {"txz", EXPORT_TAR_XZ},    {"tar.zst", EXPORT_TAR_ZST},
	    {"tzst", EXPORT_TAR_ZST},  {"img", EXPORT_IMG},       {"vhd", EXPORT_IMG},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(s, t[i].name)) {
			*f = t[i].f;
			return 0;
		}
	}
	return -EINVAL;
}

/* Copy the image keeping its holes, so a 1 TiB sparse image stays small. */
static int copy_sparse(int in, int out, bool seekable, char *err, size_t errlen)
{
	static char buf[1 << 20];
	off_t end = lseek(in, 0, SEEK_END), pos = 0;

	while (pos < end) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0)
			data = end; /* no data after pos: the rest is a hole */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = end;
		if (data > pos && !seekable) {
			/* A pipe has no holes: the zeros must be written. */
			memset(buf, 0, sizeof(buf));
			for (off_t z = pos; z < data;) {
				size_t n = (size_t)(data - z) < sizeof(buf) ? (size_t)(data - z)
									    : sizeof(buf);
				ssize_t k = write(out, buf, n);
				if (k <= 0)
					goto werr;
				z += k;
			}
		}
		for (off_t o = data; o < hole;) {
			size_t n =
			    (size_t)(hole - o) < sizeof(buf) ? (size_t)(hole - o) : sizeof(buf);
			ssize_t k = pread(in, buf, n, o);
			if (k <= 0) {
				snprintf(err, errlen, "cannot read the image: %s",
					 k < 0 ? strerror(errno) : "short file");
				return k < 0 ? -errno : -EIO;
			}
			ssize_t w =
			    seekable ? pwrite(out, buf, (size_t)k, o) : write(out, buf, (size_t)k);
			if (w != k)
				goto werr;
			o += k;
		}
		pos = hole;
	}
	if (seekable && ftruncate(out, end) < 0)
		goto werr;
	return 0;
werr:
	snprintf(err, errlen, "cannot write the export: %s", strerror(errno ? errno : EIO));
	return errno ? -errno : -EIO;
}

static int export_image(const char *image, const char *file, int out_fd, char *err, size_t errlen)
{
	int in = open(image, O_RDONLY | O_CLOEXEC), ret;

	if (in < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the image %s: %s", image, strerror(errno));
		return ret;
	}
	if (!strcmp(file, "-"))
		ret = copy_sparse(in, out_fd, false, err, errlen);
	else
		ret = copy_file_atomically(in, file, 0644, err, errlen);
	close(in);
	return ret;
}

static enum image_tar_format tar_format(enum export_format f)
{
	return f == EXPORT_TAR       ? IMAGE_TAR
	       : f == EXPORT_TAR_GZ  ? IMAGE_TAR_GZ
	       : f == EXPORT_TAR_XZ  ? IMAGE_TAR_XZ
	       : f == EXPORT_TAR_ZST ? IMAGE_TAR_ZSTD
				     : IMAGE_TAR_AUTO;
}

int distro_export(const struct lxs_paths *p, const char *name, const char *file, int out_fd,
		  enum export_format f, image_progress_fn progress, void *arg, char *err,
		  size_t errlen)
{
	struct reg_distro d;
	int lock = -1, ret;

	if ((ret = lookup(p, name, &d, err, errlen)) < 0)
		return ret;
	if (d.version == 1 && f == EXPORT_IMG) {
		snprintf(err, errlen,
			 "%s is a version 1 distribution, which has no image; export "
			 "it as a tarball (--format tar, tar.gz, tar.xz or tar.zst)",
			 d.name);
		return -EINVAL;
	}
	/* Read while nobody writes: a running distro has its image mounted in the VM. */
	if ((lock = distro_lock(p, d.name, false)) < 0)
		return busy(d.name, "stop it with lxs --terminate and export again", err, errlen);
	if (strcmp(file, "-")) {
		/* Refuse an unwritable destination before reading gigabytes. */
		char dir[LXS_PATH_MAX];
		const char *slash;

		if ((ret = absolute_path(file, dir, sizeof(dir))) < 0)
			goto out;
		slash = strrchr(dir, '/');
		dir[slash == dir ? 1 : slash - dir] = 0;
		if (access(dir, W_OK) < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot write to %s: %s", dir, strerror(errno));
			goto out;
		}
	}
	if (d.version == 1) {
		/* Shared lock: sessions of a version-1 distro may go on meanwhile. */
		ret = v1_pack(p, d.image, file, out_fd, tar_format(f), progress, arg, err, errlen);
	} else if (f == EXPORT_IMG) {
		ret = export_image(d.image, file, out_fd, err, errlen);
	} else {
		ret =
		    image_to_tar(d.image, file, out_fd, tar_format(f), progress, arg, err, errlen);
	}
out:
	close(lock);
	return ret;
}

int distro_unregister(const struct lxs_paths *p, const char *name, char *err, size_t errlen)
{
	struct registry r;
	struct reg_distro d;
	int dlock, lock, ret;

	if ((ret = lookup(p, name, &d, err, errlen)) < 0)
		return ret;
	if ((dlock = distro_lock(p, d.name, true)) < 0)
		return busy(d.name, "try again when it is done", err, errlen);
	if ((lock = reg_begin(p, &r, err, errlen)) < 0) {
		close(dlock);
		return lock;
	}
	if (registry_remove(&r, d.name) < 0) {
		reg_end(p, &r, lock, false, err, errlen);
		close(dlock);
		return not_found(name, err, errlen);
	}
	/* The registry forgets it first: a crash now leaves a stray file, not a broken entry. */
	ret = reg_end(p, &r, lock, true, err, errlen);
	/* Leftovers would keep the folder from going; unless someone writes there, they go. */
	char ferr[LXS_PATH_MAX + 128];
	int folder = ret == 0 ? own_folder(p, dlock, d.location, ferr, sizeof(ferr)) : -1;
	if (ret == 0 && d.version == 2) {
		unlink(d.image);
		if (!strcmp(strrchr(d.image, '/') + 1, DISTRO_IMAGE_NAME))
			rmdir(d.location); /* only if empty: never the user's other files */
	} else if (ret == 0 && d.version == 1) {
		/* Only the folder lxs made (DIR/rootfs), never what else DIR holds. */
		if (!strcmp(strrchr(d.image, '/') + 1, V1_ROOT_NAME))
			v1_remove_tree(d.image);
		rmdir(d.location);
	}
	release_folder(dlock, folder);
	close(dlock);
	return ret;
}

int distro_set_default(const struct lxs_paths *p, const char *name, char *err, size_t errlen)
{
	struct registry r;
	struct reg_distro *d;
	int lock = reg_begin_find(p, &r, name, &d, err, errlen);

	if (lock < 0)
		return lock;
	snprintf(r.default_name, sizeof(r.default_name), "%s", d->name);
	return reg_end(p, &r, lock, true, err, errlen);
}

int distro_set_default_version(const struct lxs_paths *p, int version, char *err, size_t errlen)
{
	struct registry r;
	int lock;

	if (version != 1 && version != 2) {
		snprintf(err, errlen, "the version must be 1 or 2");
		return -EINVAL;
	}
	if ((lock = reg_begin(p, &r, err, errlen)) < 0)
		return lock;
	r.default_version = version;
	return reg_end(p, &r, lock, true, err, errlen);
}

int distro_set_default_user(const struct lxs_paths *p, const char *name, const char *user,
			    char *err, size_t errlen)
{
	struct registry r;
	struct pw_entry pw;
	char *passwd = NULL;
	int lock = reg_begin(p, &r, err, errlen), ret;

	if (lock < 0)
		return lock;
	struct reg_distro *d = registry_find(&r, name);
	if (!d) {
		reg_end(p, &r, lock, false, err, errlen);
		return not_found(name, err, errlen);
	}
	if (!user[0] || strlen(user) > 64 || strpbrk(user, " \t\n:/")) {
		snprintf(err, errlen, "'%.64s' is not a valid user name", user);
		ret = -EINVAL;
		goto fail;
	}
	/* Like WSL's `id -u USER`, but read from the image: no need to boot for it. */
	long n = d->version == 1 ? v1_read_file(d->image, "/etc/passwd", 16 << 20, &passwd)
				 : extfile_read(d->image, "/etc/passwd", 16 << 20, &passwd);
	if (n < 0 || passwd_lookup(passwd, user, &pw) < 0) {
		snprintf(err, errlen,
			 "user %s does not exist in %s; create it inside the distribution first",
			 user, d->name);
		ret = -ENOENT;
		goto fail;
	}
	snprintf(d->default_user, sizeof(d->default_user), "%s", pw.name);
	free(passwd);
	return reg_end(p, &r, lock, true, err, errlen);
fail:
	free(passwd);
	reg_end(p, &r, lock, false, err, errlen);
	return ret;
}

/* Look up name and take its exclusive lock: for operations that rewrite the image. */
static int take_stopped(const struct lxs_paths *p, const char *name, struct reg_distro *out,
			char *err, size_t errlen)
{
	int ret = lookup(p, name, out, err, errlen);

	if (ret < 0)
		return ret;
	if (out->version != 2) {
		snprintf(
		    err, errlen,
		    "%s is a version 1 distribution, which --move, --resize and --set-sparse do "
		    "not handle "
		    "yet; convert it with lxs --set-version %s 2 first",
		    out->name, out->name);
		return -ENOTSUP;
	}
	int lock = distro_lock(p, out->name, true);
	if (lock < 0)
		return busy(out->name, "stop it with lxs --terminate first", err, errlen);
	return lock;
}

static int update_image_path(const struct lxs_paths *p, const char *name, const char *image,
			     const char *location, char *err, size_t errlen)
{
	struct registry r;
	struct reg_distro *d;
	int lock = reg_begin_find(p, &r, name, &d, err, errlen);

	if (lock < 0)
		return lock;
	snprintf(d->image, sizeof(d->image), "%s", image);
	snprintf(d->location, sizeof(d->location), "%s", location);
	return reg_end(p, &r, lock, true, err, errlen);
}

int distro_move(const struct lxs_paths *p, const char *name, const char *dir, char *err,
		size_t errlen)
{
	char abs[LXS_PATH_MAX], real[PATH_MAX], image[LXS_PATH_MAX];
	struct reg_distro d;
	int lock = take_stopped(p, name, &d, err, errlen), folder = -1, ret;

	if (lock < 0)
		return lock;
	if (!storable(dir) || (ret = absolute_path(dir, abs, sizeof(abs))) < 0 ||
	    (ret = mkdir_p(abs, 0755)) < 0 || !realpath(abs, real)) {
		snprintf(err, errlen, "cannot use %s as the new folder", dir);
		ret = -EINVAL;
		goto out;
	}
	if ((folder = ret = own_folder(p, lock, real, err, errlen)) < 0)
		goto out;
	if ((ret = path_fmt(image, sizeof(image), "%s/" DISTRO_IMAGE_NAME, real)) < 0)
		goto out;
	if (!strcmp(image, d.image)) {
		ret = 0;
		goto out;
	}
	if (access(image, F_OK) == 0) {
		snprintf(err, errlen,
			 "%s already holds a distribution image; choose another folder", real);
		ret = -EEXIST;
		goto out;
	}
	/* Same file system: a rename. Elsewhere: a sparse copy, then the switch. */
	if (rename(d.image, image) < 0) {
		if (errno != EXDEV) {
			ret = -errno;
			snprintf(err, errlen, "cannot move the image to %s: %s", real,
				 strerror(errno));
			goto out;
		}
		int in = open(d.image, O_RDONLY | O_CLOEXEC);
		if (in < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot copy the image to %s: %s", real,
				 strerror(errno));
			goto out;
		}
		ret = copy_file_atomically(in, image, 0600, err, errlen);
		close(in);
		if (ret < 0)
			goto out;
		if ((ret = update_image_path(p, d.name, image, real, err, errlen)) < 0) {
			unlink(image);
			goto out;
		}
		unlink(d.image);
	} else if ((ret = update_image_path(p, d.name, image, real, err, errlen)) < 0) {
		if (rename(image, d.image) < 0) {
		}
		goto out;
	}
	rmdir(d.location);
	ret = 0;
out:
	release_folder(lock, folder);
	close(lock);
	return ret;
}

/* Run an e2fsprogs tool, its stdout and stderr into out: its exit status, or -errno. */
static int run_capture(const char *const argv[], char *out, size_t len)
{
	int pfd[2], st;
	size_t got = 0;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(argv[0], exec_vec(argv));
		_exit(127);
	}
	close(pfd[1]);
	for (ssize_t k; (k = read(pfd[0], out + got, len - 1 - got)) > 0;)
		got += (size_t)k;
	out[got] = 0;
	close(pfd[0]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -ECHILD;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The last non-empty line of a tool's output: the one that says what went wrong. */
static const char *last_line(char *out)
{
	size_t n = strlen(out);

	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = 0;
	char *nl = strrchr(out, '\n');
	return nl ? nl + 1 : out;
}

/*
 * resize2fs, after checking with -P that the file system fits: an aborted
 * shrink leaves a file system that needs e2fsck, which we then run.
 */
static int run_resize2fs(const char *image, uint64_t kib, char *err, size_t errlen)
{
	char size[32], out[4096];
	const char *est[] = {"resize2fs", "-P", image, NULL};
	int st = run_capture(est, out, sizeof(out));
	const char *m = strstr(out, "minimum size of the filesystem: ");

	if (st == 127 || st < 0) {
		snprintf(err, errlen, "cannot run resize2fs; install e2fsprogs");
		return -ENOENT;
	}
	if (m) {
		unsigned long long blocks = strtoull(m + 32, NULL, 10);

		/* With room to spare: the estimate is a lower bound. */
		if (blocks * 4 * 11 / 10 > kib) {
			snprintf(err, errlen,
				 "the distribution needs at least %llu MiB; choose a larger size",
				 blocks * 4 * 11 / 10 / 1024 + 1);
			return -ENOSPC;
		}
	}
	snprintf(size, sizeof(size), "%lluK", (unsigned long long)kib);
	const char *rs[] = {"resize2fs", "-f", image, size, NULL};
	if ((st = run_capture(rs, out, sizeof(out))) != 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s",
			 strstr(out, "resize2fs: ") ? strstr(out, "resize2fs: ") + 11
						    : last_line(out));
		why[strcspn(why, "\n")] = 0;
		const char *fsck[] = {"e2fsck", "-fy", image, NULL};
		run_capture(fsck, out, sizeof(out));
		snprintf(err, errlen, "resize2fs could not resize the image: %s", why);
		return -EIO;
	}
	return 0;
}

int distro_resize(const struct lxs_paths *p, const char *name, uint64_t bytes, char *err,
		  size_t errlen)
{
	struct reg_distro d;
	struct stat st;
	int lock, ret;

	bytes &= ~4095ULL;
	if (bytes < IMAGE_MIN_BYTES) {
		snprintf(err, errlen, "the size must be at least %llu MiB", IMAGE_MIN_BYTES >> 20);
		return -EINVAL;
	}
	if ((lock = take_stopped(p, name, &d, err, errlen)) < 0)
		return lock;
	if (stat(d.image, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot find the image %s: %s", d.image, strerror(errno));
		goto out;
	}
	/* Grow the file first and the file system into it, or shrink in the other order. */
	if ((uint64_t)st.st_size < bytes && truncate(d.image, (off_t)bytes) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot grow %s: %s", d.image, strerror(errno));
		goto out;
	}
	if ((ret = run_resize2fs(d.image, bytes >> 10, err, errlen)) < 0) {
		if ((uint64_t)st.st_size < bytes && truncate(d.image, st.st_size) < 0) {
		}
		goto out;
	}
	if ((uint64_t)st.st_size > bytes && truncate(d.image, (off_t)bytes) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot shrink %s: %s", d.image, strerror(errno));
		goto out;
	}
	/* resize2fs writes the inode tables of new groups as zeros, and a shrink moves blocks. */
	ret = image_make_sparse(d.image, NULL, err, errlen);
out:
	close(lock);
	return ret;
}

int distro_make_sparse(const struct lxs_paths *p, const char *name, uint64_t *freed, char *err,
		       size_t errlen)
{
	struct reg_distro d;
	int lock, ret;

	if ((lock = take_stopped(p, name, &d, err, errlen)) < 0)
		return lock;
	ret = image_make_sparse(d.image, freed, err, errlen);
	close(lock);
	return ret;
}

/* The conversion's last step: one registry write switches the distro to its new self. */
static int switch_version(const struct lxs_paths *p, const struct reg_distro *old, int version,
			  const char *image, char *err, size_t errlen)
{
	struct registry r;
	int lock = reg_begin(p, &r, err, errlen);

	if (lock < 0)
		return lock;
	struct reg_distro *d = registry_find(&r, old->name);
	if (!d || strcmp(d->image, old->image)) {
		reg_end(p, &r, lock, false, err, errlen);
		snprintf(err, errlen, "%s changed while it was being converted; try again",
			 old->name);
		return -EAGAIN;
	}
	d->version = version;
	snprintf(d->image, sizeof(d->image), "%s", image);
	return reg_end(p, &r, lock, true, err, errlen);
}

/* Whether another distro than name uses path: then it is not a leftover of ours. */
static bool used_by_other(const struct lxs_paths *p, const char *name, const char *path)
{
	struct registry r;
	char err[256];
	bool used = false;

	if (registry_load(p->registry, &r, err, sizeof(err)) < 0)
		return true;
	for (int i = 0; i < r.n; i++)
		if (strcasecmp(r.d[i].name, name) && !strcmp(r.d[i].image, path))
			used = true;
	registry_free(&r);
	return used;
}

/* 1 -> 2: lxs-pico --pack into a pipe, read by the image builder. */
static int to_v2(const struct lxs_paths *p, const struct reg_distro *d, uint64_t bytes,
		 image_progress_fn cb, void *arg, char *err, size_t errlen)
{
	char pico[LXS_PATH_MAX], image[LXS_PATH_MAX];
	int pp[2], efd, ret;

	if ((ret = v1_pico_path(p, pico, sizeof(pico), err, errlen)) < 0)
		return ret;
	if ((ret = path_fmt(image, sizeof(image), "%s/" DISTRO_IMAGE_NAME, d->location)) < 0) {
		snprintf(err, errlen, "the distribution's folder name is too long");
		return ret;
	}
	/* A complete image nobody uses is what an interrupted conversion left: replaced. */
	if (used_by_other(p, d->name, image)) {
		snprintf(err, errlen, "%s holds another distribution's image; move %s first",
			 d->location, d->name);
		return -EEXIST;
	}
	if (pipe2(pp, O_CLOEXEC) < 0)
		return -errno;
	const char *args[] = {"--pack", d->image, "-", NULL};
	pid_t pid = v1_spawn(pico, args, -1, pp[1], &efd);
	close(pp[1]);
	if (pid < 0) {
		close(pp[0]);
		snprintf(err, errlen, "cannot run %s: %s", pico, strerror((int)-pid));
		return (int)pid;
	}
	char perr[1024] = "";
	ret = image_from_tar("-", pp[0], image, bytes, cb, arg, err, errlen);
	close(pp[0]); /* a stopped import makes lxs-pico's next write fail */
	int pret =
	    v1_finish(pid, efd, NULL, NULL, "cannot read the distribution", perr, sizeof(perr));
	/*
	 * Whoever failed first says why: the image's own limits (full, cancelled)
	 * are the image builder's; otherwise the builder only saw the stream end.
	 */
	if (pret < 0 && (ret == 0 || (ret != -ENOSPC && ret != -ECANCELED))) {
		snprintf(err, errlen, "%s", perr);
		ret = ret ? ret : pret;
	}
	if (ret == 0 && (ret = switch_version(p, d, 2, image, err, errlen)) < 0)
		unlink(image);
	if (ret < 0) {
		unlink(image);
		return ret;
	}
	/* From here on the distro is version 2; the old folder is only garbage. */
	v1_remove_tree(d->image);
	return 0;
}

/* 2 -> 1: the image as a tar stream into lxs-pico --unpack. */
static int to_v1(const struct lxs_paths *p, const struct reg_distro *d, image_progress_fn cb,
		 void *arg, char *err, size_t errlen)
{
	char pico[LXS_PATH_MAX], root[LXS_PATH_MAX], tmp[LXS_PATH_MAX];
	int pp[2], efd, ret;

	if ((ret = v1_pico_path(p, pico, sizeof(pico), err, errlen)) < 0)
		return ret;
	if ((ret = path_fmt(root, sizeof(root), "%s/" V1_ROOT_NAME, d->location)) < 0 ||
	    (ret = path_fmt(tmp, sizeof(tmp), "%s/" V1_ROOT_NAME ".tmp-XXXXXX", d->location)) < 0) {
		snprintf(err, errlen, "the distribution's folder name is too long");
		return ret;
	}
	if (used_by_other(p, d->name, root)) {
		snprintf(err, errlen, "%s holds another distribution's folder; move %s first",
			 d->location, d->name);
		return -EEXIST;
	}
	if (!mkdtemp(tmp)) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a folder in %s: %s", d->location,
			 strerror(errno));
		return ret;
	}
	if (pipe2(pp, O_CLOEXEC) < 0) {
		ret = -errno;
		rmdir(tmp);
		return ret;
	}
	const char *args[] = {"--unpack", "-", tmp, NULL};
	pid_t pid = v1_spawn(pico, args, pp[0], -1, &efd);
	close(pp[0]);
	if (pid < 0) {
		close(pp[1]);
		rmdir(tmp);
		snprintf(err, errlen, "cannot run %s: %s", pico, strerror((int)-pid));
		return (int)pid;
	}
	char perr[1024] = "";
	ret = image_to_tar(d->image, "-", pp[1], IMAGE_TAR, cb, arg, err, errlen);
	close(pp[1]);
	int pret =
	    v1_finish(pid, efd, NULL, NULL, "cannot unpack the distribution", perr, sizeof(perr));
	/* lxs-pico dying first shows up here as a broken pipe: its sentence is the cause. */
	if (pret < 0 && (ret == 0 || ret == -EPIPE)) {
		snprintf(err, errlen, "%s", perr);
		ret = pret;
	}
	/* A folder nobody uses is what an interrupted conversion left: replaced. */
	if (ret == 0)
		v1_remove_tree(root);
	if (ret == 0 && rename(tmp, root) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", root, strerror(errno));
	}
	if (ret < 0) {
		v1_remove_tree(tmp);
		return ret;
	}
	if ((ret = switch_version(p, d, 1, root, err, errlen)) < 0) {
		v1_remove_tree(root);
		return ret;
	}
	unlink(d->image);
	return 0;
}

int distro_set_version(const struct lxs_paths *p, const char *name, int version, uint64_t bytes,
		       image_progress_fn cb, void *arg, char *err, size_t errlen)
{
	struct reg_distro d;
	int lock, folder = -1, ret;

	if (version != 1 && version != 2) {
		snprintf(err, errlen, "--set-version takes 1 or 2");
		return -EINVAL;
	}
	if ((ret = lookup(p, name, &d, err, errlen)) < 0)
		return ret;
	/* Version-1 sessions hold the lock shared, a running version 2 exclusively. */
	if ((lock = distro_lock(p, d.name, true)) < 0)
		return busy(d.name, "stop it (lxs --terminate, or end its sessions) first", err,
			    errlen);
	/* Read again under the lock: another conversion may just have finished. */
	if ((ret = lookup(p, name, &d, err, errlen)) < 0)
		goto out;
	/* Even with nothing to convert: it removes what a killed conversion left. */
	if ((folder = ret = own_folder(p, lock, d.location, err, errlen)) < 0)
		goto out;
	if (d.version == version) {
		ret = 0;
		goto out;
	}
	/*
	 * The registered form is kept until the registry names the new one; a
	 * file or folder already where the new one goes is not ours, so then a
	 * kill leaves only temporaries to sweep.
	 */
	char target[LXS_PATH_MAX];
	if (path_fmt(target, sizeof(target), "%s/%s", d.location,
		     version == 2 ? DISTRO_IMAGE_NAME : V1_ROOT_NAME) == 0 &&
	    access(target, F_OK) < 0 && errno == ENOENT)
		distro_lock_note(lock, d.location, true);
	if (version == 2)
		ret = to_v2(p, &d, bytes, cb, arg, err, errlen);
	else
		ret = to_v1(p, &d, cb, arg, err, errlen);
out:
	release_folder(lock, folder);
	close(lock);
	return ret;
}
