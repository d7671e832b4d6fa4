/*
 * config.c - lxs.conf (.wslconfig's keys) and a distro's wsl.conf and
 * wsl-distribution.conf (config.h), both read with libinih: the one place
 * either is parsed. Unknown keys warn, bad values keep the default.
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "common/size.h"

void config_defaults(struct lxs_config *c)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t total = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : (2ULL << 30);

	memset(c, 0, sizeof(*c));
	c->memory = total / 2;
	if (c->memory < (256ULL << 20))
		c->memory = 256ULL << 20;
	c->processors = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (c->processors < 1)
		c->processors = 1;
	c->vm_idle_timeout_ms = 60000;
	c->instance_idle_timeout_ms = 15000;
	c->boot_timeout_ms = 120000;
	c->localhost_forwarding = true;
	c->interop = true;
	c->distro_files = true;
	c->host_virtiofs = true;
	c->host_cache_ms = 1000;
	c->networking = true;
	snprintf(c->auto_memory_reclaim, sizeof(c->auto_memory_reclaim), "dropCache");
	c->default_vhd_size = 1ULL << 40;
}

int config_parse_size(const char *s, uint64_t *out)
{
	return size_parse(s, out);
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") ||
		 !strcasecmp(v, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_long(const char *v, long *out)
{
	char *end;

	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end)
		return -EINVAL;
	*out = x;
	return 0;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

/*
 * A folder: as lxs-init's own reading of wsl.conf took it before it was
 * sent in DISTRO_START, a trailing "# comment" (or "; comment") and
 * surrounding quotes are not part of it.
 */
static int copy_path(char *dst, size_t cap, const char *v)
{
	size_t n = 0;

	while (v[n] &&
	       !((v[n] == '#' || v[n] == ';') && n && (v[n - 1] == ' ' || v[n - 1] == '\t')))
		n++;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v++;
		n -= 2;
	}
	if (n >= cap)
		return -EINVAL;
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

struct cfg_ctx {
	struct lxs_config *c;
	config_warn_fn warn;
	void *arg;
	const char *path;
};

static void warnf(config_warn_fn warn, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warnf(config_warn_fn warn, void *arg, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	warn(buf, arg);
}

/* Section names as .wslconfig has them; keys compared without case, as WSL does. */
static int on_lxs_key(void *user, const char *section, const char *key, const char *v)
{
	struct cfg_ctx *x = user;
	struct lxs_config *c = x->c;
	bool wsl2 = !strcasecmp(section, "wsl2"), general = !strcasecmp(section, "general");
	bool exp = !strcasecmp(section, "experimental");
	int ret = 0;
	long l;

	if (wsl2 && !strcasecmp(key, "memory")) {
		uint64_t b;

		ret = config_parse_size(v, &b);
		if (!ret)
			c->memory = b < (256ULL << 20) ? 256ULL << 20 : b;
	} else if (wsl2 && !strcasecmp(key, "processors")) {
		ret = parse_long(v, &l);
		if (!ret && l >= 1) {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);

			c->processors = (int)(l > cpus && cpus > 0 ? cpus : l);
		} else {
			ret = -EINVAL;
		}
	} else if (wsl2 && !strcasecmp(key, "swap")) {
		ret = config_parse_size(v, &c->swap);
	} else if (wsl2 && !strcasecmp(key, "swapFile")) {
		/* Accepted for compatibility: there is no swap file yet. */
	} else if (wsl2 && !strcasecmp(key, "kernel")) {
		ret = copy_str(c->kernel, sizeof(c->kernel), v);
	} else if (wsl2 && !strcasecmp(key, "kernelCommandLine")) {
		ret = copy_str(c->kernel_cmdline, sizeof(c->kernel_cmdline), v);
	} else if (wsl2 && !strcasecmp(key, "vmIdleTimeout")) {
		ret = parse_long(v, &c->vm_idle_timeout_ms);
	} else if (wsl2 && !strcasecmp(key, "kernelBootTimeout")) {
		ret = parse_long(v, &c->boot_timeout_ms);
	} else if ((wsl2 || exp) && !strcasecmp(key, "localhostForwarding")) {
		ret = parse_bool(v, &c->localhost_forwarding);
	} else if ((wsl2 || exp) && !strcasecmp(key, "networkingMode")) {
		if (!strcasecmp(v, "nat") || !strcasecmp(v, "none")) {
			c->networking = !strcasecmp(v, "nat");
		} else {
			/* mirrored, bridged, virtioproxy: Windows host features with no meaning
			 * here. */
			c->networking = true;
			warnf(x->warn, x->arg,
			      "%s: [%s] networkingMode = %s is not available on a Linux host; lxs "
			      "uses "
			      "nat (or set none)",
			      x->path, section, v);
		}
	} else if ((wsl2 || exp) &&
		   (!strcasecmp(key, "dnsTunneling") || !strcasecmp(key, "firewall") ||
		    !strcasecmp(key, "autoProxy") || !strcasecmp(key, "dnsProxy"))) {
		warnf(
		    x->warn, x->arg,
		    "%s: [%s] %s is a Windows networking setting that lxs has no use for; ignored",
		    x->path, section, key);
	} else if (wsl2 && !strcasecmp(key, "defaultVhdSize")) {
		ret = config_parse_size(v, &c->default_vhd_size);
		if (!ret && c->default_vhd_size < (64ULL << 20))
			ret = -EINVAL;
	} else if ((general || wsl2) && !strcasecmp(key, "instanceIdleTimeout")) {
		ret = parse_long(v, &c->instance_idle_timeout_ms);
	} else if (!strcasecmp(section, "automount") && !strcasecmp(key, "transport")) {
		/* lxs's own: how version 2 shows the host's files (wsl.conf's [automount] is per
		 * distro). */
		if (!strcasecmp(v, "virtiofs") || !strcasecmp(v, "9p"))
			c->host_virtiofs = !strcasecmp(v, "virtiofs");
		else
			ret = -EINVAL;
	} else if (!strcasecmp(section, "automount") && !strcasecmp(key, "cacheTimeout")) {
		/*
		 * The bound on how late a host change lxs-vm cannot watch for is
		 * seen inside: lxs-vm --fs cache_ms (watched ones are told at once).
		 */
		ret = parse_long(v, &c->host_cache_ms);
		if (!ret && (c->host_cache_ms < 1 || c->host_cache_ms > 3600000))
			ret = -EINVAL;
	} else if (!strcasecmp(section, "files") && !strcasecmp(key, "enabled")) {
		ret = parse_bool(v, &c->distro_files);
	} else if (!strcasecmp(section, "interop") && !strcasecmp(key, "enabled")) {
		/* lxs's own switch for every distro (wsl.conf has one per distro). */
		ret = parse_bool(v, &c->interop);
	} else if (exp && !strcasecmp(key, "autoMemoryReclaim")) {
		if (strcasecmp(v, "disabled") && strcasecmp(v, "gradual") &&
		    strcasecmp(v, "dropCache"))
			ret = -EINVAL;
		else
			ret = copy_str(c->auto_memory_reclaim, sizeof(c->auto_memory_reclaim), v);
	} else {
		warnf(x->warn, x->arg, "%s: [%s] %s is not a setting lxs knows; ignored", x->path,
		      section, key);
		return 1;
	}
	if (ret)
		warnf(x->warn, x->arg, "%s: [%s] %s = %s is not a valid value; the default is kept",
		      x->path, section, key, v);
	return 1;
}

