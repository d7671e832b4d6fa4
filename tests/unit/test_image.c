/*
 * test_image.c - image_from_tar() and image_to_tar() (src/image), no root
 * needed. Tarballs are made here with libarchive's writer, converted, and
 * the image is read back with libext2fs (never mounted) attribute by
 * attribute; every image must also pass `e2fsck -fn`. One fixture tarball
 * holds every entry type and the hostile names; the cases after it break
 * the input (truncated, corrupt, empty, too big) and expect one clear error
 * and no image left behind.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <locale.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "common/posix_const.h"
#include "image/image.h"
#include "unit.h"

extern char **environ;

#define T_MTIME        1700000000
#define T_MTIME_NS     123456789
#define T_ATIME        1600000000
#define T_ATIME_NS     5
#define T_CTIME        1650000000
#define T_CTIME_NS     999999999
#define BIG_BYTES      (5u << 20)
#define SPARSE_BYTES   (10u << 20)
#define SPARSE_HOLE_AT (8u << 20)
#define SMALL_FS       (256ULL << 20)

/* The test state rides behind struct unit, so cases reach it through u. */
struct fix {
	struct unit u;
	char dir[64];
	char tar[128], img[128];
	int convert_rc;
	char err[512];
	struct image_progress last;
	int calls, warnings;
	char warn_text[8][700];
	uint8_t *big;
};

/* security.capability v2: effective, permitted = CAP_NET_RAW (13). */
static const uint8_t cap_net_raw[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00};

static const char long_target[] =
    "../../this/is/a/long/symlink/target/that/does/not/fit/into/the/inode/itself/"
    "so/it/needs/a/block/of/its/own/and/keeps/going/for/a/while/to/be/sure";
#define UNI_SHORT                                                                                  \
	"home/user/Gr\xc3\xbc\xc3\x9f"                                                             \
	"e-\xe6\x97\xa5\xe6\x9c\xac.txt"
#define UNI_LONG_DIR                                                                               \
	"home/user/\xd0\xb4\xd0\xbb\xd0\xb8\xd0\xbd\xd0\xbd\xd0\xbe\xd0\xb5-"                      \
	"\xd0\xb8\xd0\xbc\xd1\x8f-"                                                                \
	"\xd0\xba\xd0\xb0\xd1\x82\xd0\xb0\xd0\xbb\xd0\xbe\xd0\xb3\xd0\xb0-"                        \
	"\xd0\xb4\xd0\xbb\xd1\x8f-pax-"                                                            \
	"\xd0\xb7\xd0\xb0\xd0\xb3\xd0\xbe\xd0\xbb\xd0\xbe\xd0\xb2\xd0\xba\xd0\xb0"
#define UNI_LONG UNI_LONG_DIR "/\xe2\x82\xac-\xe2\x98\x83-file"

/* ---- helpers ----------------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	while (n--) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*p++ = (uint8_t)x;
	}
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* How many names in dir contain `part` (temp files left behind, images). */
static int count_names(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strstr(de->d_name, part) != NULL;
	closedir(d);
	return n;
}

static int run_prog(const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int st;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, exec_vec(argv), environ)) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* e2fsck -fn: 0 when the file system is clean. */
static int fsck(const char *img)
{
	const char *argv[] = {"/sbin/e2fsck", "-fn", img, NULL};

	if (access(argv[0], X_OK))
		argv[0] = "/usr/sbin/e2fsck";
	return run_prog(argv);
}

static struct archive_entry *ent(const char *path, unsigned int type, unsigned int perm,
				 int64_t uid, int64_t gid)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
	archive_entry_set_mtime(e, T_MTIME, T_MTIME_NS);
	return e;
}

/* Writes the entry (and size bytes of data, if any), then frees it. */
static int put(struct archive *a, struct archive_entry *e, const void *data, size_t size)
{
	int r;

	archive_entry_set_size(e, (la_int64_t)size);
	r = archive_write_header(a, e);
	if (r == ARCHIVE_OK && size && archive_write_data(a, data, size) != (la_ssize_t)size)
		r = ARCHIVE_FATAL;
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : -1;
}

enum filt { F_NONE, F_GZ, F_XZ, F_ZSTD };

static struct archive *tar_open(const char *path, enum filt f)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_pax(a);
	if (f == F_GZ)
		archive_write_add_filter_gzip(a);
	else if (f == F_XZ)
		archive_write_add_filter_xz(a);
	else if (f == F_ZSTD)
		archive_write_add_filter_zstd(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		archive_write_free(a);
		return NULL;
	}
	return a;
}

static int tar_close(struct archive *a)
{
	int r = archive_write_close(a);

	archive_write_free(a);
	return r == ARCHIVE_OK ? 0 : -1;
}

/* A small tarball: one directory, one file with `content`. */
static int small_tar(const char *path, enum filt f, const char *content)
{
	struct archive *a = tar_open(path, f);
	int r;

	if (!a)
		return -1;
	r = put(a, ent("etc/", AE_IFDIR, 0755, 0, 0), NULL, 0);
	r |= put(a, ent("etc/hostname", AE_IFREG, 0644, 0, 0), content, strlen(content));
	return tar_close(a) | r;
}

/*
 * The everything tarball of the fixture. Written in a UTF-8 locale, as GNU
 * tar on a desktop writes them (pax names in UTF-8, no hdrcharset), and read
 * back by the library in this program's C locale.
 */
