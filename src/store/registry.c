/*
 * registry.c - the list of a user's distributions (registry.h): its text
 * format, crash-safe writes, per-distro locks and the leftovers of
 * interrupted operations.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "registry.h"
#include "v1.h"

bool reg_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > REG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

void registry_free(struct registry *r)
{
	free(r->d);
	memset(r, 0, sizeof(*r));
}

struct reg_distro *registry_find(const struct registry *r, const char *name)
{
	for (int i = 0; i < r->n; i++)
		if (!strcasecmp(r->d[i].name, name))
			return &r->d[i];
	return NULL;
}

int registry_add(struct registry *r, const struct reg_distro *d)
{
	if (registry_find(r, d->name))
		return -EEXIST;
	if (r->n >= REG_MAX_DISTROS)
		return -ENOSPC;
	struct reg_distro *nd = realloc(r->d, (size_t)(r->n + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	r->d = nd;
	r->d[r->n++] = *d;
	return 0;
}

int registry_remove(struct registry *r, const char *name)
{
	struct reg_distro *d = registry_find(r, name);

	if (!d)
		return -ENOENT;
	if (!strcasecmp(r->default_name, d->name))
		r->default_name[0] = 0;
	memmove(d, d + 1, (size_t)(r->d + r->n - (d + 1)) * sizeof(*d));
	r->n--;
	return 0;
}

int registry_new_id(char id[33])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -EIO;
	for (int i = 0; i < 16; i++)
		sprintf(id + 2 * i, "%02x", b[i]);
	return 0;
}

/* ---- the file format ------------------------------------------------------
 *   lxs-registry 1
 *   default NAME
 *   default-version 2
 *   distro NAME
 *   id HEX
 *   version 2
 *   location /folder
 *   image /folder/ext4.img
 *   default-user NAME
 *   end
 * One "key value" per line, the value being the rest of the line; values
 * cannot hold newlines (import refuses such paths). Unknown keys are kept
 * out, so an older lxs reads a newer file as long as the format line agrees.
 */

static int add_line(char **buf, size_t *len, size_t *cap, const char *key, const char *val)
{
	size_t need = strlen(key) + strlen(val) + 2;

	if (*len + need + 1 > *cap) {
		size_t nc = (*cap + need + 1) * 2;
		char *nb = realloc(*buf, nc);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = nc;
	}
	*len += (size_t)sprintf(*buf + *len, "%s%s%s\n", key, val[0] || !key[0] ? " " : "", val);
	return 0;
}

char *registry_format(const struct registry *r, size_t *len)
{
	char *buf = NULL, num[16];
	size_t cap = 0;
	int ret = 0;

	*len = 0;
	ret |= add_line(&buf, len, &cap, REG_FORMAT, "");
	if (r->default_name[0])
		ret |= add_line(&buf, len, &cap, "default", r->default_name);
	snprintf(num, sizeof(num), "%d", r->default_version ? r->default_version : 2);
	ret |= add_line(&buf, len, &cap, "default-version", num);
	for (int i = 0; i < r->n && !ret; i++) {
		const struct reg_distro *d = &r->d[i];

		snprintf(num, sizeof(num), "%d", d->version);
		ret |= add_line(&buf, len, &cap, "distro", d->name);
		ret |= add_line(&buf, len, &cap, "id", d->id);
		ret |= add_line(&buf, len, &cap, "version", num);
		ret |= add_line(&buf, len, &cap, "location", d->location);
		ret |= add_line(&buf, len, &cap, "image", d->image);
		if (d->default_user[0])
			ret |= add_line(&buf, len, &cap, "default-user", d->default_user);
		ret |= add_line(&buf, len, &cap, "end", "");
	}
	if (ret) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int set(char *dst, size_t cap, const char *val)
{
	if (strlen(val) >= cap)
		return -EINVAL;
	strcpy(dst, val);
	return 0;
}

int registry_parse(const char *text, size_t len, struct registry *r, char *err, size_t errlen)
{
	char *copy = strndup(text, len), *save = NULL, *line;
	struct reg_distro cur;
	bool in = false;
	int lineno = 0, ret = 0;

	memset(r, 0, sizeof(*r));
	r->default_version = 2;
	if (!copy)
		return -ENOMEM;
	if (strlen(copy) != len) {
		ret = -EINVAL;
		goto bad;
	}
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		const char *key = line, *val = sp ? sp + 1 : "";

		lineno++;
		if (sp)
			*sp = 0;
		if (lineno == 1) {
			if (!sp || strcmp(key, "lxs-registry") || strcmp(val, "1"))
				goto bad;
			continue;
		}
		if (!in && !strcmp(key, "default")) {
			ret = set(r->default_name, sizeof(r->default_name), val);
		} else if (!in && !strcmp(key, "default-version")) {
			r->default_version = atoi(val) == 1 ? 1 : 2;
		} else if (!in && !strcmp(key, "distro")) {
			memset(&cur, 0, sizeof(cur));
			cur.version = 2;
			ret = set(cur.name, sizeof(cur.name), val);
			in = true;
		} else if (in && !strcmp(key, "id")) {
			ret = set(cur.id, sizeof(cur.id), val);
		} else if (in && !strcmp(key, "version")) {
			cur.version = atoi(val);
		} else if (in && !strcmp(key, "location")) {
			ret = set(cur.location, sizeof(cur.location), val);
		} else if (in && !strcmp(key, "image")) {
			ret = set(cur.image, sizeof(cur.image), val);
		} else if (in && !strcmp(key, "default-user")) {
			ret = set(cur.default_user, sizeof(cur.default_user), val);
		} else if (in && !strcmp(key, "end")) {
			if (!reg_name_ok(cur.name) || (cur.version != 1 && cur.version != 2) ||
			    cur.image[0] != '/')
				goto bad;
			if ((ret = registry_add(r, &cur)) < 0)
				goto bad;
			in = false;
		}
		/* Anything else is a key from a newer lxs: skipped. */
		if (ret < 0)
			goto bad;
	}
	if (lineno == 0 || in)
		goto bad;
	free(copy);
	return 0;
bad:
	snprintf(err, errlen, "the registry is damaged near line %d", lineno);
	free(copy);
	registry_free(r);
	return ret == -ENOMEM ? ret : -EINVAL;
}

