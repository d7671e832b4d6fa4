/*
 * xlate.h - path translation between the host and a distro, and WSLENV.
 *
 * Inside a distro the host's root folder "/" appears at the host mount
 * (default /mnt/host; wsl.conf [automount] root=/x/ makes it /x/host; absent
 * when automount is disabled). These functions map paths across it and
 * carry the environment variables that WSLENV (or its alias LXSENV) lists
 * from one side to the other, as WSL does between Windows and Linux, the
 * host playing Windows' part.
 *
 * The same code is built twice: statically with musl into the distro-side
 * tool (lxs-host, lxspath) and with glibc into host programs. So: C17 and
 * POSIX only, no globals, nothing exits; functions return 0 or a length, or
 * -errno.
 */
#ifndef LXS_INTEROP_XLATE_H
#define LXS_INTEROP_XLATE_H

#include <stddef.h>

/* The host mount when LXS_HOST_MOUNT is unset. */
#define XLATE_DEFAULT_MOUNT "/mnt/host"

/* Bounds of xlate_env: names listed in WSLENV and LXSENV together, and the
 * bytes of the "NAME=VALUE" strings it produces. */
#define XLATE_ENV_MAX_NAMES 256
#define XLATE_ENV_MAX_BYTES (128 * 1024)

/*
 * Lexical normalisation: PATH joined to CWD when relative, "//", "." and
 * ".." collapsed ("/.." is "/"), no trailing slash except for "/" itself.
 * Symlinks are not looked at. Writes the NUL-terminated result to OUT (LEN
 * bytes) and returns its length; -ENAMETOOLONG when it does not fit,
 * -EINVAL for an empty PATH or, for a relative PATH, a CWD that is not
 * absolute. CWD may be NULL when PATH is absolute.
 */
int xlate_absolute(const char *cwd, const char *path, char *out, size_t len);

/*
 * An absolute host path to the distro path that shows it: "/" -> MNT,
 * "/a/b" -> MNT "/a/b". Both are normalised first. Returns the length
 * written to OUT; -ENOENT when MNT is NULL or "" (no host mount), -EINVAL
 * when HOST or MNT is not absolute, -ENAMETOOLONG.
 */
int xlate_to_distro(const char *mnt, const char *host, char *out, size_t len);

/*
 * An absolute distro path under MNT to the host path it shows: MNT -> "/",
 * MNT "/a" -> "/a" ("/mnt/hostx" is not under "/mnt/host"). Both are normalised
 * first. -ENOENT for a path outside MNT (distro files have no host path
 * yet) or no host mount; -EINVAL when DISTRO or MNT is not absolute;
 * -ENAMETOOLONG.
 */
int xlate_to_host(const char *mnt, const char *distro, char *out, size_t len);

/* The distro's host mount: $LXS_HOST_MOUNT, "" meaning none, or
 * XLATE_DEFAULT_MOUNT when it is unset. */
const char *xlate_host_mount(void);

enum xlate_way {
	XLATE_INTO_DISTRO, /* host environment -> a distro process */
	XLATE_INTO_HOST,   /* distro environment -> a host process */
};

/*
 * WSLENV: from ENV (NULL-terminated "NAME=VALUE" strings of the source
 * side), the malloc'd NULL-terminated vector of "NAME=VALUE" strings the
 * other side gets, and its count in *NOUT. WSLENV and LXSENV are
 * colon-separated lists of NAME[/FLAGS]: p (the value is a path), l (a
 * colon-separated list of paths), u (only into the distro), w (only into
 * the host). MNT is the distro's host mount (NULL or "" for none).
 *
 * What WSL does, kept here: an entry with an unknown flag is ignored; a /p
 * value that cannot be translated (relative, outside the host mount, no
 * host mount) drops the variable; a /l list loses its empty and
 * untranslatable elements, and the variable is dropped when none is left;
 * when one name is listed twice, the last entry that passes wins. Ours:
 * names must be shell identifiers (others are ignored); a variable absent
 * from ENV is not passed (WSL passes it empty); WSLENV and LXSENV
 * themselves pass unchanged when present (WSL always passes WSLENV); a
 * name that WSLENV lists takes no entry from LXSENV; /pl is /l.
 *
 * Returns 0, -EINVAL (bad arguments), -ENOMEM, or -E2BIG when the lists
 * name more than XLATE_ENV_MAX_NAMES entries or the result would pass
 * XLATE_ENV_MAX_BYTES. Free the vector with xlate_env_free.
 */
int xlate_env(const char *const *env, enum xlate_way way, const char *mnt, char ***out,
	      size_t *nout);
void xlate_env_free(char **v);

/*
 * lxspath, WSL's wslpath: lxspath [-a] [-u|-w|-m] PATH. Prints the
 * translation and returns the exit status: 0, 1 for a path it cannot
 * translate and, as wslpath, 1 for a usage error too. MNT as
 * xlate_host_mount() gives it; FILES the host folder of the distro's own
 * files (xlate_distro_files(), NULL for none). See lxspath.c.
 */
int lxspath_main(int argc, char **argv, const char *mnt, const char *files);

/* Where lxs-fs shows this distro's files on the host: $LXS_DISTRO_FILES, or NULL. */
const char *xlate_distro_files(void);

#endif