static int fixture_tar(struct fix *f)
{
	struct archive *a;
	struct archive_entry *e;
	uint8_t *sparse;
	char deep[1024];
	int r = 0, i;

	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		return -1;
	a = tar_open(f->tar, F_NONE);
	if (!a)
		return -1;
	e = ent("./", AE_IFDIR, 0755, 0, 0);
	archive_entry_set_mtime(e, T_MTIME - 1, 7);
	r |= put(a, e, NULL, 0);
	r |= put(a, ent("etc/", AE_IFDIR, 0755, 0, 0), NULL, 0);

	e = ent("etc/passwd", AE_IFREG, 0644, 0, 0);
	archive_entry_set_atime(e, T_ATIME, T_ATIME_NS);
	archive_entry_set_ctime(e, T_CTIME, T_CTIME_NS);
	r |= put(a, e, "root:x:0:0:root:/root:/bin/sh\n", 30);

	/* Parents home/ and home/user/ come later or never: they must be made. */
	r |= put(a, ent("home/user/.profile", AE_IFREG, 0600, 1000, 1000), "PS1='$ '\n", 9);
	r |= put(a, ent("home/user/", AE_IFDIR, 0700, 1000, 1000), NULL, 0);
	r |= put(a, ent("var/nobody", AE_IFREG, 0400, 65534, 65534), "n", 1);
	r |= put(a, ent("var/highid", AE_IFREG, 0644, 100000, 4000000000LL), "h", 1);
	r |= put(a, ent("usr/bin/su", AE_IFREG, 04755, 0, 0),
		 "\x7f"
		 "ELFsu",
		 6);
	r |= put(a, ent("var/mail/", AE_IFDIR, 02775, 0, 8), NULL, 0);
	r |= put(a, ent("tmp/", AE_IFDIR, 01777, 0, 0), NULL, 0);
	r |= put(a, ent("usr/bin/nothing", AE_IFREG, 0, 0, 0), NULL, 0);

	e = ent("usr/bin/su-hardlink", AE_IFREG, 04755, 0, 0);
	archive_entry_copy_hardlink(e, "usr/bin/su");
	r |= put(a, e, NULL, 0);

	e = ent("bin", AE_IFLNK, 0777, 0, 0);
	archive_entry_copy_symlink(e, "usr/bin");
	r |= put(a, e, NULL, 0);
	e = ent("usr/lib/long", AE_IFLNK, 0777, 0, 0);
	archive_entry_copy_symlink(e, long_target);
	r |= put(a, e, NULL, 0);

	e = ent("usr/bin/ping", AE_IFREG, 0755, 0, 0);
	archive_entry_xattr_add_entry(e, "security.capability", cap_net_raw, sizeof(cap_net_raw));
	archive_entry_xattr_add_entry(e, "user.comment", "hello", 5);
	archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
	r |= put(a, e,
		 "\x7f"
		 "ELFping",
		 8);

	e = ent("var/acl", AE_IFREG, 0640, 0, 0);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
				    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_WRITE,
				    ARCHIVE_ENTRY_ACL_USER, 1000, "user");
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
				    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_WRITE,
				    ARCHIVE_ENTRY_ACL_MASK, -1, NULL);
	r |= put(a, e, "acl", 3);

	e = ent("dev/null", AE_IFCHR, 0666, 0, 0);
	archive_entry_set_rdevmajor(e, 1);
	archive_entry_set_rdevminor(e, 3);
	r |= put(a, e, NULL, 0);
	e = ent("dev/sda", AE_IFBLK, 0660, 0, 6);
	archive_entry_set_rdevmajor(e, 8);
	archive_entry_set_rdevminor(e, 0);
	r |= put(a, e, NULL, 0);
	e = ent("dev/big", AE_IFCHR, 0600, 0, 0);
	archive_entry_set_rdevmajor(e, 300);
	archive_entry_set_rdevminor(e, 70000);
	r |= put(a, e, NULL, 0);
	r |= put(a, ent("run/initctl", AE_IFIFO, 0600, 0, 0), NULL, 0);

	sparse = calloc(1, SPARSE_BYTES);
	if (!sparse)
		return -1;
	fill(sparse, 4096, 1);
	fill(sparse + SPARSE_HOLE_AT, 4096, 2);
	e = ent("var/sparse", AE_IFREG, 0644, 0, 0);
	archive_entry_set_size(e, SPARSE_BYTES); /* libarchive checks the map against it */
	archive_entry_sparse_add_entry(e, 0, 4096);
	archive_entry_sparse_add_entry(e, SPARSE_HOLE_AT, 4096);
	r |= put(a, e, sparse, SPARSE_BYTES);
	free(sparse);

	fill(f->big, BIG_BYTES, 3);
	r |= put(a, ent("usr/share/big", AE_IFREG, 0644, 0, 0), f->big, BIG_BYTES);

	r |= put(a, ent(UNI_SHORT, AE_IFREG, 0644, 1000, 1000), "u", 1);
	r |= put(a, ent(UNI_LONG, AE_IFREG, 0644, 1000, 1000), "U", 1);

	strcpy(deep, "deep");
	for (i = 0; i < 60; i++)
		strcat(deep, "/d");
	strcat(deep, "/file");
	r |= put(a, ent(deep, AE_IFREG, 0644, 0, 0), "deep", 4);

	/* A later entry replaces an earlier one of the same name. */
	r |= put(a, ent("etc/motd", AE_IFREG, 0644, 0, 0), "first version\n", 14);
	r |= put(a, ent("etc/motd", AE_IFREG, 0644, 0, 0), "second\n", 7);

	/* A hard-linked file loses one name to a newer entry: one link left. */
	r |= put(a, ent("etc/hl-a", AE_IFREG, 0644, 0, 0), "hl", 2);
	e = ent("etc/hl-b", AE_IFREG, 0644, 0, 0);
	archive_entry_copy_hardlink(e, "etc/hl-a");
	r |= put(a, e, NULL, 0);
	r |= put(a, ent("etc/hl-b", AE_IFREG, 0644, 0, 0), "new", 3);

	/* A symlink replaced by a folder: the folder it named keeps its mode. */
	e = ent("ul", AE_IFLNK, 0777, 0, 0);
	archive_entry_copy_symlink(e, "/usr");
	r |= put(a, e, NULL, 0);
	r |= put(a, ent("ul", AE_IFDIR, 0700, 0, 0), NULL, 0);
	r |= put(a, ent("ul/inside", AE_IFREG, 0644, 0, 0), "c", 1);

	/* An attribute ext4 has no namespace for: dropped with a warning, file kept. */
	e = ent("etc/odd", AE_IFREG, 0644, 0, 0);
	archive_entry_xattr_add_entry(e, "os2.weird", "w", 1);
	r |= put(a, e, "odd", 3);

	/* An absolute name (kept, inside) and a name too long for ext4 (skipped);
	 * the hostile ones fail the whole import, see t_hostile. */
	r |= put(a, ent("/abs/file", AE_IFREG, 0644, 0, 0), "abs", 3);
	memset(deep, 'n', 300);
	strcpy(deep + 300, "/x");
	r |= put(a, ent(deep, AE_IFREG, 0644, 0, 0), "x", 1);
	r |= tar_close(a);
	setlocale(LC_CTYPE, "C");
	return r;
}

static int progress_cb(const struct image_progress *p, void *arg)
{
	struct fix *f = arg;

	f->calls++;
	f->last = *p;
	if (p->warning) {
		if (f->warnings < 8)
			snprintf(f->warn_text[f->warnings], sizeof(f->warn_text[0]), "%s",
				 p->warning);
		f->warnings++;
	}
	return 0;
}

/* ---- reading the image back ------------------------------------------------------------ */

static ext2_filsys img_open(const char *path)
{
	ext2_filsys fs = NULL;

	if (ext2fs_open2(path, NULL, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs))
		return NULL;
	return fs;
}

static ext2_ino_t lookup(ext2_filsys fs, const char *path)
{
	ext2_ino_t ino = 0;

	if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino))
		return 0;
	return ino;
}

static int inode(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode_large *li)
{
	memset(li, 0, sizeof(*li));
	return ino && !ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)li, sizeof(*li)) ? 0
											     : -1;
}

/* The whole content of a file (malloc'd, NUL added), or NULL. */
static char *content(ext2_filsys fs, const char *path, size_t *len)
{
	ext2_ino_t ino = lookup(fs, path);
	struct ext2_inode_large li;
	ext2_file_t file;
	unsigned int got = 0;
	char *buf;
	size_t size;

	if (inode(fs, ino, &li))
		return NULL;
	size = EXT2_I_SIZE(&li);
	buf = malloc(size + 1);
	if (!buf || ext2fs_file_open(fs, ino, 0, &file)) {
		free(buf);
		return NULL;
	}
	if (size && (ext2fs_file_read(file, buf, (unsigned int)size, &got) || got != size)) {
		ext2fs_file_close(file);
		free(buf);
		return NULL;
	}
	ext2fs_file_close(file);
	buf[size] = 0;
	if (len)
		*len = size;
	return buf;
}

static int has_content(ext2_filsys fs, const char *path, const char *want)
{
	char *c = content(fs, path, NULL);
	int ok = c && !strcmp(c, want);

	free(c);
	return ok;
}

/* The xattr value (malloc'd) and its length, or NULL. */
static void *xattr(ext2_filsys fs, const char *path, const char *name, size_t *len)
{
	struct ext2_xattr_handle *h;
	void *v = NULL;

	if (ext2fs_xattrs_open(fs, lookup(fs, path), &h))
		return NULL;
	if (ext2fs_xattrs_read(h) || ext2fs_xattr_get(h, name, &v, len))
		v = NULL;
	ext2fs_xattrs_close(&h);
	return v;
}

