// fuzz-link: src/image/*.c src/common/*.c
// fuzz-libs: -larchive -lext2fs -lcom_err
/*
 * fuzz_unpack.c - libFuzzer target for the two tarball importers: version
 * 1's unpacker, volfs_unpack() (src/pico/volfs_tar.c, included here since
 * lxs-pico is no library), and version 2's image builder, image_from_tar()
 * (src/image). Archives are hostile: nothing outside the distro's root may
 * change, whatever the archive says (symlinks then entries through them,
 * hard links to outside, "..", absolute names, devices, ...).
 *
 * Input: a flags byte, then the archive (any format and compression
 * libarchive reads). Every input is unpacked by volfs_unpack() into a fresh
 * root; with flags bit 0 set it is also built into a 16 MiB image (mke2fs
 * runs each time, so those runs are slower).
 *
 * Layout, made once per process under /dev/shm/lxs-fuzz-unpack.XXXXXX
 * (or /tmp/... where tmpfs keeps no user xattrs; a crashed run leaves it):
 *   canary/   a folder beside the root with a file, a subfolder, a
 *             symlink; reached from the root as "../canary"
 *   root/     the version-1 root, removed and made afresh each run
 *   in.tar, img/ext4.img   the input and the image
 * Checked with abort() after every run, besides crashes and sanitizer
 * reports: the canary's entries are the same with the same type, mode,
 * owner, size, link count, times (modification and change), content,
 * symlink targets and xattrs; the top folder holds nothing new; each
 * importer returns 0 or a negative errno, with a one-line error text.
 * Files are limited to 16 MiB (RLIMIT_FSIZE) so that a compression bomb
 * fails instead of filling the disk. With LXS_FUZZ_SEED_DIR set to an empty
 * directory, seed archives (well-formed ones and the known attacks) are
 * written there.
 */
#include "pico/volfs_tar.c"

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>

#define FUZZ_NAME "fuzz_unpack"
#include "fuzz_util.h"
#include "image/image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IMAGE_BYTES IMAGE_MIN_BYTES /* 16 MiB */
#define FILE_MAX    IMAGE_MIN_BYTES

static char top[64], canary[96], root[96], input[96], imgdir[96], image[128];

/* --- the canary's fingerprint ------------------------------------------- */

static struct {
	char *p;
	size_t len, cap;
} fp;

static void fp_add(const void *p, size_t n)
{
	if (fp.len + n > fp.cap) {
		fp.cap = (fp.len + n) * 2;
		fp.p = realloc(fp.p, fp.cap);
		if (!fp.p)
			abort();
	}
	memcpy(fp.p + fp.len, p, n);
	fp.len += n;
}

static int fp_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char buf[4096];
	ssize_t n;

	(void)flag, (void)ftw;
	n = snprintf(buf, sizeof(buf), "%s %o %u:%u %lld %lu %lld.%09ld %lld.%09ld\n", path,
		     st->st_mode, st->st_uid, st->st_gid, (long long)st->st_size,
		     (unsigned long)st->st_nlink, (long long)st->st_mtim.tv_sec,
		     st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	fp_add(buf, (size_t)n);
	if (S_ISLNK(st->st_mode) && (n = readlink(path, buf, sizeof(buf))) > 0)
		fp_add(buf, (size_t)n);
	if (S_ISREG(st->st_mode)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			fp_add(buf, (size_t)n);
		if (fd >= 0)
			close(fd);
	}
	n = llistxattr(path, buf, sizeof(buf));
	if (n > 0)
		fp_add(buf, (size_t)n);
	return 0;
}

/* The canary folder, and the names in the top folder. */
static char *fingerprint(size_t *len)
{
	DIR *d = opendir(top);
	struct dirent *e;

	fp.p = NULL;
	fp.len = fp.cap = 0;
	if (!d || nftw(canary, fp_one, 16, FTW_PHYS) != 0)
		abort();
	while ((e = readdir(d))) {
		/* the run's own files may or may not be there */
		if (strcmp(e->d_name, "root") && strcmp(e->d_name, "in.tar")) {
			fp_add(e->d_name, strlen(e->d_name));
			fp_add("\n", 1);
		}
	}
	closedir(d);
	/* entry order of readdir is stable for an unchanged folder */
	*len = fp.len;
	return fp.p;
}