int config_load(const char *path, struct lxs_config *c, config_warn_fn warn, void *arg)
{
	struct cfg_ctx x = {c, warn, arg, path};
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	int r = ini_parse_file(f, on_lxs_key, &x);
	fclose(f);
	if (r > 0)
		warnf(warn, arg, "%s: line %d is not valid INI; it was skipped", path, r);
	return 0;
}

void wsl_conf_defaults(struct wsl_conf *w)
{
	memset(w, 0, sizeof(*w));
	w->generate_hosts = w->generate_resolv_conf = true;
	w->automount_enabled = w->mount_fstab = true;
	snprintf(w->automount_root, sizeof(w->automount_root), "/mnt/");
	w->interop_enabled = w->interop_append_path = true;
	w->oobe_default_uid = -1;
}

struct wsl_ctx {
	struct wsl_conf *w;
	config_warn_fn warn;
	void *arg;
};

/* Unknown keys are skipped silently, as WSL does for wsl.conf (CFG_SKIP_UNKNOWN_VALUES). */
static int on_wsl_key(void *user, const char *section, const char *key, const char *v)
{
	struct wsl_ctx *x = user;
	struct wsl_conf *w = x->w;
	int ret = 0;

	if (!strcasecmp(section, "user") && !strcasecmp(key, "default"))
		ret = copy_str(w->default_user, sizeof(w->default_user), v);
	else if (!strcasecmp(section, "boot") && !strcasecmp(key, "command"))
		ret = copy_str(w->boot_command, sizeof(w->boot_command), v);
	else if (!strcasecmp(section, "boot") && !strcasecmp(key, "systemd"))
		ret = parse_bool(v, &w->systemd);
	else if (!strcasecmp(section, "network") && !strcasecmp(key, "hostname"))
		ret = copy_str(w->hostname, sizeof(w->hostname), v);
	else if (!strcasecmp(section, "network") && !strcasecmp(key, "generateHosts"))
		ret = parse_bool(v, &w->generate_hosts);
	else if (!strcasecmp(section, "network") && !strcasecmp(key, "generateResolvConf"))
		ret = parse_bool(v, &w->generate_resolv_conf);
	else if (!strcasecmp(section, "automount") && !strcasecmp(key, "enabled"))
		ret = parse_bool(v, &w->automount_enabled);
	else if (!strcasecmp(section, "automount") && !strcasecmp(key, "root"))
		ret = copy_path(w->automount_root, sizeof(w->automount_root), v);
	else if (!strcasecmp(section, "automount") && !strcasecmp(key, "options"))
		ret = copy_str(w->automount_options, sizeof(w->automount_options), v);
	else if (!strcasecmp(section, "automount") && !strcasecmp(key, "mountFsTab"))
		ret = parse_bool(v, &w->mount_fstab);
	else if (!strcasecmp(section, "interop") && !strcasecmp(key, "enabled"))
		ret = parse_bool(v, &w->interop_enabled);
	else if (!strcasecmp(section, "interop") && !strcasecmp(key, "appendWindowsPath"))
		ret = parse_bool(v, &w->interop_append_path);
	else if (!strcasecmp(section, "oobe") && !strcasecmp(key, "defaultName"))
		ret = copy_str(w->oobe_default_name, sizeof(w->oobe_default_name), v);
	else if (!strcasecmp(section, "oobe") && !strcasecmp(key, "defaultUid"))
		ret = parse_long(v, &w->oobe_default_uid);
	if (ret)
		warnf(x->warn, x->arg, "wsl.conf: [%s] %s = %s is not a valid value; ignored",
		      section, key, v);
	return 1;
}

void wsl_conf_parse(const char *text, size_t len, struct wsl_conf *w, config_warn_fn warn,
		    void *arg)
{
	struct wsl_ctx x = {w, warn, arg};
	char *copy = strndup(text, len);

	if (!copy)
		return;
	ini_parse_string(copy, on_wsl_key, &x);
	free(copy);
}
