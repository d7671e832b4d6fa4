/*
 * args.c - wsl.exe's command line as lxs takes it (args.h): options in any
 * order, their values checked, one sentence for anything wrong. Parses
 * only; it must not touch files, the registry or lxsd.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

const char cli_usage[] =
    "Usage: lxs [run options] [command line]\n"
    "\n"
    "Running (in the default distribution unless -d says otherwise):\n"
    "  lxs                        the default user's login shell\n"
    "  lxs CMDLINE                run CMDLINE through the user's $SHELL -c\n"
    "  lxs -- CMD [ARG...]        the same, each argument kept whole\n"
    "  -e, --exec CMD [ARG...]    run CMD directly, without a shell\n"
    "  --shell-type standard|login|none\n"
    "  -d, --distribution NAME    run in NAME\n"
    "  -u, --user USER            run as USER (default: [user] default of wsl.conf,\n"
    "                             then --manage --set-default-user, then root)\n"
    "  --cd DIR                   start in DIR: a path in the distribution, ~, or a\n"
    "                             relative path on the host (under /mnt/host)\n"
    "  ~                          (first argument) start in the home folder\n"
    "\n"
    "Managing distributions:\n"
    "  --install [debian] [--name NAME] [--location DIR] [--no-launch]\n"
    "  --import NAME DIR FILE|- [--version 1|2] tar, tar.gz, tar.xz, tar.zst\n"
    "  --import NAME DIR IMAGE --vhd            copy an ext4 image into DIR\n"
    "  --import-in-place NAME IMAGE             register an ext4 image where it is\n"
    "  --export NAME FILE|- [--format tar|tar.gz|tar.xz|tar.zst|img]\n"
    "  --unregister NAME          forget NAME and delete its image (or folder)\n"
    "  --set-version NAME 1|2     convert NAME: 1 runs with no VM, 2 in the VM\n"
    "  -l, --list [--running] [--quiet|-q] [--verbose|-v]\n"
    "  -s, --set-default NAME     --set-default-version 1|2\n"
    "  -t, --terminate NAME       stop NAME now\n"
    "  --shutdown [--force]       stop every distribution and the VM\n"
    "  --manage NAME --set-default-user USER | --resize SIZE | --move DIR\n"
    "  --status                   the default distribution and the VM's state\n"
    "  -v, --version              versions     --help  this text\n"
    "\n"
    "Exit status: the command's own; 128+N when signal N killed it; 255 when lxs\n"
    "itself failed (one sentence on stderr says why).\n";

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The value after an option: the next argument, which must exist. */
static int take(int argc, char **argv, int *i, const char **out, char *err, size_t errlen)
{
	if (*i + 1 >= argc) {
		/* -EINVAL spelt out: the compiler cannot see into bad (variadic, not
		 * inlined) and would think *out may be used unset. */
		bad(err, errlen, "%s needs a value; see lxs --help", argv[*i]);
		return -EINVAL;
	}
	*out = argv[++*i];
	return 0;
}

static int parse_version(const char *s, int *v)
{
	if (!strcmp(s, "1") || !strcmp(s, "2")) {
		*v = s[0] - '0';
		return 0;
	}
	return -EINVAL;
}