static char *symlink_target(ext2_filsys fs, const char *path)
{
	struct ext2_inode_large li;
	char *t;

	if (inode(fs, lookup(fs, path), &li) || !LINUX_S_ISLNK(li.i_mode))
		return NULL;
	if (ext2fs_is_fast_symlink((struct ext2_inode *)&li)) {
		t = calloc(1, 61);
		if (t)
			memcpy(t, li.i_block, EXT2_I_SIZE(&li));
		return t;
	}
	return content(fs, path, NULL);
}

static unsigned int uid_of(const struct ext2_inode_large *li)
{
	return inode_uid(*li);
}

static unsigned int gid_of(const struct ext2_inode_large *li)
{
	return inode_gid(*li);
}

/* ---- the fixture ---------------------------------------------------------------------- */

static void t_convert_everything(struct unit *u)
{
	struct fix *f = (struct fix *)u;

	CHECK(u, fixture_tar(f) == 0);
	f->convert_rc =
	    image_from_tar(f->tar, -1, f->img, 0, progress_cb, f, f->err, sizeof(f->err));
	if (f->convert_rc)
		fprintf(stderr, "conversion failed: %s\n", f->err);
	CHECK(u, f->convert_rc == 0);
	CHECK(u, f->last.done == 1);
	CHECK(u, f->last.in_total > 0 && f->last.in_bytes == f->last.in_total);
	CHECK(u, f->last.data_bytes >= BIG_BYTES + 8192);
	CHECK(u, count_names(f->dir, ".tmp-") == 0);
}

static void t_fixture_fsck(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	struct stat st;

	CHECK(u, f->convert_rc == 0);
	CHECK(u, fsck(f->img) == 0);
	/* Default size, sparse: 64 GiB long, a small fraction of it written. */
	CHECK(u, stat(f->img, &st) == 0);
	CHECK(u, (uint64_t)st.st_size == IMAGE_DEFAULT_BYTES);
	CHECK(u, (uint64_t)st.st_blocks * 512 < (64ULL << 20));
}

