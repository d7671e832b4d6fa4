/*
 * The registry's file format and operations, the lxs command-line parser,
 * and the passwd lookup lxsd uses: no VM, no lxsd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/args.h"
#include "common/tmpfile.h"
#include "store/extfile.h"
#include "store/paths.h"
#include "store/registry.h"
#include "unit.h"

static struct reg_distro mkd(const char *name, const char *image)
{
	struct reg_distro d = {.version = 2};

	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.image, sizeof(d.image), "%s", image);
	snprintf(d.location, sizeof(d.location), "/x");
	registry_new_id(d.id);
	return d;
}

static void t_names(struct unit *u)
{
	CHECK(u, reg_name_ok("debian"));
	CHECK(u, reg_name_ok("Ubuntu-24.04"));
	CHECK(u, reg_name_ok("a"));
	CHECK(u, !reg_name_ok(""));
	CHECK(u, !reg_name_ok("a/b"));
	CHECK(u, !reg_name_ok("a b"));
	CHECK(u, !reg_name_ok(".."));
	CHECK(u, !reg_name_ok("-x"));
	CHECK(u, !reg_name_ok("x\n"));
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK(u, !reg_name_ok(big));
	big[64] = 0;
	CHECK(u, reg_name_ok(big));
	big[65] = 0;
	big[64] = 'a';
	CHECK(u, !reg_name_ok(big));
}

static void t_roundtrip(struct unit *u)
{
	struct registry r = {.default_version = 2}, back;
	char err[256] = "";
	struct reg_distro a = mkd("alpha", "/d/alpha/ext4.img"),
			  b = mkd("beta", "/d/with space/ext4.img");

	snprintf(b.default_user, sizeof(b.default_user), "user");
	CHECK(u, registry_add(&r, &a) == 0);
	CHECK(u, registry_add(&r, &b) == 0);
	CHECK(u, registry_add(&r, &a) == -EEXIST);
	struct reg_distro upper = mkd("ALPHA", "/z");
	CHECK(u, registry_add(&r, &upper) == -EEXIST);
	snprintf(r.default_name, sizeof(r.default_name), "beta");
	size_t len;
	char *text = registry_format(&r, &len);
	CHECK(u, text != NULL);
	CHECK(u, registry_parse(text, len, &back, err, sizeof(err)) == 0);
	CHECK(u, back.n == 2);
	CHECK(u, !strcmp(back.default_name, "beta"));
	struct reg_distro *f = registry_find(&back, "Beta");
	CHECK(u,
	      f && !strcmp(f->image, "/d/with space/ext4.img") && !strcmp(f->default_user, "user"));
	CHECK(u, f && !strcmp(f->id, b.id));
	CHECK(u, registry_remove(&back, "beta") == 0);
	CHECK(u, back.n == 1 && back.default_name[0] == 0);
	CHECK(u, registry_remove(&back, "beta") == -ENOENT);
	free(text);
	registry_free(&back);
	registry_free(&r);
}

static void t_damaged(struct unit *u)
{
	static const char *const bad[] = {
	    "",
	    "not a registry\n",
	    "lxs-registry 2\n",
	    "lxs-registry 1\ndistro a\nimage /x\n",                 /* no end */
	    "lxs-registry 1\ndistro a/b\nimage /x\nend\n",          /* bad name */
	    "lxs-registry 1\ndistro a\nimage relative\nend\n",      /* relative image */
	    "lxs-registry 1\ndistro a\nversion 7\nimage /x\nend\n", /* bad version */
	    "lxs-registry 1\ndistro a\nimage /x\nend\ndistro a\nimage /y\nend\n", /* twice */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct registry r;
		char err[256] = "";

		CHECK(u, registry_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)) == -EINVAL);
		CHECK(u, strstr(err, "damaged") != NULL);
	}
	/* A NUL inside is damage too, not a shorter file. */
	struct registry r;
	char err[256];
	CHECK(u, registry_parse("lxs-registry 1\n\0x", 17, &r, err, sizeof(err)) == -EINVAL);
	/* Keys from a newer lxs are skipped. */
	const char *newer = "lxs-registry 1\nfuture 1\ndistro a\nshiny yes\nimage /x\nend\n";
	CHECK(u, registry_parse(newer, strlen(newer), &r, err, sizeof(err)) == 0 && r.n == 1);
	registry_free(&r);
}