/* Options that may follow a management command's own arguments. */
static int mgmt_options(int argc, char **argv, int i, struct cli_args *a, char *err, size_t errlen)
{
	for (; i < argc; i++) {
		const char *o = argv[i];
		int r = 0;

		switch (a->action) {
		case ACT_LIST:
			if (!strcmp(o, "--all"))
				a->all = true;
			else if (!strcmp(o, "--running"))
				a->running = true;
			else if (!strcmp(o, "--quiet") || !strcmp(o, "-q"))
				a->quiet = true;
			else if (!strcmp(o, "--verbose") || !strcmp(o, "-v"))
				a->verbose = true;
			else if (!strcmp(o, "--online") || !strcmp(o, "-o"))
				a->online = true;
			else
				goto unknown;
			break;
		case ACT_IMPORT:
			if (!strcmp(o, "--version")) {
				const char *v;

				if ((r = take(argc, argv, &i, &v, err, errlen)) < 0)
					return r;
				if (parse_version(v, &a->version) < 0)
					return bad(err, errlen, "--version takes 1 or 2, not '%s'",
						   v);
			} else if (!strcmp(o, "--vhd")) {
				a->vhd = true;
			} else {
				goto unknown;
			}
			break;
		case ACT_EXPORT:
			if (!strcmp(o, "--format")) {
				if ((r = take(argc, argv, &i, &a->format, err, errlen)) < 0)
					return r;
			} else {
				goto unknown;
			}
			break;
		case ACT_SHUTDOWN:
			if (!strcmp(o, "--force"))
				a->force = true;
			else
				goto unknown;
			break;
		case ACT_INSTALL:
			if (!strcmp(o, "--name"))
				r = take(argc, argv, &i, &a->name, err, errlen);
			else if (!strcmp(o, "--location"))
				r = take(argc, argv, &i, &a->location, err, errlen);
			else if (!strcmp(o, "--no-launch") || !strcmp(o, "-n"))
				a->no_launch = true;
			else if (!strcmp(o, "--version")) {
				const char *v;

				if ((r = take(argc, argv, &i, &v, err, errlen)) < 0)
					return r;
				if (parse_version(v, &a->version) < 0)
					return bad(err, errlen, "--version takes 1 or 2, not '%s'",
						   v);
			} else if (o[0] != '-' && !a->value)
				a->value = o; /* the distribution to install */
			else
				goto unknown;
			if (r < 0)
				return r;
			break;
		case ACT_MANAGE: {
			enum manage_op op = !strcmp(o, "--set-default-user") ? MANAGE_DEFAULT_USER
					    : !strcmp(o, "--resize")         ? MANAGE_RESIZE
					    : !strcmp(o, "--move")           ? MANAGE_MOVE
					    : !strcmp(o, "--set-sparse") || !strcmp(o, "-s")
						? MANAGE_SPARSE
						: MANAGE_NONE;
			if (op == MANAGE_NONE)
				goto unknown;
			if (a->manage != MANAGE_NONE)
				return bad(err, errlen,
					   "--manage takes exactly one of --set-default-user, "
					   "--resize, --move%s",
					   "");
			a->manage = op;
			if ((r = take(argc, argv, &i, &a->value, err, errlen)) < 0)
				return r;
			break;
		}
		default:
			goto unknown;
		}
	}
	return 0;
unknown:
	return bad(err, errlen, "invalid command line argument: %s; see lxs --help", argv[i]);
}

struct mgmt {
	const char *opt, *alt;
	enum cli_action action;
	int nargs; /* positional arguments it takes */
};

static const struct mgmt mgmts[] = {
    {"--help", NULL, ACT_HELP, 0},
    {"--version", "-v", ACT_VERSION, 0},
    {"--status", NULL, ACT_STATUS, 0},
    {"--list", "-l", ACT_LIST, 0},
    {"--install", NULL, ACT_INSTALL, 0},
    {"--import", NULL, ACT_IMPORT, 3},
    {"--import-in-place", NULL, ACT_IMPORT_IN_PLACE, 2},
    {"--export", NULL, ACT_EXPORT, 2},
    {"--unregister", NULL, ACT_UNREGISTER, 1},
    {"--set-default", "-s", ACT_SET_DEFAULT, 1},
    {"--set-default-version", NULL, ACT_SET_DEFAULT_VERSION, 1},
    {"--set-version", NULL, ACT_SET_VERSION, 2},
    {"--terminate", "-t", ACT_TERMINATE, 1},
    {"--shutdown", NULL, ACT_SHUTDOWN, 0},
    {"--manage", NULL, ACT_MANAGE, 1},
};

