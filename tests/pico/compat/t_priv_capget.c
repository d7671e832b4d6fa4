#include "compat.h"
#include <linux/capability.h>

/* capget/capset as Linux answers them: the version probe, v1 and v3, root's
 * full sets, drops and raises within the permitted set, and the checks
 * that follow the effective set (CAP_SETUID for setresuid). */
static int capget_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d)
{
	return (int)syscall(SYS_capget, h, d);
}

static int capset_(struct __user_cap_header_struct *h, const struct __user_cap_data_struct *d)
{
	return (int)syscall(SYS_capset, h, d);
}

int main(void)
{
	struct __user_cap_header_struct h = {0, 0};
	struct __user_cap_data_struct d[2];
	/* version probe: no data, a bad version: 0 and the preferred one written back */
	CHECK(capget_(&h, NULL) == 0);
	CHECK(h.version == _LINUX_CAPABILITY_VERSION_3);
	h.version = 0x12345678;
	errno = 0;
	CHECK(capget_(&h, d) == -1 && errno == EINVAL);
	CHECK(h.version == _LINUX_CAPABILITY_VERSION_3);
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = 0;
	CHECK(capget_(&h, NULL) == 0);
	CHECK(capget_(&h, d) == 0);
	int root = geteuid() == 0;
	if (!root) {
		CHECK(d[0].effective == 0 && d[0].permitted == 0 && d[1].effective == 0);
		CHECK(capset_(&h, d) == 0);
		d[0].effective = d[0].permitted = 1u << CAP_SYS_NICE;
		errno = 0;
		CHECK(capset_(&h, d) == -1 && errno == EPERM);
		PASS();
	}
	CHECK(d[0].effective == 0xffffffffu && d[0].permitted == 0xffffffffu);
	CHECK(d[1].effective & (1u << (CAP_AUDIT_READ - 32)));
	/* v1: one word */
	struct __user_cap_data_struct d1[2] = {{0, 0, 0}, {7, 7, 7}};
	h.version = _LINUX_CAPABILITY_VERSION_1;
	h.pid = (int)getpid();
	CHECK(capget_(&h, d1) == 0);
	CHECK(d1[0].effective == 0xffffffffu && d1[1].effective == 7);
	/* another process: only oneself may be set */
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = (int)getppid();
	CHECK(capget_(&h, d) == 0);
	errno = 0;
	CHECK(capset_(&h, d) == -1 && errno == EPERM);
	h.pid = 0;
	CHECK(capget_(&h, d) == 0);

	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		/* drop CAP_SETUID from effective: setresuid to others fails */
		d[0].effective &= ~(1u << CAP_SETUID);
		CHECK(capset_(&h, d) == 0);
		struct __user_cap_data_struct e[2];
		CHECK(capget_(&h, e) == 0);
		CHECK(!(e[0].effective & (1u << CAP_SETUID)) && (e[0].permitted & (1u << CAP_SETUID)));
		errno = 0;
		CHECK(setresuid(1, 1, 1) == -1 && errno == EPERM);
		/* raise it again: it is still permitted */
		d[0].effective |= 1u << CAP_SETUID;
		CHECK(capset_(&h, d) == 0);
		/* drop it from permitted: it cannot come back */
		d[0].effective &= ~(1u << CAP_SETUID);
		d[0].permitted &= ~(1u << CAP_SETUID);
		CHECK(capset_(&h, d) == 0);
		d[0].effective |= 1u << CAP_SETUID;
		errno = 0;
		CHECK(capset_(&h, d) == -1 && errno == EPERM);
		/* effective outside permitted */
		d[0].effective = d[0].permitted | 1u;
		d[0].permitted &= ~1u;
		errno = 0;
		CHECK(capset_(&h, d) == -1 && errno == EPERM);
		_exit(0);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		/* a non-zero euid clears effective, keeps permitted; euid 0 back
		 * restores it; all ids non-zero clears both */
		CHECK(setresuid(0, 1000, 0) == 0);
		CHECK(capget_(&h, d) == 0);
		CHECK(d[0].effective == 0 && d[0].permitted == 0xffffffffu);
		CHECK(seteuid(0) == 0);
		CHECK(capget_(&h, d) == 0);
		CHECK(d[0].effective == 0xffffffffu);
		CHECK(setresuid(1000, 1000, 1000) == 0);
		CHECK(capget_(&h, d) == 0);
		CHECK(d[0].effective == 0 && d[0].permitted == 0);
		errno = 0;
		CHECK(setuid(0) == -1 && errno == EPERM);
		_exit(0);
	}
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	PASS();
}