static void t_types_and_modes(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	struct ext2_inode_large li;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	CHECK(u, inode(fs, lookup(fs, "/etc/passwd"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFREG | 0644));
	CHECK(u, has_content(fs, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"));
	CHECK(u, inode(fs, lookup(fs, "/usr/bin/su"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFREG | 04755));
	CHECK(u, inode(fs, lookup(fs, "/var/mail"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFDIR | 02775) && gid_of(&li) == 8);
	CHECK(u, inode(fs, lookup(fs, "/tmp"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFDIR | 01777));
	CHECK(u, inode(fs, lookup(fs, "/usr/bin/nothing"), &li) == 0);
	CHECK(u, li.i_mode == LINUX_S_IFREG && EXT2_I_SIZE(&li) == 0);
	CHECK(u, inode(fs, lookup(fs, "/home/user"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFDIR | 0700));
	/* Made because the tarball lacks it: root-owned 0755. */
	CHECK(u, inode(fs, lookup(fs, "/home"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFDIR | 0755) && uid_of(&li) == 0);
	CHECK(u, inode(fs, lookup(fs, "/run/initctl"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFIFO | 0600));
	/* Directory link counts: 2 + subdirectories. */
	CHECK(u, inode(fs, lookup(fs, "/usr"), &li) == 0);
	CHECK(u, li.i_links_count == 2 + 3); /* bin, lib, share */
	CHECK(u, lookup(fs, "/lost+found") != 0);
	ext2fs_close_free(&fs);
}

static void t_owners(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	struct ext2_inode_large li;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	CHECK(u, inode(fs, lookup(fs, "/home/user/.profile"), &li) == 0);
	CHECK(u, uid_of(&li) == 1000 && gid_of(&li) == 1000);
	CHECK(u, inode(fs, lookup(fs, "/home/user"), &li) == 0);
	CHECK(u, uid_of(&li) == 1000 && gid_of(&li) == 1000);
	CHECK(u, inode(fs, lookup(fs, "/var/nobody"), &li) == 0);
	CHECK(u,
	      uid_of(&li) == 65534 && gid_of(&li) == 65534 && li.i_mode == (LINUX_S_IFREG | 0400));
	/* Ids above 16 bits need the high halves. */
	CHECK(u, inode(fs, lookup(fs, "/var/highid"), &li) == 0);
	CHECK(u, uid_of(&li) == 100000 && gid_of(&li) == 4000000000u);
	CHECK(u, inode(fs, lookup(fs, "/etc/passwd"), &li) == 0);
	CHECK(u, uid_of(&li) == 0 && gid_of(&li) == 0);
	ext2fs_close_free(&fs);
}

static void t_times(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	struct ext2_inode_large li;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	CHECK(u, inode(fs, lookup(fs, "/etc/passwd"), &li) == 0);
	CHECK(u, li.i_mtime == T_MTIME && li.i_mtime_extra >> 2 == T_MTIME_NS);
	CHECK(u, li.i_atime == T_ATIME && li.i_atime_extra >> 2 == T_ATIME_NS);
	CHECK(u, li.i_ctime == T_CTIME && li.i_ctime_extra >> 2 == T_CTIME_NS);
	CHECK(u, (li.i_mtime_extra & 3) == 0);
	CHECK(u, li.i_extra_isize >= 24);
	/* The root takes the "./" entry's metadata. */
	CHECK(u, inode(fs, EXT2_ROOT_INO, &li) == 0);
	CHECK(u, li.i_mtime == T_MTIME - 1 && li.i_mtime_extra >> 2 == 7);
	CHECK(u, inode(fs, lookup(fs, "/dev/null"), &li) == 0);
	CHECK(u, li.i_mtime == T_MTIME && li.i_mtime_extra >> 2 == T_MTIME_NS);
	ext2fs_close_free(&fs);
}

static void t_hardlinks(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	struct ext2_inode_large li;
	ext2_ino_t a, b;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	a = lookup(fs, "/usr/bin/su");
	b = lookup(fs, "/usr/bin/su-hardlink");
	CHECK(u, a && a == b);
	CHECK(u, inode(fs, a, &li) == 0);
	CHECK(u, li.i_links_count == 2);
	CHECK(u, has_content(fs, "/usr/bin/su-hardlink",
			     "\x7f"
			     "ELFsu"));
	ext2fs_close_free(&fs);
}

static void t_symlinks(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	struct ext2_inode_large li;
	char *t;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	t = symlink_target(fs, "/bin");
	CHECK(u, t && !strcmp(t, "usr/bin"));
	free(t);
	CHECK(u, inode(fs, lookup(fs, "/bin"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFLNK | 0777) && !(li.i_flags & EXT4_EXTENTS_FL));
	t = symlink_target(fs, "/usr/lib/long");
	CHECK(u, t && !strcmp(t, long_target));
	free(t);
	CHECK(u, inode(fs, lookup(fs, "/usr/lib/long"), &li) == 0);
	CHECK(u, EXT2_I_SIZE(&li) == strlen(long_target) && (li.i_flags & EXT4_EXTENTS_FL));
	ext2fs_close_free(&fs);
}

static void t_devices(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	struct ext2_inode_large li;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	CHECK(u, inode(fs, lookup(fs, "/dev/null"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFCHR | 0666));
	CHECK(u, li.i_block[0] == ((1 << 8) | 3));
	CHECK(u, inode(fs, lookup(fs, "/dev/sda"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFBLK | 0660) && gid_of(&li) == 6);
	CHECK(u, li.i_block[0] == (8 << 8));
	/* Past 8 bits: Linux's new encoding in i_block[1]. */
	CHECK(u, inode(fs, lookup(fs, "/dev/big"), &li) == 0);
	CHECK(u, li.i_block[0] == 0);
	CHECK(u, li.i_block[1] == ((70000u & 0xff) | (300u << 8) | ((70000u & ~0xffu) << 12)));
	ext2fs_close_free(&fs);
}

static void t_xattrs(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	size_t len = 0;
	void *v;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	v = xattr(fs, "/usr/bin/ping", "security.capability", &len);
	CHECK(u, v && len == sizeof(cap_net_raw) && !memcmp(v, cap_net_raw, len));
	free(v);
	v = xattr(fs, "/usr/bin/ping", "user.comment", &len);
	CHECK(u, v && len == 5 && !memcmp(v, "hello", 5));
	free(v);
	v = xattr(fs, "/usr/bin/ping", "trusted.overlay.opaque", &len);
	CHECK(u, v && len == 1 && !memcmp(v, "y", 1));
	free(v);
	CHECK(u, has_content(fs, "/usr/bin/ping",
			     "\x7f"
			     "ELFping"));
	/* The ACL as Linux's xattr: version 2, then user::, user:1000:rw-, group::, mask::,
	 * other::. */
	v = xattr(fs, "/var/acl", "system.posix_acl_access", &len);
	CHECK(u, v && len == 4 + 5 * 8);
	if (v && len == 4 + 5 * 8) {
		const uint8_t *p = v;
		uint16_t tag, perm;
		uint32_t id;

		memcpy(&tag, p + 4 + 8, 2);
		memcpy(&perm, p + 4 + 8 + 2, 2);
		memcpy(&id, p + 4 + 8 + 4, 4);
		CHECK(u, tag == 0x02 && perm == 6 && id == 1000);
		memcpy(&tag, p + 4 + 3 * 8, 2);
		CHECK(u, tag == 0x10);
	}
	free(v);
	CHECK(u, xattr(fs, "/etc/passwd", "security.capability", &len) == NULL);
	ext2fs_close_free(&fs);
}

static void t_sparse_and_big(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	struct ext2_inode_large li;
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	uint8_t want[4096];
	blk64_t pblk = 1;
	size_t len = 0;
	char *c;
	int n = 0;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	c = content(fs, "/var/sparse", &len);
	CHECK(u, c && len == SPARSE_BYTES);
	if (c && len == SPARSE_BYTES) {
		fill(want, sizeof(want), 1);
		CHECK(u, !memcmp(c, want, 4096));
		fill(want, sizeof(want), 2);
		CHECK(u, !memcmp(c + SPARSE_HOLE_AT, want, 4096));
		CHECK(u, c[4096] == 0 && c[SPARSE_HOLE_AT - 1] == 0 && c[SPARSE_BYTES - 1] == 0);
	}
	free(c);
	/* Only the two data blocks are allocated; the hole stays a hole. */
	CHECK(u, inode(fs, lookup(fs, "/var/sparse"), &li) == 0);
	CHECK(u, ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&li) == 2 * 8);
	CHECK(u, ext2fs_bmap2(fs, lookup(fs, "/var/sparse"), (struct ext2_inode *)&li, NULL, 0, 1,
			      NULL, &pblk) == 0 &&
		     pblk == 0);

	c = content(fs, "/usr/share/big", &len);
	CHECK(u, c && len == BIG_BYTES && !memcmp(c, f->big, BIG_BYTES));
	free(c);
	/* Written as one extent, not block by block. */
	CHECK(u, inode(fs, lookup(fs, "/usr/share/big"), &li) == 0);
	CHECK(u, ext2fs_extent_open2(fs, lookup(fs, "/usr/share/big"), (struct ext2_inode *)&li,
				     &h) == 0);
	for (errcode_t e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex); !e;
	     e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex))
		n += !!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF);
	ext2fs_extent_free(h);
	CHECK(u, n == 1);
	ext2fs_close_free(&fs);
}

static void t_names(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	char deep[1024];
	int i;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	CHECK(u, has_content(fs, "/" UNI_SHORT, "u"));
	CHECK(u, has_content(fs, "/" UNI_LONG, "U"));
	strcpy(deep, "/deep");
	for (i = 0; i < 60; i++)
		strcat(deep, "/d");
	strcat(deep, "/file");
	CHECK(u, has_content(fs, deep, "deep"));
	/* The later of two entries with one name wins. */
	CHECK(u, has_content(fs, "/etc/motd", "second\n"));
	ext2fs_close_free(&fs);
}

static bool warned(const struct fix *f, const char *a, const char *b)
{
	int i;

	for (i = 0; i < f->warnings && i < 8; i++)
		if (strstr(f->warn_text[i], a) && strstr(f->warn_text[i], b))
			return true;
	return false;
}

static void t_skips(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	CHECK(u, lookup(fs, "/x") == 0);
	/* An absolute name is taken relative to the image root. */
	CHECK(u, has_content(fs, "/abs/file", "abs"));
	/* The name too long skipped with a warning, plus the dropped xattr. */
	CHECK(u, f->last.skipped == 1);
	CHECK(u, f->warnings == 2);
	CHECK(u, warned(f, "nnnn", "longer than 255"));
	CHECK(u, warned(f, "os2.weird", "left out"));
	ext2fs_close_free(&fs);
}

static void t_replace_and_chains(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	ext2_filsys fs = img_open(f->img);
	struct ext2_inode_large li;

	CHECK(u, fs != NULL);
	if (!fs)
		return;
	CHECK(u, has_content(fs, "/etc/hl-a", "hl") && has_content(fs, "/etc/hl-b", "new"));
	CHECK(u, lookup(fs, "/etc/hl-a") != lookup(fs, "/etc/hl-b"));
	CHECK(u, inode(fs, lookup(fs, "/etc/hl-a"), &li) == 0 && li.i_links_count == 1);
	/* The symlink ul -> /usr became a folder of its own; /usr is untouched. */
	CHECK(u, inode(fs, lookup(fs, "/ul"), &li) == 0 && li.i_mode == (LINUX_S_IFDIR | 0700));
	CHECK(u, has_content(fs, "/ul/inside", "c") && lookup(fs, "/usr/inside") == 0);
	CHECK(u, inode(fs, lookup(fs, "/usr"), &li) == 0 && (li.i_mode & 07777) == 0755);
	CHECK(u, has_content(fs, "/etc/odd", "odd"));
	ext2fs_close_free(&fs);
}

/*
 * Hostile entries (common/tar_rules.h) fail the whole import with one
 * sentence naming the entry: a ".." anywhere, a name or a hard link target
 * through a symlink (one the archive made; inside the image it could not
 * reach the host, but version 1 would, and both keep the same rules), a
 * hard link to nothing.
 */
static void expect_failure(struct unit *u, struct fix *f, const char *tar, int want_rc,
			   const char *words);

static void t_hostile(struct unit *u)
{
	static const struct {
		const char *sym, *target; /* a symlink first, if sym */
		const char *name, *link;  /* then this entry, a hard link if link */
		const char *words;
	} c[] = {
	    {NULL, NULL, "../escape", NULL, "entry '../escape' has '..' in its name"},
	    {NULL, NULL, "etc/../../escape2", NULL, "'etc/../../escape2' has '..'"},
	    {NULL, NULL, "etc/../etc/x", NULL, "'etc/../etc/x' has '..'"},
	    {NULL, NULL, "etc/shadow-link", "../../etc/shadow",
	     "'etc/shadow-link' is a hard link to '../../etc/shadow', which has '..'"},
	    {NULL, NULL, "etc/nowhere-link", "not/there",
	     "'etc/nowhere-link' is a hard link to 'not/there', which the archive does not hold"},
	    {"bin", "usr/bin", "bin/via-link", NULL,
	     "entry 'bin/via-link' would be written through the symlink 'bin'"},
	    {"ul2", "/usr", "./ul2/lib/chained", NULL,
	     "entry 'ul2/lib/chained' would be written through the symlink 'ul2'"},
	    {"loop1", "loop1", "loop1/x", NULL, "through the symlink 'loop1'"},
	    {"etcx", "/etc", "pw", "etcx/passwd",
	     "entry 'pw' is a hard link to 'etcx/passwd', which is reached through the symlink "
	     "'etcx'"},
	    {NULL, NULL, "etc/hostname/x", NULL,
	     "entry 'etc/hostname/x' needs 'etc/hostname' to be a folder"},
	};
	struct fix *f = (struct fix *)u;
	char tar[160];
	size_t i;

	snprintf(tar, sizeof(tar), "%s/hostile.tar", f->dir);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct archive *a = tar_open(tar, F_NONE);
		struct archive_entry *e;
		int r;

		CHECK(u, a != NULL);
		if (!a)
			return;
		r = put(a, ent("etc/", AE_IFDIR, 0755, 0, 0), NULL, 0);
		r |= put(a, ent("etc/hostname", AE_IFREG, 0644, 0, 0), "h", 1);
		r |= put(a, ent("usr/bin/", AE_IFDIR, 0755, 0, 0), NULL, 0);
		if (c[i].sym) {
			e = ent(c[i].sym, AE_IFLNK, 0777, 0, 0);
			archive_entry_copy_symlink(e, c[i].target);
			r |= put(a, e, NULL, 0);
		}
		e = ent(c[i].name, AE_IFREG, 0644, 0, 0);
		if (c[i].link)
			archive_entry_copy_hardlink(e, c[i].link);
		r |= put(a, e, "x", c[i].link ? 0 : 1);
		CHECK(u, (tar_close(a) | r) == 0);
		expect_failure(u, f, tar, 0, c[i].words);
		expect_failure(u, f, tar, 0, "it cannot be imported");
	}
}

/* ---- formats and streams --------------------------------------------------------------- */

static void check_small(struct unit *u, struct fix *f, const char *img, const char *want)
{
	ext2_filsys fs = img_open(img);

	CHECK(u, fs != NULL);
	if (fs) {
		CHECK(u, has_content(fs, "/etc/hostname", want));
		ext2fs_close_free(&fs);
	}
	CHECK(u, fsck(img) == 0);
	(void)f;
}

static void t_compressed(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	static const struct {
		enum filt f;
		const char *name;
	} v[] = {{F_GZ, "gz"}, {F_XZ, "xz"}, {F_ZSTD, "zst"}};
	char tar[160], img[160], err[256];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(tar, sizeof(tar), "%s/small.tar.%s", f->dir, v[i].name);
		snprintf(img, sizeof(img), "%s/small-%s.img", f->dir, v[i].name);
		CHECK(u, small_tar(tar, v[i].f, v[i].name) == 0);
		CHECK(u, image_from_tar(tar, -1, img, SMALL_FS, NULL, NULL, err, sizeof(err)) == 0);
		check_small(u, f, img, v[i].name);
	}
}

static void t_stream(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char tar[160], img[160], err[256];
	int p[2], fd;
	pid_t pid;

	snprintf(tar, sizeof(tar), "%s/stream.tar.gz", f->dir);
	snprintf(img, sizeof(img), "%s/stream.img", f->dir);
	CHECK(u, small_tar(tar, F_GZ, "streamed") == 0);
	CHECK(u, pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		char buf[4096];
		ssize_t n;

		close(p[0]);
		fd = open(tar, O_RDONLY);
		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			if (write(p[1], buf, (size_t)n) != n)
				break;
		_exit(0);
	}
	close(p[1]);
	f->calls = 0;
	memset(&f->last, 0, sizeof(f->last));
	CHECK(u, image_from_tar("-", p[0], img, SMALL_FS, progress_cb, f, err, sizeof(err)) == 0);
	close(p[0]);
	waitpid(pid, NULL, 0);
	CHECK(u, f->last.done && f->last.in_total == 0 && f->last.in_bytes > 0);
	CHECK(u, f->last.entries == 2);
	check_small(u, f, img, "streamed");
}

/* ---- bad input: one clear error, no image ------------------------------------------------ */

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* The first n bytes of src as dst. */
static int copy_prefix(const char *src, const char *dst, size_t n)
{
	char *buf = malloc(n);
	int fd = open(src, O_RDONLY), r = -1;

	if (buf && fd >= 0 && read(fd, buf, n) == (ssize_t)n)
		r = write_file(dst, buf, n);
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

/* Converts `tar` into "<dir>/bad.img", expects failure with a message holding `words`. */
static void expect_failure(struct unit *u, struct fix *f, const char *tar, int want_rc,
			   const char *words)
{
	char img[160], err[512] = "";
	int rc;

	snprintf(img, sizeof(img), "%s/bad.img", f->dir);
	unlink(img);
	rc = image_from_tar(tar, -1, img, SMALL_FS, NULL, NULL, err, sizeof(err));
	CHECK(u, rc < 0);
	if (want_rc)
		CHECK(u, rc == want_rc);
	CHECK(u, err[0] && !strchr(err, '\n'));
	CHECK(u, strstr(err, words) != NULL);
	if (!strstr(err, words))
		fprintf(stderr, "message was: %s\n", err);
	CHECK(u, access(img, F_OK) != 0);
	CHECK(u, count_names(f->dir, ".tmp-") == 0);
}

static void t_truncated(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char tar[160];
	struct stat st;

	/* Cut in the middle of the file data. */
	snprintf(tar, sizeof(tar), "%s/truncated.tar", f->dir);
	CHECK(u, stat(f->tar, &st) == 0);
	CHECK(u, copy_prefix(f->tar, tar, (size_t)st.st_size / 2) == 0);
	expect_failure(u, f, tar, 0, "truncated");
}

static void t_truncated_gz(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char tar[160], cut[160];
	struct archive *a;
	uint8_t *junk = malloc(1 << 20);

	snprintf(tar, sizeof(tar), "%s/big.tar.gz", f->dir);
	snprintf(cut, sizeof(cut), "%s/cut.tar.gz", f->dir);
	a = tar_open(tar, F_GZ);
	CHECK(u, a && junk);
	if (!a || !junk) {
		free(junk);
		return;
	}
	fill(junk, 1 << 20, 9); /* incompressible, so the cut lands inside it */
	CHECK(u, put(a, ent("junk", AE_IFREG, 0644, 0, 0), junk, 1 << 20) == 0);
	CHECK(u, tar_close(a) == 0);
	free(junk);
	CHECK(u, copy_prefix(tar, cut, 500000) == 0);
	expect_failure(u, f, cut, 0, "truncated");
}

static void t_corrupt(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char tar[160];
	uint8_t junk[65536];

	snprintf(tar, sizeof(tar), "%s/corrupt.tar", f->dir);
	fill(junk, sizeof(junk), 42);
	CHECK(u, write_file(tar, junk, sizeof(junk)) == 0);
	expect_failure(u, f, tar, -EINVAL, "not a tar archive");
}

static void t_corrupt_header(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char tar[160];
	uint8_t *buf;
	size_t len = 3 * 512;

	/* A tarball whose second header has a broken checksum. */
	snprintf(tar, sizeof(tar), "%s/badsum.tar", f->dir);
	CHECK(u, small_tar(tar, F_NONE, "x") == 0);
	buf = calloc(1, 1 << 16);
	CHECK(u, buf != NULL);
	if (!buf)
		return;
	{
		int fd = open(tar, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, 1 << 16) : -1;

		if (fd >= 0)
			close(fd);
		CHECK(u, n > (ssize_t)len);
		len = n > 0 ? (size_t)n : 0;
	}
	/* pax: [pax hdr][pax data][etc/][pax hdr][pax data][etc/hostname]... damage the last one's
	 * name */
	for (size_t off = 512; off + 512 <= len; off += 512)
		if (!memcmp(buf + off, "etc/hostname", 12)) {
			buf[off] = 'X';
			break;
		}
	CHECK(u, write_file(tar, buf, len) == 0);
	free(buf);
	expect_failure(u, f, tar, 0, "damaged");
}

static void t_empty(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char tar[160];
	uint8_t zeros[10240] = {0};

	snprintf(tar, sizeof(tar), "%s/empty.tar", f->dir);
	CHECK(u, write_file(tar, "", 0) == 0);
	expect_failure(u, f, tar, -EINVAL, "the archive holds no entries");
	/* A well-formed tarball with no entries is no distribution either. */
	snprintf(tar, sizeof(tar), "%s/noentries.tar", f->dir);
	CHECK(u, write_file(tar, zeros, sizeof(zeros)) == 0);
	expect_failure(u, f, tar, -EINVAL, "the archive holds no entries");
	expect_failure(u, f, "/nonexistent/x.tar", -ENOENT, "cannot open /nonexistent/x.tar");
	expect_failure(u, f, f->dir, -EISDIR, "is a directory");
}

static void t_too_small(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char tar[160], img[160], err[512];
	struct archive *a;
	uint8_t *data = malloc(40 << 20);

	snprintf(tar, sizeof(tar), "%s/huge.tar", f->dir);
	snprintf(img, sizeof(img), "%s/huge.img", f->dir);
	a = tar_open(tar, F_ZSTD);
	CHECK(u, a && data);
	if (!a || !data) {
		free(data);
		return;
	}
	fill(data, 40 << 20, 5);
	CHECK(u, put(a, ent("huge", AE_IFREG, 0644, 0, 0), data, 40 << 20) == 0);
	CHECK(u, tar_close(a) == 0);
	free(data);
	CHECK(u, image_from_tar(tar, -1, img, 16 << 20, NULL, NULL, err, sizeof(err)) == -ENOSPC);
	CHECK(u, strstr(err, "full") != NULL);
	CHECK(u, access(img, F_OK) != 0 && count_names(f->dir, ".tmp-") == 0);
	CHECK(u, image_from_tar(tar, -1, img, 1 << 20, NULL, NULL, err, sizeof(err)) == -EINVAL);
}

static int cancel_cb(const struct image_progress *p, void *arg)
{
	(void)arg;
	return p->entries >= 3;
}

static void t_cancel_keeps_old_image(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char img[160], err[512];
	char buf[8] = "";
	int fd;

	snprintf(img, sizeof(img), "%s/old.img", f->dir);
	CHECK(u, write_file(img, "old", 3) == 0);
	CHECK(u, image_from_tar(f->tar, -1, img, SMALL_FS, cancel_cb, NULL, err, sizeof(err)) ==
		     -ECANCELED);
	CHECK(u, strstr(err, "cancelled") != NULL);
	/* The failed conversion leaves the image that was there untouched. */
	fd = open(img, O_RDONLY);
	CHECK(u, fd >= 0 && read(fd, buf, sizeof(buf)) == 3 && !memcmp(buf, "old", 3));
	if (fd >= 0)
		close(fd);
	CHECK(u, count_names(f->dir, ".tmp-") == 0);
}

static int kill_cb(const struct image_progress *p, void *arg)
{
	(void)arg;
	if (p->entries >= 3)
		raise(SIGKILL);
	return 0;
}

/*
 * kill -9 in the middle of an import (a crash, the OOM killer): the image
 * that was there stays as it was, and where there was none, none appears;
 * only a temporary file is left, under a name no distro uses.
 */
static void t_killed_import(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char old[160], fresh[160], err[512];
	char buf[8] = "";
	int fd, st = 0;

	snprintf(old, sizeof(old), "%s/killed-old.img", f->dir);
	snprintf(fresh, sizeof(fresh), "%s/killed-new.img", f->dir);
	CHECK(u, write_file(old, "old", 3) == 0);
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			image_from_tar(f->tar, -1, i ? fresh : old, SMALL_FS, kill_cb, NULL, err,
				       sizeof(err));
			_exit(0); /* not reached: the callback kills us */
		}
		CHECK(u, pid > 0 && waitpid(pid, &st, 0) == pid);
		CHECK(u, WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	fd = open(old, O_RDONLY);
	CHECK(u, fd >= 0 && read(fd, buf, sizeof(buf)) == 3 && !memcmp(buf, "old", 3));
	if (fd >= 0)
		close(fd);
	CHECK(u, access(fresh, F_OK) < 0 && errno == ENOENT);
}

/* cpio: a socket, and the newc way of hard links (the data comes with the last name). */
static void t_cpio(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	char arc[160], img[160], err[512];
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	ext2_filsys fs;
	struct ext2_inode_large li;

	snprintf(arc, sizeof(arc), "%s/root.cpio", f->dir);
	snprintf(img, sizeof(img), "%s/cpio.img", f->dir);
	archive_write_set_format_cpio_newc(a);
	CHECK(u, archive_write_open_filename(a, arc) == ARCHIVE_OK);
	e = ent("run/sock", AE_IFSOCK, 0755, 0, 0);
	CHECK(u, put(a, e, NULL, 0) == 0);
	e = ent("a", AE_IFREG, 0644, 0, 0);
	archive_entry_set_ino(e, 77);
	archive_entry_set_nlink(e, 2);
	CHECK(u, put(a, e, NULL, 0) == 0);
	e = ent("b", AE_IFREG, 0644, 0, 0);
	archive_entry_set_ino(e, 77);
	archive_entry_set_nlink(e, 2);
	CHECK(u, put(a, e, "hello", 5) == 0);
	CHECK(u, tar_close(a) == 0);
	CHECK(u, image_from_tar(arc, -1, img, SMALL_FS, NULL, NULL, err, sizeof(err)) == 0);
	fs = img_open(img);
	CHECK(u, fs != NULL);
	if (fs) {
		CHECK(u, inode(fs, lookup(fs, "/run/sock"), &li) == 0);
		CHECK(u, li.i_mode == (LINUX_S_IFSOCK | 0755));
		CHECK(u, lookup(fs, "/a") && lookup(fs, "/a") == lookup(fs, "/b"));
		CHECK(u, has_content(fs, "/a", "hello"));
		CHECK(u, inode(fs, lookup(fs, "/a"), &li) == 0 && li.i_links_count == 2);
		ext2fs_close_free(&fs);
	}
	CHECK(u, fsck(img) == 0);
}

/*
 * ACLs naming users (GNU tar writes "user:alice:rw-"): names resolve in the
 * distribution's own /etc/passwd and /etc/group, even when those come later
 * in the tarball; an unknown name is left out with a warning. The group
 * bits of the mode are the ACL's mask, as Linux keeps them.
 */
static void t_acl_names(struct unit *u)
{
	static const char passwd[] =
	    "root:x:0:0::/root:/bin/sh\nalice:x:1234:1234::/home/alice:/bin/sh\n";
	static const char group[] = "root:x:0:\nstaff:x:50:alice\n";
	struct fix *f = (struct fix *)u;
	char tar[160], img[160], err[512];
	struct archive *a;
	struct archive_entry *e;
	struct ext2_inode_large li;
	ext2_filsys fs;
	size_t len = 0;
	uint8_t *v;

	snprintf(tar, sizeof(tar), "%s/aclnames.tar", f->dir);
	snprintf(img, sizeof(img), "%s/aclnames.img", f->dir);
	a = tar_open(tar, F_NONE);
	CHECK(u, a != NULL);
	if (!a)
		return;
	e = ent("srv/shared", AE_IFDIR, 0750, 0, 0);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 7, ARCHIVE_ENTRY_ACL_USER, -1,
				    "alice");
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 5, ARCHIVE_ENTRY_ACL_GROUP,
				    -1, "staff");
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 4, ARCHIVE_ENTRY_ACL_USER, -1,
				    "nosuchuser-lxs");
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 7, ARCHIVE_ENTRY_ACL_MASK, -1,
				    NULL);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 7,
				    ARCHIVE_ENTRY_ACL_USER_OBJ, -1, NULL);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 6, ARCHIVE_ENTRY_ACL_USER,
				    -1, "alice");
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 5,
				    ARCHIVE_ENTRY_ACL_GROUP_OBJ, -1, NULL);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 0, ARCHIVE_ENTRY_ACL_OTHER,
				    -1, NULL);
	CHECK(u, put(a, e, NULL, 0) == 0);
	CHECK(u, put(a, ent("etc/passwd", AE_IFREG, 0644, 0, 0), passwd, strlen(passwd)) == 0);
	CHECK(u, put(a, ent("etc/group", AE_IFREG, 0644, 0, 0), group, strlen(group)) == 0);
	CHECK(u, tar_close(a) == 0);
	f->warnings = 0;
	CHECK(u, image_from_tar(tar, -1, img, SMALL_FS, progress_cb, f, err, sizeof(err)) == 0);
	CHECK(u, f->warnings == 1 && strstr(f->warn_text[0], "nosuchuser-lxs"));
	fs = img_open(img);
	CHECK(u, fs != NULL);
	if (!fs)
		return;
	/* user::, user:1234:rwx, group::, group:50:r-x, mask::rwx, other:: */
	v = xattr(fs, "/srv/shared", "system.posix_acl_access", &len);
	CHECK(u, v && len == 4 + 6 * 8);
	if (v && len == 4 + 6 * 8) {
		uint32_t id;

		memcpy(&id, v + 4 + 8 + 4, 4);
		CHECK(u, v[4 + 8] == 0x02 && id == 1234);
		memcpy(&id, v + 4 + 3 * 8 + 4, 4);
		CHECK(u, v[4 + 3 * 8] == 0x08 && id == 50 && v[4 + 3 * 8 + 2] == 5);
	}
	free(v);
	v = xattr(fs, "/srv/shared", "system.posix_acl_default", &len);
	CHECK(u, v && len == 4 + 5 * 8); /* with the mask added */
	free(v);
	CHECK(u, inode(fs, lookup(fs, "/srv/shared"), &li) == 0);
	CHECK(u, li.i_mode == (LINUX_S_IFDIR | 0770));
	ext2fs_close_free(&fs);
	CHECK(u, fsck(img) == 0);
}