int cli_parse(int argc, char **argv, struct cli_args *a, char *err, size_t errlen)
{
	int r;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "-d") || !strcmp(o, "--distribution")) {
			if (a->distro)
				return bad(err, errlen, "%s was given twice; name one distribution",
					   o);
			if ((r = take(argc, argv, &i, &a->distro, err, errlen)) < 0)
				return r;
		} else if (!strcmp(o, "-u") || !strcmp(o, "--user")) {
			if ((r = take(argc, argv, &i, &a->user, err, errlen)) < 0)
				return r;
		} else if (!strcmp(o, "--cd")) {
			if ((r = take(argc, argv, &i, &a->cd, err, errlen)) < 0)
				return r;
		} else if (!strcmp(o, "--shell-type")) {
			const char *t;

			if ((r = take(argc, argv, &i, &t, err, errlen)) < 0)
				return r;
			if (!strcmp(t, "standard"))
				a->shell = SHELL_STANDARD;
			else if (!strcmp(t, "login"))
				a->shell = SHELL_LOGIN;
			else if (!strcmp(t, "none"))
				a->shell = SHELL_NONE;
			else
				return bad(err, errlen,
					   "--shell-type takes standard, login or none, not '%s'",
					   t);
		} else if (!strcmp(o, "-e") || !strcmp(o, "--exec")) {
			if (i + 1 >= argc)
				return bad(err, errlen, "%s needs a command to run", o);
			a->exec = true;
			a->cmd = argv + i + 1;
			a->ncmd = argc - i - 1;
			return 0;
		} else if (!strcmp(o, "--")) {
			a->quote = true;
			a->cmd = argv + i + 1;
			a->ncmd = argc - i - 1;
			return 0;
		} else if (!strcmp(o, "~") && i == 1) {
			a->cd = "~";
		} else if (o[0] == '-' && o[1]) {
			const struct mgmt *m = NULL;

			for (size_t k = 0; k < sizeof(mgmts) / sizeof(mgmts[0]); k++)
				if (!strcmp(o, mgmts[k].opt) ||
				    (mgmts[k].alt && !strcmp(o, mgmts[k].alt)))
					m = &mgmts[k];
			if (!m)
				return bad(err, errlen,
					   "invalid command line argument: %s; see lxs --help", o);
			a->action = m->action;
			if (argc - i - 1 < m->nargs)
				return bad(err, errlen, "%s needs more arguments; see lxs --help",
					   o);
			const char **pos[3] = {&a->name, NULL, NULL};
			switch (m->action) {
			case ACT_IMPORT:
				pos[1] = &a->dir;
				pos[2] = &a->file;
				break;
			case ACT_IMPORT_IN_PLACE:
				pos[1] = &a->file;
				break;
			case ACT_EXPORT:
				pos[1] = &a->file;
				break;
			case ACT_SET_VERSION:
				pos[1] = &a->value;
				break;
			case ACT_SET_DEFAULT_VERSION:
				pos[0] = &a->value;
				break;
			default:
				break;
			}
			for (int k = 0; k < m->nargs; k++)
				*pos[k] = argv[++i];
			if (m->action == ACT_SET_DEFAULT_VERSION &&
			    parse_version(a->value, &a->version) < 0)
				return bad(err, errlen,
					   "--set-default-version takes 1 or 2, not '%s'",
					   a->value);
			if ((r = mgmt_options(argc, argv, i + 1, a, err, errlen)) < 0)
				return r;
			if (m->action == ACT_LIST && a->quiet && a->verbose)
				return bad(err, errlen,
					   "--quiet and --verbose cannot go together%s", "");
			if (m->action == ACT_LIST && a->all && a->running)
				return bad(err, errlen, "--all and --running cannot go together%s",
					   "");
			if (m->action == ACT_MANAGE && a->manage == MANAGE_NONE)
				return bad(
				    err, errlen,
				    "--manage needs one of --set-default-user, --resize, --move%s",
				    "");
			return 0;
		} else {
			/* The first argument that is no option starts the command line. */
			a->cmd = argv + i;
			a->ncmd = argc - i;
			return 0;
		}
	}
	return 0;
}