static void t_save_load(struct unit *u)
{
	char dir[] = "/tmp/lxs-unit-reg.XXXXXX", path[256], err[256] = "";
	struct registry r = {.default_version = 2}, back;

	CHECK(u, mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/registry", dir);
	CHECK(u, registry_load(path, &back, err, sizeof(err)) == 0 &&
		     back.n == 0); /* missing = empty */
	for (int i = 0; i < 50; i++) {
		char n[16];

		snprintf(n, sizeof(n), "d%d", i);
		struct reg_distro d = mkd(n, "/img");
		snprintf(d.image, sizeof(d.image), "/img/%d", i);
		CHECK(u, registry_add(&r, &d) == 0);
		CHECK(u, registry_save(path, &r, err, sizeof(err)) == 0);
	}
	CHECK(u, registry_load(path, &back, err, sizeof(err)) == 0 && back.n == 50);
	struct stat st;
	CHECK(u, stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* No temporary files are left behind. */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) = 1", dir);
	CHECK(u, system(cmd) == 0);
	/* A damaged file is reported with its path and what to do. */
	int fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(u, fd >= 0 && write(fd, "garbage\n", 8) == 8);
	close(fd);
	registry_free(&back);
	CHECK(u, registry_load(path, &back, err, sizeof(err)) == -EINVAL);
	CHECK(u, strstr(err, path) && strstr(err, "backup"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(u, system(cmd) == 0);
	registry_free(&r);
}

/* What killed imports leave is found, measured and removed; nothing else in the folder is. */
static void t_leftovers(struct unit *u)
{
	char dir[] = "/tmp/lxs-unit-left.XXXXXX", path[256], cmd[300];
	struct leftovers l = {0};
	static char block[8192];

	CHECK(u, mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p rootfs/etc rootfs.tmp-ab/etc && touch ext4.img other.tmp-1 && "
		 "echo x >rootfs.tmp-ab/etc/f",
		 dir);
	CHECK(u, system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/ext4.img.tmp-cd", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	memset(block, 1, sizeof(block));
	CHECK(u, fd >= 0 && write(fd, block, sizeof(block)) == sizeof(block));
	close(fd);
	CHECK(u, leftovers_in(dir, false, &l) == 0 && l.count == 2 && l.bytes >= sizeof(block));
	int lock = folder_lock(dir);
	CHECK(u, lock >= 0 && folder_lock(dir) == -EWOULDBLOCK);
	l = (struct leftovers){0};
	CHECK(u, leftovers_in(dir, true, &l) == 0 && l.count == 2);
	close(lock);
	snprintf(cmd, sizeof(cmd),
		 "test \"$(ls %s | tr '\\n' ' ')\" = 'ext4.img other.tmp-1 rootfs '", dir);
	CHECK(u, system(cmd) == 0);
	l = (struct leftovers){0};
	CHECK(u, leftovers_in(dir, false, &l) == 0 && l.count == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(u, system(cmd) == 0);
}

/*
 * What a killed operation leaves beyond its temporaries: the forms no
 * registered distro uses (a symbolic link named rootfs is not one), and
 * registry.tmp-* beside the registry, which the next registry write removes.
 */
static void t_stale_forms(struct unit *u)
{
	char dir[] = "/tmp/lxs-unit-stale.XXXXXX", cmd[400], err[256], path[300];
	struct registry r = {0};
	struct leftovers l = {0};
	struct lxs_paths p;

	CHECK(u, mkdtemp(dir) != NULL);
	snprintf(p.registry, sizeof(p.registry), "%s/registry", dir);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p a/rootfs/etc b && touch a/ext4.img registry.tmp-zzzzzz && "
		 "ln -s /etc b/rootfs && touch b/ext4.img",
		 dir);
	CHECK(u, system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/a/ext4.img", dir);
	struct reg_distro d = mkd("a", path);
	CHECK(u, registry_add(&r, &d) == 0);
	CHECK(u, registry_save(p.registry, &r, err, sizeof(err)) == 0);
	snprintf(cmd, sizeof(cmd), "test ! -e %s/registry.tmp-zzzzzz", dir);
	CHECK(u, system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/a", dir);
	CHECK(u, stale_forms_in(&p, path, false, &l) == 0 && l.count == 1);
	l = (struct leftovers){0};
	CHECK(u, stale_forms_in(&p, path, true, &l) == 0 && l.count == 1);
	snprintf(cmd, sizeof(cmd), "test \"$(ls %s/a)\" = ext4.img", dir);
	CHECK(u, system(cmd) == 0);
	l = (struct leftovers){0};
	snprintf(path, sizeof(path), "%s/b", dir);
	CHECK(u, stale_forms_in(&p, path, true, &l) == 0 && l.count == 1);
	snprintf(cmd, sizeof(cmd), "test -L %s/b/rootfs && test ! -e %s/b/ext4.img", dir, dir);
	CHECK(u, system(cmd) == 0);
	registry_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(u, system(cmd) == 0);
}

/*
 * A killed operation's note leads the sweep to its unregistered forms only
 * once it had checked they were not there before (distro_lock_note's forms):
 * a user's own image in a folder an import was killed in before that check
 * stays; after it, the image is the import's and goes.
 */
static void t_note_forms_guard(struct unit *u)
{
	char dir[] = "/tmp/lxs-unit-note.XXXXXX", cmd[400], err[256], img[340], folder[300];
	struct registry r = {0};
	struct leftovers l = {0};
	struct lxs_paths p;
	int lock;

	memset(&p, 0, sizeof(p));
	CHECK(u, mkdtemp(dir) != NULL);
	snprintf(p.data, sizeof(p.data), "%s", dir);
	snprintf(p.registry, sizeof(p.registry), "%s/registry", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/locks %s/f && echo mine >%s/f/ext4.img", dir, dir, dir);
	CHECK(u, system(cmd) == 0);
	snprintf(folder, sizeof(folder), "%s/f", dir);
	snprintf(img, sizeof(img), "%s/ext4.img", folder);
	CHECK(u, registry_save(p.registry, &r, err, sizeof(err)) == 0);
	/* Killed before its check: only temporaries are looked for. */
	CHECK(u, (lock = distro_lock(&p, "x", true)) >= 0);
	CHECK(u, distro_lock_note(lock, folder, false) == 0);
	close(lock);
	CHECK(u, leftovers_all(&p, true, &l) == 0);
	CHECK(u, access(img, F_OK) == 0);
	/* Killed after it (noted twice on one fd, as own_folder and then the import do). */
	CHECK(u, (lock = distro_lock(&p, "x", true)) >= 0);
	CHECK(u, distro_lock_note(lock, folder, false) == 0);
	CHECK(u, distro_lock_note(lock, folder, true) == 0);
	close(lock);
	l = (struct leftovers){0};
	CHECK(u, leftovers_all(&p, true, &l) == 0 && l.count == 1);
	CHECK(u, access(img, F_OK) < 0 && errno == ENOENT);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(u, system(cmd) == 0);
}

/* An export's temporary that its writer holds stays; a dead writer's goes. */
static void t_tmp_sweep(struct unit *u)
{
	char dir[] = "/tmp/lxs-unit-tmp.XXXXXX", tmpl[340], file[300], cmd[800];

	CHECK(u, mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/e.tar", dir);
	snprintf(tmpl, sizeof(tmpl), "%s.tmp-XXXXXX.tar", file);
	int live = tmp_create(tmpl, 4);
	CHECK(u, live >= 0);
	snprintf(cmd, sizeof(cmd), "cd %s && touch e.tar.tmp-dead01 e.tar.tmp-x other.tmp-dead02",
		 dir);
	CHECK(u, system(cmd) == 0);
	tmp_sweep(file);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && test -e %s && test ! -e e.tar.tmp-dead01 && test -e e.tar.tmp-x && "
		 "test -e other.tmp-dead02",
		 dir, tmpl);
	CHECK(u, system(cmd) == 0);
	close(live);
	tmp_sweep(file);
	snprintf(cmd, sizeof(cmd), "test ! -e %s", tmpl);
	CHECK(u, system(cmd) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(u, system(cmd) == 0);
}

/* lxs meets lxsd only in a folder of the caller's own that no one else may enter. */
static void t_run_dir(struct unit *u)
{
	char dir[] = "/tmp/lxs-unit-run.XXXXXX", cmd[300], err[512];
	struct lxs_paths p;

	CHECK(u, mkdtemp(dir) != NULL);
	snprintf(p.run, sizeof(p.run), "%s/lxs", dir);
	CHECK(u, paths_check_run_dir(&p, err, sizeof(err)) == -ENOENT);
	CHECK(u, paths_make_run_dir(&p, err, sizeof(err)) == 0);
	CHECK(u, paths_check_run_dir(&p, err, sizeof(err)) == 0);
	CHECK(u, chmod(p.run, 0750) == 0);
	CHECK(u, paths_check_run_dir(&p, err, sizeof(err)) == -EPERM && strstr(err, "chmod 700"));
	CHECK(u, paths_make_run_dir(&p, err, sizeof(err)) == -EPERM);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && rmdir lxs && mkdir real && chmod 700 real && ln -s real lxs", dir);
	CHECK(u, system(cmd) == 0);
	CHECK(u, paths_check_run_dir(&p, err, sizeof(err)) == -EPERM &&
		     strstr(err, "symbolic link") && strstr(err, p.run));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(u, system(cmd) == 0);
}

static int parse(const char *line, struct cli_args *a, char *err)
{
	static char buf[512], lxs[] = "lxs";
	static char *argv[32];
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = lxs;
	for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	return cli_parse(argc, argv, a, err, 256);
}

static void t_cli(struct unit *u)
{
	struct cli_args a;
	char err[256];

	CHECK(u, parse("", &a, err) == 0 && a.action == ACT_RUN && a.ncmd == 0);
	CHECK(u, parse("ls -la /", &a, err) == 0 && a.action == ACT_RUN && a.ncmd == 3 && !a.quote);
	CHECK(u, parse("-d deb -u bob -- ls -la", &a, err) == 0 && !strcmp(a.distro, "deb") &&
		     !strcmp(a.user, "bob") && a.ncmd == 2 && a.quote);
	CHECK(u, parse("-e /bin/true x", &a, err) == 0 && a.exec && a.ncmd == 2);
	CHECK(u, parse("--cd ~ -- pwd", &a, err) == 0 && !strcmp(a.cd, "~"));
	CHECK(u, parse("~ pwd", &a, err) == 0 && !strcmp(a.cd, "~") && a.ncmd == 1);
	/* Options after the command belong to the command. */
	CHECK(u, parse("ls -d x", &a, err) == 0 && a.distro == NULL && a.ncmd == 3);
	CHECK(u, parse("-d a -d b", &a, err) == -EINVAL && strstr(err, "twice"));
	CHECK(u, parse("--nope", &a, err) == -EINVAL && strstr(err, "--nope"));
	CHECK(u, parse("-l -v", &a, err) == 0 && a.action == ACT_LIST && a.verbose);
	CHECK(u, parse("-v", &a, err) == 0 && a.action == ACT_VERSION);
	CHECK(u, parse("-l -q -v", &a, err) == -EINVAL);
	CHECK(u, parse("--list --all --running", &a, err) == -EINVAL);
	CHECK(u, parse("--import n d f --version 2", &a, err) == 0 && a.action == ACT_IMPORT &&
		     !strcmp(a.name, "n") && !strcmp(a.dir, "d") && !strcmp(a.file, "f") &&
		     a.version == 2);
	CHECK(u, parse("--import n d", &a, err) == -EINVAL);
	CHECK(u, parse("--import n d f --version 3", &a, err) == -EINVAL);
	CHECK(u,
	      parse("--export n - --format tar.xz", &a, err) == 0 && !strcmp(a.format, "tar.xz"));
	CHECK(u, parse("--export n - --bogus", &a, err) == -EINVAL);
	CHECK(u, parse("--shutdown --force", &a, err) == 0 && a.force);
	CHECK(u, parse("--manage n --resize 10G", &a, err) == 0 && a.manage == MANAGE_RESIZE);
	CHECK(u, parse("--manage n", &a, err) == -EINVAL);
	CHECK(u, parse("--manage n --move a --resize 1G", &a, err) == -EINVAL);
	CHECK(u, parse("--install --name d2 --no-launch", &a, err) == 0 &&
		     a.action == ACT_INSTALL && !strcmp(a.name, "d2") && a.no_launch);
	CHECK(u, parse("--set-default-version 1", &a, err) == 0 && a.version == 1);
	CHECK(u, parse("--set-default-version x", &a, err) == -EINVAL);
	CHECK(u, parse("--shell-type login", &a, err) == 0 && a.shell == SHELL_LOGIN);
	CHECK(u, parse("--shell-type x", &a, err) == -EINVAL);
	CHECK(u, parse("-e", &a, err) == -EINVAL);
	CHECK(u, parse("-t x", &a, err) == 0 && a.action == ACT_TERMINATE && !strcmp(a.name, "x"));
}

static void t_passwd(struct unit *u)
{
	const char *pw =
	    "root:x:0:0:root:/root:/bin/bash\nbroken line\n"
	    "bob:x:1000:1000::/home/bob:\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin";
	struct pw_entry e;

	CHECK(u, passwd_lookup(pw, "", &e) == 0 && !strcmp(e.name, "root") &&
		     !strcmp(e.shell, "/bin/bash"));
	CHECK(u, passwd_lookup(pw, "bob", &e) == 0 && e.uid == 1000 && !strcmp(e.shell, "/bin/sh"));
	CHECK(u, passwd_lookup(pw, "#65534", &e) == 0 && !strcmp(e.name, "nobody"));
	CHECK(u, passwd_lookup(pw, "alice", &e) == -ENOENT);
	CHECK(u, passwd_lookup("", "root", &e) == -ENOENT);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_names);
	RUN(&u, t_roundtrip);
	RUN(&u, t_damaged);
	RUN(&u, t_save_load);
	RUN(&u, t_leftovers);
	RUN(&u, t_stale_forms);
	RUN(&u, t_note_forms_guard);
	RUN(&u, t_tmp_sweep);
	RUN(&u, t_run_dir);
	RUN(&u, t_cli);
	RUN(&u, t_passwd);
	return unit_done(&u);
}
