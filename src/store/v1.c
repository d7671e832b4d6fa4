/*
 * v1.c - version 1's folders (v1.h): lxs-pico found and run to pack and
 * unpack them (it keeps VolFs's metadata), and files read from a folder
 * without following its links out of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/posix_const.h"
#include "common/tmpfile.h"
#include "v1.h"

int v1_pico_path(const struct lxs_paths *p, char *out, size_t len, char *err, size_t errlen)
{
	char loader[LXS_PATH_MAX];

	if (path_fmt(out, len, "%s/lxs-pico", p->bindir) < 0 ||
	    path_fmt(loader, sizeof(loader), "%s/lxs-pico-loader", p->bindir) < 0 ||
	    access(out, X_OK) < 0 || access(loader, R_OK) < 0) {
		snprintf(err, errlen,
			 "version 1 needs lxs-pico and lxs-pico-loader next to lxs in %s; build "
			 "them with make",
			 p->bindir);
		return -ENOENT;
	}
	return 0;
}

pid_t v1_spawn(const char *pico, const char *const args[], int in_fd, int out_fd, int *errfd)
{
	const char *argv[16];
	int ep[2], n = 0;

	argv[n++] = pico;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(ep, O_CLOEXEC) < 0)
		return -errno;
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		/* An lxs killed mid-way must not leave lxs-pico writing on its own. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		signal(SIGPIPE, SIG_DFL);
		if (in_fd >= 0 && dup2(in_fd, 0) < 0)
			_exit(125);
		if (out_fd >= 0 && dup2(out_fd, 1) < 0)
			_exit(125);
		dup2(ep[1], 2);
		execv(pico, exec_vec(argv));
		dprintf(2, "cannot run %s: %s\n", pico, strerror(errno));
		_exit(125);
	}
	int e = errno;
	close(ep[1]);
	if (pid < 0) {
		close(ep[0]);
		return -e;
	}
	*errfd = ep[0];
	return pid;
}

int v1_finish(pid_t pid, int errfd, image_progress_fn cb, void *arg, const char *what, char *err,
	      size_t errlen)
{
	char buf[4096], last[512] = "";
	size_t got = 0;
	bool cancelled = false;
	int st;

	for (ssize_t k; (k = read(errfd, buf + got, sizeof(buf) - 1 - got)) > 0 ||
			(k < 0 && errno == EINTR);) {
		if (k < 0)
			continue;
		got += (size_t)k;
		buf[got] = 0;
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			long long e, b;
			if (sscanf(line, "progress %lld %lld", &e, &b) == 2) {
				struct image_progress ip = {.entries = (uint64_t)e,
							    .data_bytes = (uint64_t)b};
				if (cb && !cancelled && cb(&ip, arg)) {
					cancelled = true;
					kill(pid, SIGTERM);
				}
			} else if (line[0]) {
				snprintf(last, sizeof(last), "%s",
					 strncmp(line, "lxs-pico: ", 10) ? line : line + 10);
			}
			line = nl + 1;
		}
		got = strlen(line);
		memmove(buf, line, got + 1);
		if (got == sizeof(buf) - 1)
			got = 0; /* an endless line: drop it */
	}
	close(errfd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "%s: lost track of lxs-pico", what);
			return -ECHILD;
		}
	if (cancelled) {
		snprintf(err, errlen, "%s: cancelled", what);
		return -ECANCELED;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		if (cb) {
			struct image_progress ip = {.done = 1};
			cb(&ip, arg);
		}
		return 0;
	}
	if (!last[0])
		snprintf(last, sizeof(last), "lxs-pico %s %d",
			 WIFEXITED(st) ? "exited with" : "was killed by signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	snprintf(err, errlen, "%s: %s", what, last);
	return -EIO;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int v1_remove_tree(const char *dir)
{
	if (access(dir, F_OK) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* FTW_MOUNT: a file system mounted inside by hand is never emptied. */
	return nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 ? -errno : 0;
}

int v1_unpack_tmp(const struct lxs_paths *p, const char *file, int in_fd, const char *parent,
		  char *tmp_out, size_t tmplen, image_progress_fn cb, void *arg, char *err,
		  size_t errlen)
{
	char pico[LXS_PATH_MAX];
	int ret, efd;

	if ((ret = v1_pico_path(p, pico, sizeof(pico), err, errlen)) < 0)
		return ret;
	if ((ret = path_fmt(tmp_out, tmplen, "%s/" V1_ROOT_NAME ".tmp-XXXXXX", parent)) < 0) {
		snprintf(err, errlen, "the install folder's name is too long");
		return ret;
	}
	if (!mkdtemp(tmp_out)) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a folder in %s: %s", parent, strerror(errno));
		return ret;
	}
	const char *args[] = {"--unpack", file, tmp_out, "--progress", NULL};
	pid_t pid = v1_spawn(pico, args, strcmp(file, "-") ? -1 : in_fd, -1, &efd);
	if (pid < 0) {
		snprintf(err, errlen, "cannot run %s: %s", pico, strerror((int)-pid));
		rmdir(tmp_out);
		return (int)pid;
	}
	char what[LXS_PATH_MAX + 32];
	snprintf(what, sizeof(what), "cannot import %s",
		 strcmp(file, "-") ? file : "the tarball on stdin");
	if ((ret = v1_finish(pid, efd, cb, arg, what, err, errlen)) < 0)
		v1_remove_tree(tmp_out);
	return ret;
}

static const char *format_suffix(enum image_tar_format f)
{
	return f == IMAGE_TAR_GZ     ? ".tar.gz"
	       : f == IMAGE_TAR_XZ   ? ".tar.xz"
	       : f == IMAGE_TAR_ZSTD ? ".tar.zst"
				     : ".tar";
}

int v1_pack(const struct lxs_paths *p, const char *root, const char *file, int out_fd,
	    enum image_tar_format format, image_progress_fn cb, void *arg, char *err, size_t errlen)
{
	char pico[LXS_PATH_MAX], tmp[LXS_PATH_MAX];
	int ret, efd, cp[2] = {-1, -1}, tmpfd = -1;
	pid_t comp = -1;

	if ((ret = v1_pico_path(p, pico, sizeof(pico), err, errlen)) < 0)
		return ret;
	if (format == IMAGE_TAR_AUTO)
		format = strcmp(file, "-") ? image_tar_format_for(file) : IMAGE_TAR;
	int to = -1;
	if (!strcmp(file, "-")) {
		/* lxs-pico compresses by the file name; on a pipe a compressor does it. */
		snprintf(tmp, sizeof(tmp), "-");
		to = out_fd;
		if (format != IMAGE_TAR) {
			const char *zip = format == IMAGE_TAR_GZ   ? "gzip"
					  : format == IMAGE_TAR_XZ ? "xz"
								   : "zstd";
			if (pipe2(cp, O_CLOEXEC) < 0 || (comp = fork()) < 0) {
				ret = -errno;
				snprintf(err, errlen, "cannot start %s: %s", zip, strerror(errno));
				goto out;
			}
			if (comp == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				dup2(cp[0], 0);
				dup2(out_fd, 1);
				execlp(zip, zip, "-q", "-c", (char *)NULL);
				_exit(127);
			}
			close(cp[0]);
			cp[0] = -1;
			to = cp[1];
		}
	} else {
		/*
		 * Written under a temporary name, renamed when complete, as version 2
		 * does; we hold it locked while lxs-pico writes it (tmpfile.h), so
		 * that what a kill leaves is removed by the next export to file.
		 */
		if ((ret = path_fmt(tmp, sizeof(tmp), "%s.tmp-XXXXXX%s", file,
				    format_suffix(format))) < 0 ||
		    (ret = tmpfd = tmp_create(tmp, (int)strlen(format_suffix(format)))) < 0) {
			snprintf(err, errlen, "cannot write %s: %s", file, strerror(-ret));
			return ret;
		}
		/* It is born 0600; an export is an ordinary file, as version 2 writes it. */
		fchmod(tmpfd, 0644);
	}
	const char *args[] = {"--pack", root, tmp, "--progress", NULL};
	pid_t pid = v1_spawn(pico, args, -1, to, &efd);
	if (cp[1] >= 0) {
		close(cp[1]);
		cp[1] = -1;
	}
	if (pid < 0) {
		ret = (int)pid;
		snprintf(err, errlen, "cannot run %s: %s", pico, strerror(-ret));
		goto out;
	}
	ret = v1_finish(pid, efd, cb, arg, "cannot export", err, errlen);
	if (ret == 0 && strcmp(file, "-")) {
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0 || rename(tmp, file) < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot write %s: %s", file, strerror(errno));
		}
		if (fd >= 0)
			close(fd);
	}
out:
	if (cp[1] >= 0)
		close(cp[1]);
	if (cp[0] >= 0)
		close(cp[0]);
	if (comp > 0) {
		int st;
		while (waitpid(comp, &st, 0) < 0 && errno == EINTR) {
		}
		if (ret == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			snprintf(err, errlen, "the compressor failed; is it installed?");
			ret = -EIO;
		}
	}
	if (ret < 0 && strcmp(file, "-"))
		unlink(tmp);
	if (tmpfd >= 0)
		close(tmpfd);
	return ret;
}

