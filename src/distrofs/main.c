/*
 * lxs-fs - the distros' files on the host (distrofs.h says how). lxsd starts
 * it beside itself; main() is its life: clear a mount a killed lxs-fs left,
 * mount, serve until SIGTERM (lxsd leaving) or an unmount, unmount.
 *
 * usage: lxs-fs MOUNTPOINT
 *
 * The mount is the user's alone: no allow_other, so the kernel refuses
 * every other uid (root included) before a request reaches us.
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "distrofs.h"

/*
 * A mount whose server died answers ENOTCONN to everything: take it away
 * (lazily, so a shell still sitting in it does not stop us) before mounting
 * again. An ordinary user has only fusermount3 to do it with.
 */
static void clear_stale_mount(const char *mnt)
{
	struct stat st;
	pid_t pid;

	if (stat(mnt, &st) == 0 || errno != ENOTCONN)
		return;
	if (umount2(mnt, MNT_DETACH) == 0)
		return;
	pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "-q", mnt, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/*
 * The link a user can bookmark: DATA/fs -> the mount point. The run folder
 * moves with XDG_RUNTIME_DIR; the link is made anew when it points elsewhere.
 */
static void link_mount(const struct lxs_paths *p, const char *mnt)
{
	char link[LXS_PATH_MAX], tmp[LXS_PATH_MAX], now[LXS_PATH_MAX];
	ssize_t n;

	if (path_fmt(link, sizeof(link), "%s/fs", p->data) < 0 ||
	    path_fmt(tmp, sizeof(tmp), "%s/fs.new-%d", p->data, (int)getpid()) < 0)
		return;
	n = readlink(link, now, sizeof(now) - 1);
	if (n >= 0 && (size_t)n == strlen(mnt) && !memcmp(now, mnt, (size_t)n))
		return;
	if (mkdir_p(p->data, 0700) < 0)
		return;
	unlink(tmp);
	if (symlink(mnt, tmp) == 0 && rename(tmp, link) < 0)
		unlink(tmp);
}

static void init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Bigger requests, fewer round trips to the VM: bench/distrofs. */
	conn->max_write = 1u << 20;
	conn->max_read = 1u << 20; /* as the mount option says: libfuse checks they agree */
	conn->max_readahead = 1u << 20;
}

int main(int argc, char **argv)
{
	struct dfs fs = {.hold_fd = -1};
	struct fuse_lowlevel_ops ops = dfs_ops;
	char err[1024], opt_o[] = "-o", opts[] = "fsname=lxs,subtype=lxs,max_read=1048576";
	char *fargv[] = {argv[0], opt_o, opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_loop_config cfg = {.clone_fd = 0, .max_idle_threads = 16};
	struct fuse_session *se;
	pthread_t holder;
	const char *mnt;
	int ret = 1;

	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: lxs-fs MOUNTPOINT (an absolute path)\n");
		return 2;
	}
	mnt = argv[1];
	/* Version 1's server holds a descriptor per file the kernel keeps: all we may have. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* lxsd gone (even killed): unmount cleanly, through the handler set below, not SIGKILL. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (paths_init(&fs.p, err, sizeof(err)) < 0) {
		fprintf(stderr, "lxs-fs: %s\n", err);
		return 1;
	}
	fs.nodes = calloc(DFS_NODE_HASH, sizeof(*fs.nodes));
	if (!fs.nodes)
		return 1;
	pthread_mutex_init(&fs.lock, NULL);
	pthread_mutex_init(&fs.conn_lock, NULL);
	pthread_mutex_init(&fs.hold_lock, NULL);
	clear_stale_mount(mnt);
	if (mkdir(mnt, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "lxs-fs: cannot make %s: %s\n", mnt, strerror(errno));
		return 1;
	}
	ops.init = init;
	se = fuse_session_new(&args, &ops, sizeof(ops), &fs);
	fs.se = se;
	fs.changed = dfs_changed;
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se) < 0)
		goto destroy;
	if (fuse_session_mount(se, mnt) < 0) {
		fprintf(stderr,
			"lxs-fs: cannot mount the distros' files at %s: /dev/fuse must be open to "
			"this user (mode 0666, Debian's default) and fuse3 installed\n",
			mnt);
		goto signals;
	}
	link_mount(&fs.p, mnt);
	if (pthread_create(&holder, NULL, dfs_holder, &fs) == 0) {
		ret = fuse_session_loop_mt(se, &cfg) < 0 ? 1 : 0;
		fs.stop = true;
		pthread_join(holder, NULL);
	}
	dfs_forget_all(&fs);
	dfs_stop_watches(&fs);
	fuse_session_unmount(se);
      signals:
	fuse_remove_signal_handlers(se);
destroy:
	fs.se = NULL; /* no watch is left to use it */
	fuse_session_destroy(se);
	dfs_close_all(&fs);
	fuse_opt_free_args(&args);
	return ret;
}
