/*
 * xlate.c - path translation between the host and a distro (through the
 * distro's host mount) and WSLENV/LXSENV, the lists of environment
 * variables that cross between the two; see xlate.h. Built with glibc for
 * host programs and with musl into the distro-side tool, so plain C17 and
 * POSIX, no globals, and every failure is a -errno result.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "interop/xlate.h"

/* --- paths ------------------------------------------------------------------ */

/*
 * The normalised path being built in OUT: "" stands for "/", each
 * component is written as "/name". A component that does not fit is not
 * written but counted in OVER, so that a later ".." can take it back and
 * only a result that really is too long fails.
 */
struct npath {
	char *out;
	size_t len, n, over;
};

static void np_walk(struct npath *np, const char *s)
{
	while (*s) {
		const char *c = s;
		size_t clen;

		while (*s && *s != '/')
			s++;
		clen = (size_t)(s - c);
		if (*s)
			s++;
		if (clen == 0 || (clen == 1 && c[0] == '.'))
			continue;
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			if (np->over) {
				np->over--;
			} else {
				/* ".." at the root stays at the root. */
				while (np->n > 0 && np->out[np->n - 1] != '/')
					np->n--;
				if (np->n > 0)
					np->n--;
			}
			continue;
		}
		/* "/name" and the final NUL must fit. */
		if (np->over || clen + 2 > np->len - np->n) {
			np->over++;
			continue;
		}
		np->out[np->n++] = '/';
		memcpy(np->out + np->n, c, clen);
		np->n += clen;
	}
}

int xlate_absolute(const char *cwd, const char *path, char *out, size_t len)
{
	struct npath np = {.out = out, .len = len};

	if (!path || !*path || !out)
		return -EINVAL;
	if (path[0] != '/' && (!cwd || cwd[0] != '/'))
		return -EINVAL;
	/* The length is returned as an int. */
	if (np.len > INT_MAX)
		np.len = INT_MAX;
	if (path[0] != '/')
		np_walk(&np, cwd);
	np_walk(&np, path);
	if (np.over || np.len < 2)
		return -ENAMETOOLONG;
	if (np.n == 0)
		out[np.n++] = '/';
	out[np.n] = '\0';
	return (int)np.n;
}

/* MNT normalised into M (PATH_MAX bytes): its length, or -errno. A host
 * mount longer than PATH_MAX could not be mounted anyway. */
static int norm_mount(const char *mnt, char *m)
{
	if (!mnt || !*mnt)
		return -ENOENT;
	if (mnt[0] != '/')
		return -EINVAL;
	return xlate_absolute(NULL, mnt, m, PATH_MAX);
}

int xlate_to_distro(const char *mnt, const char *host, char *out, size_t len)
{
	char m[PATH_MAX];
	int ml, hl;

	if ((ml = norm_mount(mnt, m)) < 0)
		return ml;
	if (!host || host[0] != '/')
		return -EINVAL;
	if ((hl = xlate_absolute(NULL, host, out, len)) < 0)
		return hl;
	/* The host's root is the mount itself; a mount at "/" adds nothing. */
	if (hl == 1)
		hl = 0;
	if (ml == 1)
		ml = 0;
	if (ml == 0 && hl == 0) {
		out[0] = '/';
		out[1] = '\0';
		return 1;
	}
	if ((size_t)ml + (size_t)hl >= len || (size_t)ml + (size_t)hl > INT_MAX)
		return -ENAMETOOLONG;
	memmove(out + ml, out, (size_t)hl);
	memcpy(out, m, (size_t)ml);
	out[ml + hl] = '\0';
	return ml + hl;
}

int xlate_to_host(const char *mnt, const char *distro, char *out, size_t len)
{
	char m[PATH_MAX];
	int ml, dl;

	if ((ml = norm_mount(mnt, m)) < 0)
		return ml;
	if (!distro || distro[0] != '/')
		return -EINVAL;
	if ((dl = xlate_absolute(NULL, distro, out, len)) < 0)
		return dl;
	if (ml == 1) /* a mount at "/": every path is the host's */
		return dl;
	if (dl < ml || memcmp(out, m, (size_t)ml) != 0)
		return -ENOENT;
	if (dl == ml) {
		out[0] = '/';
		out[1] = '\0';
		return 1;
	}
	/* "/mnt/hostx" shares the prefix but is not under "/mnt/host". */
	if (out[ml] != '/')
		return -ENOENT;
	memmove(out, out + ml, (size_t)(dl - ml) + 1);
	return dl - ml;
}

const char *xlate_host_mount(void)
{
	const char *m = getenv("LXS_HOST_MOUNT");

	return m ? m : XLATE_DEFAULT_MOUNT;
}

const char *xlate_distro_files(void)
{
	const char *f = getenv("LXS_DISTRO_FILES");

	return f && f[0] == '/' ? f : NULL;
}