static int open_in_root(const char *root, const char *path, int flags)
{
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};

	if (rfd < 0)
		return -errno;
	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, rfd, *path ? path : ".", &how, sizeof(how));
	int e = errno;
	close(rfd);
	return fd < 0 ? -e : fd;
}

long v1_read_file(const char *root, const char *path, size_t max, char **out)
{
	int fd = open_in_root(root, path, O_RDONLY);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (ssize_t k;
	     got < (size_t)st.st_size && (k = read(fd, buf + got, (size_t)st.st_size - got)) > 0;)
		got += (size_t)k;
	close(fd);
	buf[got] = 0;
	*out = buf;
	return (long)got;
}

int v1_is_dir(const char *root, const char *path)
{
	int fd = open_in_root(root, path, O_PATH | O_DIRECTORY);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

void v1_groups(const char *text, const char *user, unsigned gid, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%u", gid);

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t l = end ? (size_t)(end - line) : strlen(line);
		char buf[4096];

		if (l < sizeof(buf)) {
			memcpy(buf, line, l);
			buf[l] = 0;
			/* name:password:gid:member,member */
			char *f[4], *s = buf;
			int k = 0;
			for (; k < 4 && s; k++) {
				f[k] = s;
				s = strchr(s, ':');
				if (s)
					*s++ = 0;
			}
			if (k == 4 && f[2][0]) {
				unsigned g = (unsigned)strtoul(f[2], NULL, 10);
				for (char *m = strtok(f[3], ","); m; m = strtok(NULL, ","))
					if (!strcmp(m, user) && g != gid && n + 12 < len)
						n += (size_t)snprintf(out + n, len - n, ",%u", g);
			}
		}
		line = end ? end + 1 : NULL;
	}
}

void v1_wsl_conf(const struct reg_distro *d, struct wsl_conf *wsl, config_warn_fn warn, void *arg)
{
	char *text = NULL;
	long n;

	wsl_conf_defaults(wsl);
	if ((n = v1_read_file(d->image, "/etc/wsl-distribution.conf", 1 << 20, &text)) >= 0)
		wsl_conf_parse(text, (size_t)n, wsl, warn, arg);
	free(text);
	text = NULL;
	if ((n = v1_read_file(d->image, "/etc/wsl.conf", 1 << 20, &text)) >= 0)
		wsl_conf_parse(text, (size_t)n, wsl, warn, arg);
	free(text);
}