/* ---- export ------------------------------------------------------------------------------- */

struct seen {
	int passwd, ping_cap, hardlink, dev_big, sparse, acl, uni, fifo, root, long_link;
};

static void check_entry(struct archive *a, struct archive_entry *e, struct seen *s)
{
	const char *p = archive_entry_pathname(e);
	const char *name, *hl = archive_entry_hardlink(e);
	const void *val;
	size_t len;

	if (!strcmp(p, "./")) {
		s->root = archive_entry_mtime(e) == T_MTIME - 1 && archive_entry_mtime_nsec(e) == 7;
	} else if (!strcmp(p, "./etc/passwd")) {
		s->passwd = archive_entry_mode(e) == (AE_IFREG | 0644) &&
			    archive_entry_mtime(e) == T_MTIME &&
			    archive_entry_mtime_nsec(e) == T_MTIME_NS &&
			    archive_entry_atime(e) == T_ATIME &&
			    archive_entry_atime_nsec(e) == T_ATIME_NS &&
			    archive_entry_ctime(e) == T_CTIME &&
			    archive_entry_ctime_nsec(e) == T_CTIME_NS &&
			    archive_entry_size(e) == 30;
	} else if (!strcmp(p, "./usr/bin/ping")) {
		archive_entry_xattr_reset(e);
		while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK)
			if (!strcmp(name, "security.capability") && len == sizeof(cap_net_raw) &&
			    !memcmp(val, cap_net_raw, len))
				s->ping_cap = 1;
	} else if (!strcmp(p, "./usr/bin/su-hardlink") || !strcmp(p, "./usr/bin/su")) {
		if (hl)
			s->hardlink =
			    !strcmp(hl, "./usr/bin/su") || !strcmp(hl, "./usr/bin/su-hardlink");
	} else if (!strcmp(p, "./dev/big")) {
		s->dev_big = archive_entry_filetype(e) == AE_IFCHR &&
			     archive_entry_rdevmajor(e) == 300 &&
			     archive_entry_rdevminor(e) == 70000;
	} else if (!strcmp(p, "./run/initctl")) {
		s->fifo = archive_entry_filetype(e) == AE_IFIFO;
	} else if (!strcmp(p, "./var/acl")) {
		s->acl = archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) >= 2;
	} else if (!strcmp(p, "./" UNI_SHORT)) {
		s->uni = archive_entry_uid(e) == 1000;
	} else if (!strcmp(p, "./usr/lib/long")) {
		s->long_link =
		    archive_entry_symlink(e) && !strcmp(archive_entry_symlink(e), long_target);
	} else if (!strcmp(p, "./var/sparse")) {
		uint8_t want[4096];
		const void *buf;
		size_t sz;
		la_int64_t off;
		int ok = archive_entry_sparse_count(e) >= 2, blocks = 0;

		fill(want, sizeof(want), 2);
		while (archive_read_data_block(a, &buf, &sz, &off) == ARCHIVE_OK) {
			blocks++;
			if ((uint64_t)off <= SPARSE_HOLE_AT &&
			    (uint64_t)off + sz >= SPARSE_HOLE_AT + 4096)
				ok &=
				    !memcmp((const char *)buf + (SPARSE_HOLE_AT - off), want, 4096);
		}
		s->sparse = ok && blocks >= 2;
	}
}

