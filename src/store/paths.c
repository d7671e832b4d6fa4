/*
 * paths.c - where lxs keeps things (paths.h): data, config, cache and the
 * run folder with its checks (ours, 0700, not a link), and the path
 * helpers everyone uses (path_fmt, mkdir_p, absolute_path).
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

int path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* An XDG variable counts only when it is an absolute path, as the spec says. */
static const char *xdg(const char *var)
{
	const char *v = getenv(var);

	return v && v[0] == '/' ? v : NULL;
}

int paths_init(struct lxs_paths *p, char *err, size_t errlen)
{
	const char *home = getenv("HOME"), *v;
	int ret = 0;

	memset(p, 0, sizeof(*p));
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());

		home = pw && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
	}
	if (!home && (!xdg("XDG_DATA_HOME") || !xdg("XDG_CONFIG_HOME"))) {
		snprintf(err, errlen,
			 "cannot find your home directory; set HOME or XDG_DATA_HOME and "
			 "XDG_CONFIG_HOME");
		return -ENOENT;
	}
	if ((v = xdg("XDG_DATA_HOME")))
		ret |= path_fmt(p->data, sizeof(p->data), "%s/lxs", v);
	else
		ret |= path_fmt(p->data, sizeof(p->data), "%s/.local/share/lxs", home);
	ret |= path_fmt(p->registry, sizeof(p->registry), "%s/registry", p->data);
	if ((v = xdg("XDG_CONFIG_HOME")))
		ret |= path_fmt(p->config, sizeof(p->config), "%s/lxs/lxs.conf", v);
	else
		ret |= path_fmt(p->config, sizeof(p->config), "%s/.config/lxs/lxs.conf", home);
	if ((v = xdg("XDG_RUNTIME_DIR")))
		ret |= path_fmt(p->run, sizeof(p->run), "%s/lxs", v);
	else
		ret |= path_fmt(p->run, sizeof(p->run), "/tmp/lxs-%u", (unsigned)getuid());
	ret |= path_fmt(p->sock, sizeof(p->sock), "%s/lxsd.sock", p->run);
	ret |= path_fmt(p->tools, sizeof(p->tools), "%s/tools", p->run);
	if ((v = getenv("LXS_CACHE")) && v[0] == '/')
		ret |= path_fmt(p->cache, sizeof(p->cache), "%s", v);
	else if ((v = xdg("XDG_CACHE_HOME")))
		ret |= path_fmt(p->cache, sizeof(p->cache), "%s/lxs", v);
	else
		ret |= path_fmt(p->cache, sizeof(p->cache), "%s/.cache/lxs", home ? home : "/tmp");
	if (ret) {
		snprintf(err, errlen, "a path from HOME or the XDG variables is too long");
		return -ENAMETOOLONG;
	}
	char exe[LXS_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(err, errlen, "cannot find where this program lives (/proc not mounted?)");
		return -ENOENT;
	}
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(p->bindir, sizeof(p->bindir), "%s", exe[0] ? exe : "/");
	return 0;
}

int paths_check_run_dir(const struct lxs_paths *p, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(p->run, &st) < 0) {
		int ret = -errno;

		snprintf(err, errlen, "cannot use the runtime folder %s: %s", p->run,
			 strerror(errno));
		return ret;
	}
	/* Whoever can replace or write into the folder can answer in lxsd's name. */
	if (!S_ISDIR(st.st_mode))
		snprintf(err, errlen,
			 "the runtime folder %s is %s, not a folder; remove it, or set "
			 "XDG_RUNTIME_DIR to a folder of your own",
			 p->run, S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
	else if (st.st_uid != getuid())
		snprintf(err, errlen,
			 "the runtime folder %s belongs to uid %u, not you; remove it, or set "
			 "XDG_RUNTIME_DIR to a folder of your own",
			 p->run, (unsigned)st.st_uid);
	else if (st.st_mode & 0077)
		snprintf(
		    err, errlen,
		    "the runtime folder %s is open to other users (mode %03o); make it private "
		    "with chmod 700 %s",
		    p->run, (unsigned)(st.st_mode & 07777), p->run);
	else
		return 0;
	return -EPERM;
}

int paths_make_run_dir(const struct lxs_paths *p, char *err, size_t errlen)
{
	/* The parent of /tmp/lxs-UID is /tmp, which exists; of XDG_RUNTIME_DIR/lxs too. */
	if (mkdir(p->run, 0700) < 0 && errno != EEXIST) {
		int ret = -errno;

		snprintf(err, errlen, "cannot create the runtime folder %s: %s", p->run,
			 strerror(errno));
		return ret;
	}
	/* In a shared /tmp, someone else may have made the folder first. */
	return paths_check_run_dir(p, err, errlen);
}

int paths_make_data_dir(const struct lxs_paths *p, char *err, size_t errlen)
{
	char locks[LXS_PATH_MAX];
	int ret;

	if ((ret = path_fmt(locks, sizeof(locks), "%s/locks", p->data)) < 0 ||
	    (ret = mkdir_p(locks, 0700)) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", locks, strerror(-ret));
		return ret;
	}
	return 0;
}

int absolute_path(const char *dir, char *out, size_t len)
{
	char cwd[LXS_PATH_MAX];

	if (dir[0] == '/')
		return path_fmt(out, len, "%s", dir);
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return path_fmt(out, len, "%s/%s", strcmp(cwd, "/") ? cwd : "", dir);
}
