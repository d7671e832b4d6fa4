/*
 * The version-1 unpacker (src/pico/volfs_tar.c, built into this test since
 * lxs-pico is not a library) against hostile archives: every attack of
 * common/tar_rules.h fails with its sentence, and the canary folder beside
 * the root keeps its content, mode and times; the legitimate replacements
 * (a symlink by a file, a folder, a device) happen inside the root.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "pico/volfs_tar.c"
#include "unit.h"

static char top[64], out[128], root[128], tarpath[128];

struct ent {
	const char *name;
	unsigned type; /* AE_IF*; 0: a hard link to `link` */
	unsigned mode;
	const char *link; /* symlink target or hard link target */
	const char *data;
};

/* A pax archive of the entries. */
static int write_tar(const struct ent *v, size_t n)
{
	struct archive *a = archive_write_new();
	int r = 0;

	archive_write_set_format_pax(a);
	if (archive_write_open_filename(a, tarpath) != ARCHIVE_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		/* libarchive writes no data for a hard link (tests/hostile has such) */
		size_t len = v[i].data && v[i].type ? strlen(v[i].data) : 0;

		archive_entry_copy_pathname(e, v[i].name);
		archive_entry_set_filetype(e, v[i].type ? v[i].type : AE_IFREG);
		archive_entry_set_perm(e, v[i].mode);
		archive_entry_set_mtime(e, 1000000000, 0);
		if (v[i].type == AE_IFLNK)
			archive_entry_copy_symlink(e, v[i].link);
		if (!v[i].type)
			archive_entry_copy_hardlink(e, v[i].link);
		archive_entry_set_size(e, (la_int64_t)len);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (len && archive_write_data(a, v[i].data, len) != (la_ssize_t)len))
			r = -1;
		archive_entry_free(e);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		r = -1;
	archive_write_free(a);
	return r;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

/* A fresh root, and the canary folder out/ with out/target, all at a known time and mode. */
static void reset(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(out, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(out, 0750);
	char p[160];
	snprintf(p, sizeof p, "%s/target", out);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs("original\n", f);
		fclose(f);
	}
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	utimensat(AT_FDCWD, p, ts, 0);
	utimensat(AT_FDCWD, out, ts, 0);
}

/* The canary as reset() left it. */
static int canary_intact(void)
{
	char p[160], buf[64] = "";
	struct stat st, so;
	snprintf(p, sizeof p, "%s/target", out);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	if (stat(p, &st) || stat(out, &so))
		return 0;
	return !strcmp(buf, "original\n") && st.st_nlink == 1 && st.st_mtime == 1000000000 &&
	       (so.st_mode & 07777) == 0750 && so.st_mtime == 1000000000;
}

/* Unpacks v into a fresh root: the result, with the message in err. */
static int unpack(const struct ent *v, size_t n, char *err, size_t errlen)
{
	reset();
	if (write_tar(v, n))
		return -9999;
	err[0] = 0;
	return volfs_unpack(tarpath, root, NULL, NULL, err, errlen);
}

static void expect_refused(struct unit *u, const struct ent *v, size_t n, const char *words)
{
	char err[512];
	int r = unpack(v, n, err, sizeof err);
	CHECK(u, r < 0 && r != -9999);
	CHECK(u, strstr(err, words) != NULL);
	if (!strstr(err, words))
		fprintf(stderr, "message was: %s\n", err);
	CHECK(u, canary_intact());
}

#define N(v) (sizeof(v) / sizeof((v)[0]))

static void t_symlink_then_hardlink(struct unit *u)
{
	const struct ent v[] = {
	    {"etcx", AE_IFLNK, 0777, out, NULL},
	    {"pw", 0, 0644, "etcx/target", "pwned\n"},
	};
	expect_refused(u, v, N(v),
		       "the archive's entry 'pw' is a hard link to 'etcx/target', which is reached "
		       "through the "
		       "symlink 'etcx'; it cannot be imported safely");
}

static void t_symlink_then_file_through(struct unit *u)
{
	const struct ent v[] = {
	    {"d", AE_IFLNK, 0777, out, NULL},
	    {"./d/target", AE_IFREG, 0644, NULL, "pwned\n"},
	};
	expect_refused(
	    u, v, N(v),
	    "the archive's entry 'd/target' would be written through the symlink 'd'; it cannot "
	    "be imported safely");
}

static void t_relative_symlink_up(struct unit *u)
{
	const struct ent v[] = {
	    {"a/", AE_IFDIR, 0755, NULL, NULL},
	    {"a/up", AE_IFLNK, 0777, "../..", NULL},
	    {"a/up/out/target", AE_IFREG, 0644, NULL, "pwned\n"},
	};
	expect_refused(u, v, N(v),
		       "entry 'a/up/out/target' would be written through the symlink 'a/up'");
}

static void t_dotdot(struct unit *u)
{
	const struct ent v[] = {{"../out/target", AE_IFREG, 0644, NULL, "pwned\n"}};
	expect_refused(u, v, N(v), "entry '../out/target' has '..' in its name");
	const struct ent w[] = {{"x", 0, 0644, "../out/target", "pwned\n"}};
	expect_refused(u, w, N(w), "is a hard link to '../out/target', which has '..' in it");
}

static void t_link_missing_and_not_dir(struct unit *u)
{
	const struct ent v[] = {{"x", 0, 0644, "nothing/here", NULL}};
	expect_refused(u, v, N(v),
		       "the archive's entry 'x' is a hard link to 'nothing/here', which the "
		       "archive does not hold before it");
	const struct ent w[] = {
	    {"f", AE_IFREG, 0644, NULL, "file"},
	    {"f/x", AE_IFREG, 0644, NULL, "x"},
	};
	expect_refused(u, w, N(w), "entry 'f/x' needs 'f' to be a folder");
}

/* Tar replaces what a name holds; a symlink there is removed, never followed. */
static void t_replacements_stay_inside(struct unit *u)
{
	char target[160], err[512], p[256], v8[64];
	struct stat st;
	snprintf(target, sizeof target, "%s/target", out);
	const struct ent v[] = {
	    {"d", AE_IFLNK, 0777, out, NULL},
	    {"d", AE_IFDIR, 0777, NULL, NULL},
	    {"f", AE_IFLNK, 0777, target, NULL},
	    {"f", AE_IFREG, 0644, NULL, "inside\n"},
	    {"c", AE_IFLNK, 0777, target, NULL},
	    {"c", AE_IFCHR, 0666, NULL, NULL},
	    {"ln", AE_IFLNK, 0777, target, NULL},
	    {"hl", 0, 0644, "ln", "pwned through a linked symlink\n"},
	};
	CHECK(u, unpack(v, N(v), err, sizeof err) == 0);
	CHECK(u, canary_intact());
	snprintf(p, sizeof p, "%s/d", root);
	CHECK(u, lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(p, sizeof p, "%s/f", root);
	CHECK(u, lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 7);
	snprintf(p, sizeof p, "%s/c", root);
	ssize_t n = lgetxattr(p, LXS_META_XATTR, v8, sizeof v8 - 1);
	CHECK(u, n > 0 && lstat(p, &st) == 0 && S_ISREG(st.st_mode));
	if (n > 0) {
		v8[n] = 0;
		CHECK(u, !strcmp(v8, "0:0:20666:0:0"));
	}
	snprintf(p, sizeof p, "%s/hl", root);
	CHECK(u, lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && st.st_nlink == 2);
}

static void t_absolute_names_land_inside(struct unit *u)
{
	char name[160], err[512], p[320];
	struct stat st;
	snprintf(name, sizeof name, "%s/target", out);
	const struct ent v[] = {{name, AE_IFREG, 0644, NULL, "inside\n"}};
	CHECK(u, unpack(v, N(v), err, sizeof err) == 0);
	CHECK(u, canary_intact());
	snprintf(p, sizeof p, "%s%s", root, name);
	CHECK(u, stat(p, &st) == 0 && st.st_size == 7);
}

static void t_empty_and_truncated(struct unit *u)
{
	char err[512];
	reset();
	int fd = open(tarpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(u, fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(u, volfs_unpack(tarpath, root, NULL, NULL, err, sizeof err) < 0);
	CHECK(u, !strcmp(err, TAR_MSG_EMPTY));

	/* three files of 2000 bytes, cut inside the third one's data */
	static char big[2001];
	memset(big, 'x', 2000);
	const struct ent v[] = {
	    {"a", AE_IFREG, 0644, NULL, big},
	    {"b", AE_IFREG, 0644, NULL, big},
	    {"c", AE_IFREG, 0644, NULL, big},
	};
	CHECK(u, write_tar(v, N(v)) == 0);
	/* cut 1000 bytes into the data after c's own ustar header */
	static char buf[1 << 16];
	off_t cut = 0;
	fd = open(tarpath, O_RDONLY);
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t o = 0; o + 512 <= len && !cut; o += 512)
		if (!strcmp(buf + o, "c") && !memcmp(buf + o + 257, "ustar", 5))
			cut = o + 512 + 1000;
	CHECK(u, cut > 0 && truncate(tarpath, cut) == 0);
	CHECK(u, volfs_unpack(tarpath, root, NULL, NULL, err, sizeof err) < 0);
	CHECK(u, strstr(err, "the archive is truncated after 2 entries") != NULL);
	if (!strstr(err, "truncated after 2"))
		fprintf(stderr, "message was: %s\n", err);
}

int main(void)
{
	struct unit u = {0};

	snprintf(top, sizeof top, "/tmp/lxs-test-volfs.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(out, sizeof out, "%s/out", top);
	snprintf(root, sizeof root, "%s/root", top);
	snprintf(tarpath, sizeof tarpath, "%s/t.tar", top);
	RUN(&u, t_symlink_then_hardlink);
	RUN(&u, t_symlink_then_file_through);
	RUN(&u, t_relative_symlink_up);
	RUN(&u, t_dotdot);
	RUN(&u, t_link_missing_and_not_dir);
	RUN(&u, t_replacements_stay_inside);
	RUN(&u, t_absolute_names_land_inside);
	RUN(&u, t_empty_and_truncated);
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return unit_done(&u);
}
