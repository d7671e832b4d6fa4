/*
 * vmctl.c - the client of lxs-vm's control socket (vmctl.h): connect, HELLO
 * both ways, one request, one answer, all within one deadline.
 */
#include "vmctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call.h"
#include "wire.h"

int vmctl_call(const char *sock, uint16_t type, const void *fixed, size_t fixedlen,
	       const char *const strs[], size_t nstrs, char *info, size_t infolen, char *err,
	       size_t errlen, int timeout_ms)
{
	struct call_answer a = {0};
	char *tab = NULL;
	long tablen = 0;
	int fd, ret;

	if (info && infolen)
		info[0] = '\0';
	err[0] = '\0';
	if (fixedlen > LXS_MSG_MAX || !(tab = malloc(LXS_MSG_MAX - fixedlen + 1)) ||
	    (tablen = wire_strtab(tab, LXS_MSG_MAX - fixedlen, strs, nstrs)) < 0) {
		free(tab);
		snprintf(err, errlen, "the request is longer than %u bytes", LXS_MSG_MAX);
		return -E2BIG;
	}
	fd = call_connect(sock, timeout_ms);
	if (fd < 0) {
		ret = fd;
		snprintf(err, errlen, "cannot connect to lxs-vm's control socket %s: %s", sock,
			 strerror(-ret));
		goto out;
	}
	ret = call_fd(fd, type, fixed, fixedlen, tab, (size_t)tablen, &a, timeout_ms);
	close(fd);
	if (ret == -EPROTO)
		snprintf(err, errlen, "%s does not answer HELLO as lxs-vm does", sock);
	if (ret < 0)
		goto out;
	if (a.type == LXS_MSG_ERROR) {
		ret = a.err;
		snprintf(err, errlen, "%s", a.msg[0] ? a.msg : "lxs-vm refused the request");
	} else if (a.type == LXS_MSG_OK && a.len == 0) {
		ret = 0;
	} else if (a.type == LXS_MSG_INFO) {
		if (info && infolen)
			snprintf(info, infolen, "%.*s", (int)a.len, (const char *)a.p);
		ret = 0;
	} else {
		ret = -EPROTO;
		snprintf(err, errlen, "lxs-vm answered with message type %u", a.type);
	}
out:
	call_answer_free(&a);
	free(tab);
	if (ret < 0 && !err[0])
		snprintf(err, errlen, "no answer from lxs-vm's control socket %s: %s", sock,
			 ret == -ECONNRESET ? "it closed the connection" : strerror(-ret));
	return ret;
}

int vmctl_attach(const char *sock, unsigned slot, const char *path, bool ro, const char *serial,
		 char *err, size_t errlen)
{
	struct lxs_vm_disk d = {.slot = slot, .flags = ro ? LXS_VM_DISK_RO : 0};
	const char *strs[2] = {path, serial ? serial : ""};

	return vmctl_call(sock, LXS_MSG_VM_ATTACH, &d, sizeof(d), strs, 2, NULL, 0, err, errlen,
			  VMCTL_TIMEOUT_MS);
}

int vmctl_detach(const char *sock, unsigned slot, char *err, size_t errlen)
{
	struct lxs_vm_disk d = {.slot = slot};

	return vmctl_call(sock, LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0, NULL, 0, err, errlen,
			  VMCTL_TIMEOUT_MS);
}

int vmctl_share_opts(const char *sock, const char *tag, const char *opts, char *err, size_t errlen)
{
	const char *strs[2] = {tag, opts ? opts : ""};

	return vmctl_call(sock, LXS_MSG_VM_SHARE_OPTS, NULL, 0, strs, 2, NULL, 0, err, errlen,
			  VMCTL_TIMEOUT_MS);
}
