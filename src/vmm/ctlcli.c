/*
 * ctlcli.c - `lxs-vm --ctl SOCKET COMMAND [ARGS]`: the control socket's
 * client (src/common/vmctl.h) for people and test scripts, printing the
 * answer in the old text protocol's format so that scripts read one line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/proto.h"
#include "common/vmctl.h"
#include "control.h"

static int usage(void)
{
	fprintf(stderr, "usage: lxs-vm --ctl SOCKET attach SLOT PATH ro|rw SERIAL\n"
			"       lxs-vm --ctl SOCKET detach SLOT\n"
			"       lxs-vm --ctl SOCKET balloon MIB\n"
			"       lxs-vm --ctl SOCKET share-opts TAG OPTIONS\n"
			"       lxs-vm --ctl SOCKET stats|net|poweroff\n");
	return 2;
}

/* A decimal number of at most max, all of s. */
static int number(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end || errno || *out > max ? -EINVAL : 0;
}

int control_cli(int argc, char **argv)
{
	const char *sock, *cmd, *strs[2];
	char info[1024], err[1024];
	struct lxs_vm_disk d = {0};
	struct lxs_vm_balloon b = {0};
	unsigned long long n;
	int ret;

	if (argc < 2)
		return usage();
	sock = argv[0];
	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "attach") && argc == 4 && number(argv[0], UINT32_MAX, &n) == 0 &&
	    (!strcmp(argv[2], "ro") || !strcmp(argv[2], "rw"))) {
		d.slot = (uint32_t)n;
		d.flags = !strcmp(argv[2], "ro") ? LXS_VM_DISK_RO : 0;
		strs[0] = argv[1];
		strs[1] = argv[3];
		ret = vmctl_call(sock, LXS_MSG_VM_ATTACH, &d, sizeof(d), strs, 2, info,
				 sizeof(info), err, sizeof(err), VMCTL_TIMEOUT_MS);
	} else if (!strcmp(cmd, "detach") && argc == 1 && number(argv[0], UINT32_MAX, &n) == 0) {
		d.slot = (uint32_t)n;
		ret = vmctl_call(sock, LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0, info,
				 sizeof(info), err, sizeof(err), VMCTL_TIMEOUT_MS);
	} else if (!strcmp(cmd, "balloon") && argc == 1 && number(argv[0], UINT64_MAX, &n) == 0) {
		b.mib = n;
		ret = vmctl_call(sock, LXS_MSG_VM_BALLOON, &b, sizeof(b), NULL, 0, info,
				 sizeof(info), err, sizeof(err), VMCTL_TIMEOUT_MS);
	} else if (!strcmp(cmd, "share-opts") && argc == 2) {
		strs[0] = argv[0];
		strs[1] = argv[1];
		ret = vmctl_call(sock, LXS_MSG_VM_SHARE_OPTS, NULL, 0, strs, 2, info, sizeof(info),
				 err, sizeof(err), VMCTL_TIMEOUT_MS);
	} else if (argc == 0 &&
		   (!strcmp(cmd, "stats") || !strcmp(cmd, "net") || !strcmp(cmd, "poweroff"))) {
		uint16_t type = !strcmp(cmd, "stats") ? LXS_MSG_VM_STATS
				: !strcmp(cmd, "net") ? LXS_MSG_VM_NET
						      : LXS_MSG_VM_POWEROFF;

		ret = vmctl_call(sock, type, NULL, 0, NULL, 0, info, sizeof(info), err, sizeof(err),
				 VMCTL_TIMEOUT_MS);
	} else {
		return usage();
	}
	if (ret < 0) {
		printf("error %s\n", err);
		return 1;
	}
	printf("ok%s%s\n", info[0] ? " " : "", info);
	return 0;
}
