/*
 * config.h - the global configuration (~/.config/lxs/lxs.conf, the
 * .wslconfig keys that make sense on a Linux host) and a distro's own
 * /etc/wsl.conf and /etc/wsl-distribution.conf, all INI read with libinih.
 *
 * Promises: a missing file gives the defaults; unknown sections, keys and
 * bad values are reported through the warn callback (one sentence each)
 * and otherwise ignored, never fatal, as WSL does.
 */
#ifndef LXS_STORE_CONFIG_H
#define LXS_STORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "paths.h"

typedef void (*config_warn_fn)(const char *sentence, void *arg);

struct lxs_config {
	uint64_t memory;               /* guest RAM bytes: 50% of host RAM, at least 256 MiB */
	int processors;                /* vCPUs: all host CPUs */
	uint64_t swap;                 /* accepted for .wslconfig compatibility; no swap yet */
	char kernel[LXS_PATH_MAX];     /* "" = the cached build (kernel/build.sh) */
	char kernel_cmdline[1024];     /* appended to the guest kernel's command line */
	long vm_idle_timeout_ms;       /* 60000; negative = never */
	long instance_idle_timeout_ms; /* 15000; negative = never */
	long boot_timeout_ms;          /* kernelBootTimeout: how long the VM may take to come up */
	bool localhost_forwarding;     /* guest TCP listeners reachable on the host's loopback */
	bool networking;               /* networkingMode: nat (true, default) or none */
	char auto_memory_reclaim[16];  /* disabled | gradual | dropCache */
	uint64_t default_vhd_size;     /* image size of new distros (sparse) */
	bool interop;                  /* [interop] enabled: host programs from distros (true) */
	bool distro_files; /* [files] enabled: lxs-fs shows the distros' files on the host (true) */
	bool host_virtiofs; /* [automount] transport: /mnt/host over virtiofs (true) or 9p */
	long host_cache_ms; /* [automount] cacheTimeout: how long virtiofs may keep what it saw
			       where lxs-vm cannot watch for host changes (1000) */
};

void config_defaults(struct lxs_config *c);
/* Read path over the defaults already in c. -errno only if the file exists but cannot be read. */
int config_load(const char *path, struct lxs_config *c, config_warn_fn warn, void *arg);

/* "4GB", "512MB", "1G", "1048576" (bytes): 0 or -EINVAL. */
int config_parse_size(const char *s, uint64_t *out);

struct wsl_conf {
	char default_user[66];   /* [user] default */
	char boot_command[1024]; /* [boot] command: run as root when the distro starts */
	bool systemd;            /* [boot] systemd */
	char hostname[65];       /* [network] hostname */
	bool generate_hosts, generate_resolv_conf;
	bool automount_enabled; /* [automount]: sent to lxs-init in DISTRO_START */
	char automount_root[256];
	char automount_options[256];
	bool mount_fstab; /* [automount] mountFsTab */
	bool interop_enabled, interop_append_path;
	char oobe_default_name[66]; /* /etc/wsl-distribution.conf [oobe] defaultName */
	long oobe_default_uid;      /* [oobe] defaultUid, -1 when absent */
};

void wsl_conf_defaults(struct wsl_conf *w);
/* Parse the text of /etc/wsl.conf (or wsl-distribution.conf) into w. */
void wsl_conf_parse(const char *text, size_t len, struct wsl_conf *w, config_warn_fn warn,
		    void *arg);

#endif