static char *canary_fp;
static size_t canary_fp_len;

static void check_canary(void)
{
	size_t len;
	char *now = fingerprint(&len);

	if (len != canary_fp_len || memcmp(now, canary_fp, len)) {
		fprintf(stderr, "fuzz_unpack: the canary changed\nwas:\n%.*s\nnow:\n%.*s\n",
			(int)canary_fp_len, canary_fp, (int)len, now);
		abort();
	}
	free(now);
}

static int fz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(p);
	return 0;
}

static void rm_tree(const char *p)
{
	nftw(p, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fz_put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	fchmod(fd, mode);
	close(fd);
}

static void make_canary(void)
{
	char p[160];

	if (mkdir(canary, 0750) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/target", canary);
	fz_put_file(p, "canary\n", 0640);
	snprintf(p, sizeof(p), "%s/dir", canary);
	if (mkdir(p, 0750) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/dir/f", canary);
	fz_put_file(p, "inner\n", 0600);
	snprintf(p, sizeof(p), "%s/link", canary);
	if (symlink("target", p) < 0)
		abort();
	/* a known time for every entry, so that any touch shows */
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	const char *names[] = {"dir/f", "dir", "target", "link", ""};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", canary, names[i]);
		utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
	}
}

/* --- seeds ------------------------------------------------------------------ */

struct sent {
	const char *name;
	unsigned type; /* AE_IF*; 0: a hard link to `link` */
	unsigned mode;
	const char *link;
	const char *data;
};

/* Write flags and a pax (or gzip'd) archive of v[0, n) as seed `tag`. */
static void seed(const char *dir, const char *tag, uint8_t flags, int gz, const struct sent *v,
		 size_t n)
{
	static uint8_t buf[1 << 16];
	size_t used = 0;
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	buf[0] = flags;
	if (archive_write_open_memory(a, buf + 1, sizeof(buf) - 1, &used) != ARCHIVE_OK)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = v[i].data ? strlen(v[i].data) : 0;

		archive_entry_copy_pathname(e, v[i].name);
		archive_entry_set_filetype(e, v[i].type ? v[i].type : AE_IFREG);
		archive_entry_set_perm(e, v[i].mode);
		archive_entry_set_mtime(e, 1000000000, 0);
		if (v[i].type == AE_IFLNK)
			archive_entry_copy_symlink(e, v[i].link);
		if (!v[i].type)
			archive_entry_copy_hardlink(e, v[i].link);
		if (v[i].type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		archive_entry_set_size(e, (la_int64_t)len);
		archive_write_header(a, e);
		if (len)
			archive_write_data(a, v[i].data, len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	fz_write_seed(dir, tag, buf, used + 1);
}

static void write_seeds(const char *dir)
{
	const struct sent good[] = {
	    {"./", AE_IFDIR, 0755, NULL, NULL},
	    {"./etc/", AE_IFDIR, 0755, NULL, NULL},
	    {"./etc/passwd", AE_IFREG, 0644, NULL, "root:x:0:0:root:/root:/bin/sh\n"},
	    {"./etc/shadow", AE_IFREG, 0640, NULL, "root:*:1::::::\n"},
	    {"./bin/", AE_IFDIR, 0755, NULL, NULL},
	    {"./bin/su", AE_IFREG, 04755, NULL, "#!/bin/sh\n"},
	    {"./bin/sh", AE_IFLNK, 0777, "su", NULL},
	    {"./bin/hard", 0, 0755, "./bin/su", NULL},
	    {"./dev/null", AE_IFCHR, 0666, NULL, NULL},
	    {"./run/fifo", AE_IFIFO, 0600, NULL, NULL},
	};
	const struct sent symlink_hardlink[] = {
	    {"etcx", AE_IFLNK, 0777, "../canary", NULL},
	    {"pw", 0, 0644, "etcx/target", "pwned\n"},
	};
	const struct sent symlink_dir[] = {
	    {"d", AE_IFLNK, 0777, "../canary", NULL},
	    {"d", AE_IFDIR, 0777, NULL, NULL},
	};
	const struct sent symlink_file[] = {
	    {"x", AE_IFLNK, 0777, "../canary", NULL},
	    {"x/target", AE_IFREG, 0666, NULL, "pwned\n"},
	    {"x/dir/new", AE_IFREG, 0666, NULL, "pwned\n"},
	};
	const struct sent dotdot[] = {
	    {"a/../../canary/target", AE_IFREG, 0666, NULL, "pwned\n"},
	    {"../canary/new", AE_IFREG, 0666, NULL, "pwned\n"},
	};
	const struct sent replace[] = {
	    {"l", AE_IFLNK, 0777, "../canary/target", NULL},
	    {"l", AE_IFREG, 0666, NULL, "replaced, not followed\n"},
	    {"h", 0, 0644, "../canary/target", NULL},
	};

	seed(dir, "good", 0, 0, good, sizeof(good) / sizeof(good[0]));
	seed(dir, "good-v2", 1, 0, good, sizeof(good) / sizeof(good[0]));
	seed(dir, "good-gz", 0, 1, good, sizeof(good) / sizeof(good[0]));
	seed(dir, "symlink-hardlink", 1, 0, symlink_hardlink, 2);
	seed(dir, "symlink-dir", 1, 0, symlink_dir, 2);
	seed(dir, "symlink-file", 0, 0, symlink_file, 3);
	seed(dir, "dotdot", 0, 0, dotdot, 2);
	seed(dir, "replace", 1, 0, replace, 3);
	fz_write_seed(dir, "empty", "\0", 1);
}

/* --- the target ------------------------------------------------------------- */

static void cleanup(void)
{
	rm_tree(top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rlimit fsize = {FILE_MAX, FILE_MAX};
	const char *seeds = fz_seed_dir();
	char err[512];

	(void)argc, (void)argv;
	if (seeds)
		write_seeds(seeds);
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &fsize);
	/* tmpfs when it keeps user xattrs (VolFs needs them): many times faster than a disk */
	snprintf(top, sizeof(top), "/dev/shm/lxs-fuzz-unpack.XXXXXX");
	if (!mkdtemp(top) || setxattr(top, "user.lxs-probe", "1", 1, 0) < 0) {
		if (top[0] && strcmp(top + strlen(top) - 6, "XXXXXX"))
			rmdir(top);
		snprintf(top, sizeof(top), "/tmp/lxs-fuzz-unpack.XXXXXX");
		if (!mkdtemp(top))
			abort();
	}
	removexattr(top, "user.lxs-probe");
	snprintf(canary, sizeof(canary), "%s/canary", top);
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(input, sizeof(input), "%s/in.tar", top);
	snprintf(imgdir, sizeof(imgdir), "%s/img", top);
	snprintf(image, sizeof(image), "%s/ext4.img", imgdir);
	make_canary();
	if (mkdir(imgdir, 0700) < 0)
		abort();
	atexit(cleanup);
	canary_fp = fingerprint(&canary_fp_len);
	/* libext2fs registers its error table on first use: once, here */
	image_from_tar("/dev/null", -1, image, IMAGE_BYTES, NULL, NULL, err, sizeof(err));
	rm_tree(imgdir);
	mkdir(imgdir, 0700);
	return 0;
}

static void check_result(int r, const char *err)
{
	CHECK(r <= 0 && r > -4096);
	CHECK(memchr(err, 0, 512) != NULL);
	CHECK(r == 0 || err[0]);
	CHECK(!strchr(err, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	int fd, r;

	if (size < 1)
		return 0;
	fd = open(input, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)))
		abort();
	close(fd);

	err[0] = 0;
	r = volfs_unpack(input, root, NULL, NULL, err, sizeof(err));
	check_result(r, err);
	rm_tree(root);
	check_canary();

	if (data[0] & 1) {
		err[0] = 0;
		r = image_from_tar(input, -1, image, IMAGE_BYTES, NULL, NULL, err, sizeof(err));
		check_result(r, err);
		rm_tree(imgdir);
		mkdir(imgdir, 0700);
		check_canary();
	}
	return 0;
}