/* --- WSLENV ----------------------------------------------------------------- */

enum {
	F_PATH = 1,    /* p */
	F_LIST = 2,    /* l */
	F_DISTRO = 4,  /* u: only into the distro */
	F_HOST = 8,    /* w: only into the host */
	F_BAD = 16,    /* an unknown flag: WSL ignores the entry (room for new flags) */
	F_SECOND = 32, /* from LXSENV */
};

struct entry {
	const char *name;
	size_t nlen;
	unsigned flags;
};

static bool is_name(const char *s, size_t n)
{
	if (n == 0 ||
	    !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* The value of NAME (NLEN bytes) in ENV, the first one as getenv has it. */
static const char *env_get(const char *const *env, const char *name, size_t nlen)
{
	for (; *env; env++)
		if (!strncmp(*env, name, nlen) && (*env)[nlen] == '=')
			return *env + nlen + 1;
	return NULL;
}

/* The entries of one list into E (N so far). Empty entries are skipped
 * and trailing white space is dropped, as WSL does; -E2BIG past the bound. */
static int parse_list(const char *list, unsigned from, struct entry *e, size_t *n)
{
	size_t end = strlen(list);

	while (end > 0 &&
	       (list[end - 1] == ' ' || (list[end - 1] >= '\t' && list[end - 1] <= '\r')))
		end--;
	for (size_t i = 0; i < end;) {
		size_t j = i, slash;
		unsigned flags = from;

		while (j < end && list[j] != ':')
			j++;
		if (j == i) {
			i = j + 1;
			continue;
		}
		if (*n == XLATE_ENV_MAX_NAMES)
			return -E2BIG;
		for (slash = i; slash < j && list[slash] != '/'; slash++)
			;
		for (size_t k = slash + 1; k < j; k++) {
			switch (list[k]) {
			case 'p':
				flags |= F_PATH;
				break;
			case 'l':
				flags |= F_LIST;
				break;
			case 'u':
				flags |= F_DISTRO;
				break;
			case 'w':
				flags |= F_HOST;
				break;
			default:
				flags |= F_BAD;
				break;
			}
		}
		e[*n] = (struct entry){.name = list + i, .nlen = slash - i, .flags = flags};
		(*n)++;
		i = j + 1;
	}
	return 0;
}

/* Whether the entry takes part at all: a shell identifier, known flags,
 * not WSLENV or LXSENV (which travel as they are). */
static bool entry_valid(const struct entry *e)
{
	if ((e->flags & F_BAD) || !is_name(e->name, e->nlen))
		return false;
	return !(e->nlen == 6 && (!memcmp(e->name, "WSLENV", 6) || !memcmp(e->name, "LXSENV", 6)));
}

static int xlate_one(enum xlate_way way, const char *mnt, const char *path, char *out, size_t len)
{
	if (path[0] != '/') /* relative: nothing to be relative to */
		return -ENOENT;
	return way == XLATE_INTO_DISTRO ? xlate_to_distro(mnt, path, out, len)
					: xlate_to_host(mnt, path, out, len);
}

/*
 * "NAME=VALUE" for entry E whose value in the source is V, malloc'd, in
 * *RES; NULL when the variable does not pass (an untranslatable path).
 * 0 or -errno.
 */
static int make_var(const struct entry *e, const char *v, enum xlate_way way, const char *mnt,
		    char **res)
{
	size_t vlen = strlen(v), mlen = mnt ? strlen(mnt) : 0, cap, n, parts = 1;
	char *s;

	*res = NULL;
	if (!(e->flags & (F_PATH | F_LIST))) {
		if (!(s = malloc(e->nlen + vlen + 2)))
			return -ENOMEM;
		memcpy(s, e->name, e->nlen);
		s[e->nlen] = '=';
		memcpy(s + e->nlen + 1, v, vlen + 1);
		*res = s;
		return 0;
	}
	/* Each translated path grows by at most the mount and a "/". Past the
	 * bound the result could not be passed anyway. */
	if (e->flags & F_LIST)
		for (const char *c = v; *c; c++)
			parts += *c == ':';
	if (vlen > XLATE_ENV_MAX_BYTES)
		return -E2BIG;
	/* A longer mount normalises to under PATH_MAX or fails to translate. */
	if (mlen > PATH_MAX)
		mlen = PATH_MAX;
	cap = e->nlen + 1 + vlen + parts * (mlen + 2) + 1;
	if (!(s = malloc(cap)))
		return -ENOMEM;
	memcpy(s, e->name, e->nlen);
	s[e->nlen] = '=';
	n = e->nlen + 1;
	if (!(e->flags & F_LIST)) {
		int r = xlate_one(way, mnt, v, s + n, cap - n);

		if (r < 0) {
			free(s);
			return r == -ENOMEM ? r : 0;
		}
		*res = s;
		return 0;
	}
	/* A list: translate each element into place, dropping those that fail.
	 * Each element is copied out first since the value is not ours. */
	char *elem = malloc(vlen + 1);

	if (!elem) {
		free(s);
		return -ENOMEM;
	}
	size_t first = n;

	for (const char *c = v; *c;) {
		const char *d = strchr(c, ':');
		size_t el = d ? (size_t)(d - c) : strlen(c);
		int r;

		memcpy(elem, c, el);
		elem[el] = '\0';
		c += el + (d ? 1 : 0);
		if (el == 0)
			continue;
		if (n > first)
			s[n++] = ':';
		r = xlate_one(way, mnt, elem, s + n, cap - n);
		if (r < 0) {
			if (n > first)
				n--;
			continue;
		}
		n += (size_t)r;
	}
	free(elem);
	if (n == first) { /* nothing left: WSL drops the variable */
		free(s);
		return 0;
	}
	s[n] = '\0';
	*res = s;
	return 0;
}

void xlate_env_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int add_verbatim(const char *const *env, const char *name, char **vec, size_t *nv,
			size_t *bytes)
{
	const char *v = env_get(env, name, strlen(name));
	size_t l;

	if (!v)
		return 0;
	l = strlen(name) + 1 + strlen(v);
	if (l > XLATE_ENV_MAX_BYTES - *bytes)
		return -E2BIG;
	if (!(vec[*nv] = malloc(l + 1)))
		return -ENOMEM;
	memcpy(vec[*nv], v - strlen(name) - 1, l + 1);
	(*nv)++;
	*bytes += l;
	return 0;
}

int xlate_env(const char *const *env, enum xlate_way way, const char *mnt, char ***out,
	      size_t *nout)
{
	struct entry *e = NULL;
	char **vec = NULL;
	size_t ne = 0, nv = 0, bytes = 0, fixed;
	const char *wl, *ll;
	int r;

	if (out)
		*out = NULL;
	if (nout)
		*nout = 0;
	if (!env || !out || !nout || (way != XLATE_INTO_DISTRO && way != XLATE_INTO_HOST))
		return -EINVAL;
	wl = env_get(env, "WSLENV", 6);
	ll = env_get(env, "LXSENV", 6);
	/* At most the two lists and one variable per entry, and the NULL. */
	if (!(e = calloc(XLATE_ENV_MAX_NAMES, sizeof(*e))) ||
	    !(vec = calloc(XLATE_ENV_MAX_NAMES + 3, sizeof(*vec)))) {
		r = -ENOMEM;
		goto fail;
	}
	if ((wl && (r = parse_list(wl, 0, e, &ne)) < 0) ||
	    (ll && (r = parse_list(ll, F_SECOND, e, &ne)) < 0))
		goto fail;
	if ((r = add_verbatim(env, "WSLENV", vec, &nv, &bytes)) < 0 ||
	    (r = add_verbatim(env, "LXSENV", vec, &nv, &bytes)) < 0)
		goto fail;
	fixed = nv;
	for (size_t i = 0; i < ne; i++) {
		const struct entry *x = &e[i];
		unsigned only = way == XLATE_INTO_DISTRO ? F_HOST : F_DISTRO;
		const char *v;
		char *s;
		size_t k;

		if (!entry_valid(x) || (x->flags & only))
			continue;
		/* A name WSLENV lists takes nothing from LXSENV. */
		if (x->flags & F_SECOND) {
			bool in_first = false;

			for (size_t j = 0; j < ne && !(e[j].flags & F_SECOND); j++)
				if (e[j].nlen == x->nlen && !memcmp(e[j].name, x->name, x->nlen) &&
				    entry_valid(&e[j]))
					in_first = true;
			if (in_first)
				continue;
		}
		if (!(v = env_get(env, x->name, x->nlen)))
			continue;
		if ((r = make_var(x, v, way, mnt, &s)) < 0)
			goto fail;
		if (!s)
			continue;
		/* The last entry that passes wins, in the first one's place. */
		for (k = fixed; k < nv; k++)
			if (!strncmp(vec[k], x->name, x->nlen) && vec[k][x->nlen] == '=')
				break;
		if (k < nv) {
			bytes -= strlen(vec[k]);
			free(vec[k]);
		}
		if (strlen(s) > XLATE_ENV_MAX_BYTES - bytes) {
			free(s);
			if (k < nv) { /* keep the vector without holes */
				memmove(vec + k, vec + k + 1, (nv - k) * sizeof(*vec));
				nv--;
			}
			r = -E2BIG;
			goto fail;
		}
		bytes += strlen(s);
		vec[k] = s;
		if (k == nv)
			nv++;
	}
	free(e);
	vec[nv] = NULL;
	*out = vec;
	*nout = nv;
	return 0;
fail:
	free(e);
	xlate_env_free(vec);
	return r;
}