int registry_load(const char *path, struct registry *r, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;
	struct stat st;
	char *buf = NULL;

	memset(r, 0, sizeof(*r));
	r->default_version = 2;
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size > (16 << 20)) {
		ret = -EFBIG;
		snprintf(err, errlen, "%s is too big to be an lxs registry", path);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	ret = registry_parse(buf, got, r, err, errlen);
	if (ret == -EINVAL) {
		char why[128];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s (%s); restore it from a backup or remove it", why, path);
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

int registry_save(const char *path, const struct registry *r, char *err, size_t errlen)
{
	char tmp[LXS_PATH_MAX], dir[LXS_PATH_MAX];
	size_t len, off = 0;
	char *buf = registry_format(r, &len);
	int fd = -1, ret;

	if (!buf)
		return -ENOMEM;
	/*
	 * Writers hold registry_lock (distro.c, reg_begin), so another
	 * registry.tmp-* here is one a killed writer left: it goes now.
	 */
	tmp_sweep(path);
	if ((ret = path_fmt(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path)) < 0)
		goto out;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot write the registry next to %s: %s", path,
			 strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t k = write(fd, buf + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
			goto fail_write;
		}
		off += (size_t)k;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		ret = -errno;
		fd = -1;
		goto fail_write;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto fail_write;
	}
	/* The rename itself must reach the disk before we report success. */
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	ret = 0;
	goto out;
fail_write:
	snprintf(err, errlen, "cannot write the registry %s: %s", path, strerror(-ret));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(buf);
	return ret;
}

int registry_lock(const struct lxs_paths *p, char *err, size_t errlen)
{
	char path[LXS_PATH_MAX];
	int fd, ret;

	if ((ret = paths_make_data_dir(p, err, errlen)) < 0)
		return ret;
	if ((ret = path_fmt(path, sizeof(path), "%s/registry.lock", p->data)) < 0)
		return ret;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	while (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		return ret;
	}
	return fd;
}

static int lock_path(const struct lxs_paths *p, const char *name, char *buf, size_t len)
{
	char lower[REG_NAME_MAX + 1];
	size_t i;

	/* Names differ only in case are one distro, so they share one lock. */
	for (i = 0; name[i] && i < REG_NAME_MAX; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	lower[i] = 0;
	return path_fmt(buf, len, "%s/locks/%s.lock", p->data, lower);
}

int distro_lock(const struct lxs_paths *p, const char *name, bool exclusive)
{
	char path[LXS_PATH_MAX], err[256];
	int fd, ret;

	if (!reg_name_ok(name))
		return -EINVAL;
	if ((ret = paths_make_data_dir(p, err, sizeof(err))) < 0 ||
	    (ret = lock_path(p, name, path, sizeof(path))) < 0)
		return ret;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/*
	 * A lock held only for a moment (distro_locked looking, lxsd's sweeper
	 * clearing a note) is waited out: a few tries 1 ms apart, so that a
	 * session that starts while lxs --status or lxsd's sweep looks is not
	 * refused "busy". A real holder (an import, a running distro) still
	 * gets -EWOULDBLOCK within 5 ms.
	 */
	for (int tries = 0;; tries++) {
		if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK || tries == 5)
			break;
		nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
	}
	ret = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
	close(fd);
	return ret;
}

bool distro_locked(const struct lxs_paths *p, const char *name)
{
	char path[LXS_PATH_MAX];
	bool held = false;

	if (lock_path(p, name, path, sizeof(path)) < 0)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		held = errno == EWOULDBLOCK;
	close(fd);
	return held;
}

#define NOTE_OPEN "open"

int distro_lock_note(int lock, const char *folder, bool forms)
{
	/*
	 * The second line marks a note whose operation makes the distro's forms
	 * (distro_lock_note's forms) and clears the note when it ends; notes of
	 * older lxs and of other operations only lead to temporaries.
	 */
	char buf[LXS_PATH_MAX + sizeof(NOTE_OPEN) + 2];
	int n =
	    folder ? snprintf(buf, sizeof(buf), "%s\n%s", folder, forms ? NOTE_OPEN "\n" : "") : 0;

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	/* At offset 0 each time: an operation notes twice (own_folder, then its forms). */
	if (ftruncate(lock, 0) < 0 || (n && pwrite(lock, buf, (size_t)n, 0) != n))
		return -errno;
	return 0;
}

/*
 * What a lock file notes: an absolute folder, or ""; *live tells whether an
 * operation that clears its note wrote it (so that one is left means killed).
 */
static void note_from(int fd, char *out, size_t len, bool *live)
{
	ssize_t n = pread(fd, out, len - 1, 0);

	out[n > 0 ? n : 0] = 0;
	size_t end = strcspn(out, "\n");
	*live = out[end] == '\n' && !strncmp(out + end + 1, NOTE_OPEN "\n", sizeof(NOTE_OPEN));
	out[end] = 0;
	if (out[0] != '/')
		out[0] = 0;
}

void distro_lock_noted(int lock, char *out, size_t len)
{
	bool live;

	note_from(lock, out, len, &live);
	if (!live)
		out[0] = 0;
}

int folder_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int ret = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static bool is_leftover(const char *name)
{
	return !strncmp(name, V1_ROOT_NAME ".tmp-", sizeof(V1_ROOT_NAME ".tmp-") - 1) ||
	       !strncmp(name, "ext4.img.tmp-", sizeof("ext4.img.tmp-") - 1);
}

/* Blocks held by name under dfd and everything beneath it, symbolic links not followed. */
static uint64_t disk_usage(int dfd, const char *name)
{
	struct stat st;
	struct dirent *e;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	uint64_t sum = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode))
		return sum;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return sum;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			sum += disk_usage(dirfd(d), e->d_name);
	closedir(d);
	return sum;
}