/* image_make_sparse: zero blocks given back, data and holes as they were. */
static void t_make_sparse(struct unit *u)
{
	char path[] = "/tmp/lxs-test-sparse.XXXXXX", err[256];
	static uint8_t data[64 << 10], back[64 << 10];
	uint64_t freed = 1;
	struct stat before, after;
	int fd = mkstemp(path);

	CHECK(u, fd >= 0);
	if (fd < 0)
		return;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	/* data, 8 MiB of written zeros, data, a hole, a zero block, a partial zero tail */
	CHECK(u, pwrite(fd, data, sizeof(data), 0) == (ssize_t)sizeof(data));
	for (off_t o = 0; o < (8 << 20); o += sizeof(back)) {
		memset(back, 0, sizeof(back));
		CHECK(u, pwrite(fd, back, sizeof(back), (64 << 10) + o) == (ssize_t)sizeof(back));
	}
	CHECK(u, pwrite(fd, data, 4096, (64 << 10) + (8 << 20)) == 4096);
	memset(back, 0, sizeof(back));
	CHECK(u, pwrite(fd, back, 4096, 32 << 20) == 4096);
	CHECK(u, pwrite(fd, data, 4096 + 100, (32 << 20) + 4096) == 4096 + 100);
	CHECK(u, pwrite(fd, back, 1000, (32 << 20) + 8192 + 100) == 1000);
	CHECK(u, fsync(fd) == 0 && fstat(fd, &before) == 0);
	CHECK(u, image_make_sparse(path, &freed, err, sizeof(err)) == 0);
	CHECK(u, freed == (8u << 20) + 4096);
	CHECK(u, fstat(fd, &after) == 0 && after.st_size == before.st_size);
	CHECK(u, (before.st_blocks - after.st_blocks) * 512 >= (8 << 20));
	CHECK(u, pread(fd, back, sizeof(back), 0) == (ssize_t)sizeof(back) &&
		     !memcmp(back, data, sizeof(back)));
	CHECK(u,
	      pread(fd, back, 4096, (64 << 10) + (8 << 20)) == 4096 && !memcmp(back, data, 4096));
	CHECK(u, pread(fd, back, 4096 + 100, (32 << 20) + 4096) == 4096 + 100 &&
		     !memcmp(back, data, 4096 + 100));
	CHECK(u, pread(fd, back, 8192, 100 << 10) == 8192 && back[0] == 0 && back[8191] == 0);
	/* nothing left to give: 0 again; a missing file: one sentence */
	CHECK(u, image_make_sparse(path, &freed, err, sizeof(err)) == 0 && freed == 0);
	close(fd);
	unlink(path);
	CHECK(u, image_make_sparse(path, NULL, err, sizeof(err)) == -ENOENT &&
		     strstr(err, "cannot open the image"));
}

