/*
 * vmctl.h - the client of lxs-vm's control socket (src/vmm/control.h has the
 * protocol), for lxsd and `lxs-vm --ctl`: one blocking call per request,
 * each on a connection of its own, bounded in time.
 *
 * Every function returns 0 or -errno. On failure err holds one sentence:
 * the server's (its ERROR answer, whose errno is returned) or ours (cannot
 * connect, no answer in time: -ETIMEDOUT, a server that is not lxs-vm or
 * speaks another version: -EPROTO).
 */
#ifndef LXS_COMMON_VMCTL_H
#define LXS_COMMON_VMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the convenience calls give the whole conversation. */
#define VMCTL_TIMEOUT_MS 30000

/*
 * Send request `type` (LXS_MSG_VM_*) with payload fixed[0, fixedlen) and
 * then the string table strs[0, nstrs) (each with its NUL), and wait for the
 * answer, at most timeout_ms in all (< 0: no limit). An INFO answer's text
 * goes to info (NUL-terminated, cut to infolen; "" for OK); info may be
 * NULL.
 */
int vmctl_call(const char *sock, uint16_t type, const void *fixed, size_t fixedlen,
	       const char *const strs[], size_t nstrs, char *info, size_t infolen, char *err,
	       size_t errlen, int timeout_ms);

/* Give spare disk slot `slot` the image at path (any bytes but NUL); serial: at most 20 bytes. */
int vmctl_attach(const char *sock, unsigned slot, const char *path, bool ro, const char *serial,
		 char *err, size_t errlen);
/* Take the image out of the slot again (the guest must have let go of it). */
int vmctl_detach(const char *sock, unsigned slot, char *err, size_t errlen);
/* The DrvFs options (hostfs.h) the virtio-fs share `tag` gives its next mount. */
int vmctl_share_opts(const char *sock, const char *tag, const char *opts, char *err, size_t errlen);

#endif
