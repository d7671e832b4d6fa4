/*
 * args.h - lxs's command line, parsed the way wsl.exe parses its own
 * (reference/wsl.md §1): run options, then either a management command or
 * the command to run. Pure: no I/O, so the unit tests can feed it anything.
 */
#ifndef LXS_CLI_ARGS_H
#define LXS_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

enum cli_action {
	ACT_RUN,
	ACT_HELP,
	ACT_VERSION,
	ACT_STATUS,
	ACT_LIST,
	ACT_INSTALL,
	ACT_IMPORT,
	ACT_IMPORT_IN_PLACE,
	ACT_EXPORT,
	ACT_UNREGISTER,
	ACT_SET_DEFAULT,
	ACT_SET_DEFAULT_VERSION,
	ACT_SET_VERSION,
	ACT_TERMINATE,
	ACT_SHUTDOWN,
	ACT_MANAGE,
};

enum shell_type { SHELL_DEFAULT, SHELL_STANDARD, SHELL_LOGIN, SHELL_NONE };
enum manage_op { MANAGE_NONE, MANAGE_DEFAULT_USER, MANAGE_RESIZE, MANAGE_MOVE, MANAGE_SPARSE };

struct cli_args {
	enum cli_action action;
	/* running */
	const char *distro, *user, *cd;
	enum shell_type shell;
	bool exec;  /* -e: argv as given, no shell */
	bool quote; /* after --: each argument kept whole through the shell */
	char **cmd; /* the command (NULL: the user's shell) */
	int ncmd;
	/* management */
	const char *name, *dir, *file, *format, *location, *value;
	int version; /* --version N of --import/--install, --set-default-version */
	bool all, running, quiet, verbose, online, force, no_launch;
	bool vhd; /* --import --vhd: FILE is an ext4 image to copy */
	enum manage_op manage;
};

/* 0, or -EINVAL with one sentence in err (exit 255, like wsl.exe's -1). */
int cli_parse(int argc, char **argv, struct cli_args *a, char *err, size_t errlen);

/* The usage text for --help. */
extern const char cli_usage[];

#endif