static void t_export(struct unit *u)
{
	struct fix *f = (struct fix *)u;
	static const char *const names[] = {"export.tar", "export.tar.xz", "export.tar.gz",
					    "export.tar.zst"};
	char out[160], img[160], err[512];
	struct archive_entry *e;
	struct archive *a;
	size_t i;

	CHECK(u, f->convert_rc == 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct seen s = {0};
		int n = 0;

		snprintf(out, sizeof(out), "%s/%s", f->dir, names[i]);
		CHECK(u, image_to_tar(f->img, out, -1, IMAGE_TAR_AUTO, NULL, NULL, err,
				      sizeof(err)) == 0);
		a = archive_read_new();
		archive_read_support_filter_all(a);
		archive_read_support_format_all(a);
		CHECK(u, archive_read_open_filename(a, out, 65536) == ARCHIVE_OK);
		/* Each name says which compressor it must be. */
		while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
			n++;
			check_entry(a, e, &s);
		}
		CHECK(u, archive_filter_code(a, 0) == (i == 0   ? ARCHIVE_FILTER_NONE
						       : i == 1 ? ARCHIVE_FILTER_XZ
						       : i == 2 ? ARCHIVE_FILTER_GZIP
								: ARCHIVE_FILTER_ZSTD));
		archive_read_free(a);
		CHECK(u, n > 80);
		CHECK(u, s.root && s.passwd && s.ping_cap && s.hardlink && s.dev_big && s.fifo);
		CHECK(u, s.acl && s.uni && s.long_link && s.sparse);
		if (!(s.root && s.passwd && s.ping_cap && s.hardlink && s.dev_big && s.fifo &&
		      s.acl && s.uni && s.long_link && s.sparse))
			fprintf(stderr,
				"%s: root %d passwd %d cap %d hl %d dev %d fifo %d acl %d uni %d "
				"long %d sparse %d\n",
				names[i], s.root, s.passwd, s.ping_cap, s.hardlink, s.dev_big,
				s.fifo, s.acl, s.uni, s.long_link, s.sparse);
	}
	/* And back: the exported tarball makes an image with the same files. */
	snprintf(out, sizeof(out), "%s/export.tar.xz", f->dir);
	snprintf(img, sizeof(img), "%s/reimport.img", f->dir);
	CHECK(u, image_from_tar(out, -1, img, SMALL_FS, NULL, NULL, err, sizeof(err)) == 0);
	CHECK(u, fsck(img) == 0);
	{
		ext2_filsys fs = img_open(img);
		size_t len = 0;
		void *v;

		CHECK(u, fs != NULL);
		if (fs) {
			struct ext2_inode_large li;

			v = xattr(fs, "/usr/bin/ping", "security.capability", &len);
			CHECK(u, v && len == sizeof(cap_net_raw));
			free(v);
			v = xattr(fs, "/var/acl", "system.posix_acl_access", &len);
			CHECK(u, v && len == 4 + 5 * 8);
			free(v);
			CHECK(u, lookup(fs, "/usr/bin/su") == lookup(fs, "/usr/bin/su-hardlink"));
			CHECK(u, inode(fs, lookup(fs, "/var/sparse"), &li) == 0);
			CHECK(u, EXT2_I_SIZE(&li) == SPARSE_BYTES &&
				     ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&li) == 16);
			CHECK(u, inode(fs, lookup(fs, "/etc/passwd"), &li) == 0);
			CHECK(u, li.i_ctime == T_CTIME && li.i_mtime_extra >> 2 == T_MTIME_NS);
			ext2fs_close_free(&fs);
		}
	}
	snprintf(out, sizeof(out), "%s/never.tar", f->dir);
	CHECK(u, image_to_tar(f->tar, out, -1, IMAGE_TAR_AUTO, NULL, NULL, err, sizeof(err)) < 0);
	CHECK(u, strstr(err, "not an ext4 image") != NULL && access(out, F_OK) != 0);
	/* An image whose journal still needs replaying is refused, not read stale. */
	{
		ext2_filsys fs = NULL;

		CHECK(u, ext2fs_open2(img, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
				      unix_io_manager, &fs) == 0);
		if (fs) {
			ext2fs_set_feature_journal_needs_recovery(fs->super);
			ext2fs_mark_super_dirty(fs);
			CHECK(u, ext2fs_close_free(&fs) == 0);
		}
		CHECK(u, image_to_tar(img, out, -1, IMAGE_TAR_AUTO, NULL, NULL, err, sizeof(err)) ==
			     -EBUSY);
		CHECK(u, strstr(err, "not shut down cleanly") != NULL && access(out, F_OK) != 0);
	}
}