int leftovers_in(const char *dir, bool remove, struct leftovers *l)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[LXS_PATH_MAX];

		if (!is_leftover(e->d_name) ||
		    path_fmt(path, sizeof(path), "%s/%s", dir, e->d_name) < 0)
			continue;
		l->count++;
		l->bytes += disk_usage(dirfd(d), e->d_name);
		if (remove)
			v1_remove_tree(path);
	}
	closedir(d);
	return 0;
}

/* The folder noted in NAME's lock file (distro_lock_note), or "". */
static void noted_folder(const struct lxs_paths *p, const char *name, char *out, size_t len,
			 bool *live)
{
	char path[LXS_PATH_MAX];
	int fd;

	out[0] = 0;
	*live = false;
	if (lock_path(p, name, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	note_from(fd, out, len, live);
	close(fd);
}

int stale_forms_in(const struct lxs_paths *p, const char *dir, bool remove, struct leftovers *l)
{
	static const char *const forms[] = {V1_ROOT_NAME, "ext4.img"};
	struct registry r;
	char err[256];
	int ret;

	if ((ret = registry_load(p->registry, &r, err, sizeof(err))) < 0)
		return ret;
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		char path[LXS_PATH_MAX];
		struct stat st;
		bool used = false;

		if (path_fmt(path, sizeof(path), "%s/%s", dir, forms[f]) < 0 ||
		    lstat(path, &st) < 0 || !(f == 0 ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
			continue;
		for (int i = 0; i < r.n && !used; i++)
			used = !strcmp(r.d[i].image, path);
		if (used)
			continue;
		l->count++;
		l->bytes += disk_usage(AT_FDCWD, path);
		if (remove)
			v1_remove_tree(path);
	}
	registry_free(&r);
	return 0;
}

/*
 * One folder of leftovers_all, and only if no operation on name runs: its
 * temporary leftovers (counted once per folder) and, if name's lock still
 * notes it, the forms that operation left unregistered (stale_forms_in).
 */
static void leftovers_of(const struct lxs_paths *p, const char *name, const char *folder,
			 bool remove, struct leftovers *l, char (*seen)[LXS_PATH_MAX], int *nseen)
{
	char noted[LXS_PATH_MAX];
	bool again = false, live;
	int lock, flock_fd;

	for (int i = 0; i < *nseen && !again; i++)
		again = !strcmp(seen[i], folder);
	if (!again && *nseen < 2 * REG_MAX_DISTROS)
		snprintf(seen[(*nseen)++], LXS_PATH_MAX, "%s", folder);
	if (!remove) {
		if (distro_locked(p, name))
			return;
		if (!again)
			leftovers_in(folder, false, l);
		noted_folder(p, name, noted, sizeof(noted), &live);
		if (live && !strcmp(noted, folder))
			stale_forms_in(p, folder, false, l);
		return;
	}
	/*
	 * Not under the distro's lock: lxsd's sweeper runs as lxsd starts, just
	 * when the session that started it asks for that lock, which would be
	 * refused "busy" for as long as the sweep takes. The folder's lock is
	 * enough: every writer of leftovers and forms holds it while it writes,
	 * and a running distro uses only its registered form, never a leftover.
	 * distro_locked only looks, for a moment: a distro an operation holds
	 * (or that runs) is left alone.
	 */
	if (distro_locked(p, name) || (flock_fd = folder_lock(folder)) < 0)
		return;
	if (!again)
		leftovers_in(folder, true, l);
	noted_folder(p, name, noted, sizeof(noted), &live);
	if (live && !strcmp(noted, folder)) {
		stale_forms_in(p, folder, true, l);
		/* Nothing of that operation is left: its note goes, unless one noted anew. */
		if ((lock = distro_lock(p, name, true)) >= 0) {
			note_from(lock, noted, sizeof(noted), &live);
			if (live && !strcmp(noted, folder))
				distro_lock_note(lock, NULL, false);
			close(lock);
		}
	}
	close(flock_fd);
}

int leftovers_all(const struct lxs_paths *p, bool remove, struct leftovers *l)
{
	char err[256], locks[LXS_PATH_MAX], folder[LXS_PATH_MAX];
	struct registry r;
	struct dirent *e;
	int nseen = 0, ret, rlock;
	DIR *d;

	/* A registry writer killed before its rename left registry.tmp-*: if none writes now. */
	if (path_fmt(locks, sizeof(locks), "%s/registry.lock", p->data) == 0 &&
	    (rlock = open(locks, O_RDWR | O_CLOEXEC)) >= 0) {
		if (flock(rlock, LOCK_EX | LOCK_NB) == 0)
			tmp_leftovers(p->registry, remove, &l->count, &l->bytes);
		close(rlock);
	}
	if ((ret = registry_load(p->registry, &r, err, sizeof(err))) < 0)
		return ret;
	char(*seen)[LXS_PATH_MAX] = calloc(2 * REG_MAX_DISTROS, LXS_PATH_MAX);
	if (!seen) {
		registry_free(&r);
		return -ENOMEM;
	}
	for (int i = 0; i < r.n; i++)
		leftovers_of(p, r.d[i].name, r.d[i].location, remove, l, seen, &nseen);
	registry_free(&r);
	/* A killed import registered nothing: only its lock file knows its folder. */
	if (path_fmt(locks, sizeof(locks), "%s/locks", p->data) == 0 && (d = opendir(locks))) {
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);
			char name[REG_NAME_MAX + 1];
			bool live;

			if (n <= 5 || n - 5 > REG_NAME_MAX || strcmp(e->d_name + n - 5, ".lock"))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(n - 5), e->d_name);
			noted_folder(p, name, folder, sizeof(folder), &live);
			if (folder[0] && reg_name_ok(name))
				leftovers_of(p, name, folder, remove, l, seen, &nseen);
		}
		closedir(d);
	}
	free(seen);
	return 0;
}