int main(void)
{
	struct fix f = {0};

	snprintf(f.dir, sizeof(f.dir), "/tmp/lxs-test-image.XXXXXX");
	if (!mkdtemp(f.dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(f.tar, sizeof(f.tar), "%s/everything.tar", f.dir);
	snprintf(f.img, sizeof(f.img), "%s/everything.img", f.dir);
	f.big = malloc(BIG_BYTES);
	if (!f.big)
		return 1;
	f.convert_rc = -1;

	RUN(&f.u, t_convert_everything);
	RUN(&f.u, t_fixture_fsck);
	RUN(&f.u, t_types_and_modes);
	RUN(&f.u, t_owners);
	RUN(&f.u, t_times);
	RUN(&f.u, t_hardlinks);
	RUN(&f.u, t_symlinks);
	RUN(&f.u, t_devices);
	RUN(&f.u, t_xattrs);
	RUN(&f.u, t_sparse_and_big);
	RUN(&f.u, t_names);
	RUN(&f.u, t_skips);
	RUN(&f.u, t_replace_and_chains);
	RUN(&f.u, t_hostile);
	RUN(&f.u, t_compressed);
	RUN(&f.u, t_stream);
	RUN(&f.u, t_truncated);
	RUN(&f.u, t_truncated_gz);
	RUN(&f.u, t_corrupt);
	RUN(&f.u, t_corrupt_header);
	RUN(&f.u, t_empty);
	RUN(&f.u, t_too_small);
	RUN(&f.u, t_cancel_keeps_old_image);
	RUN(&f.u, t_killed_import);
	RUN(&f.u, t_cpio);
	RUN(&f.u, t_acl_names);
	RUN(&f.u, t_export);
	RUN(&f.u, t_make_sparse);

	free(f.big);
	rm_rf(f.dir);
	return unit_done(&f.u);
}
