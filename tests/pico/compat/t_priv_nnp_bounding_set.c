#include "compat.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
/* no_new_privs as the process set it (not the translator's), what it gates
 * (a seccomp filter without CAP_SYS_ADMIN), and the bounding set, which
 * root may shrink. */
static int install_allow_all(void)
{
	struct sock_filter f[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog p = {1, f};
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p, 0, 0);
}

int main(void)
{
	int root = geteuid() == 0;
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	pid_t p = fork();
	if (p == 0) /* without no_new_privs: root (CAP_SYS_ADMIN) only */
		_exit(install_allow_all() == 0 ? (root ? 0 : 1) : (errno == EACCES && !root ? 0 : 2));
	int st;
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0) == -1 && errno == EINVAL);
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHECK(install_allow_all() == 0);

	CHECK(prctl(PR_CAPBSET_READ, 5 /* CAP_KILL */, 0, 0, 0) == 1);
	CHECK(prctl(PR_CAPBSET_READ, 999, 0, 0, 0) == -1 && errno == EINVAL);
	if (root) {
		CHECK(prctl(PR_CAPBSET_DROP, 5 /* CAP_KILL */, 0, 0, 0) == 0);
		CHECK(prctl(PR_CAPBSET_READ, 5 /* CAP_KILL */, 0, 0, 0) == 0);
	} else {
		CHECK(prctl(PR_CAPBSET_DROP, 5 /* CAP_KILL */, 0, 0, 0) == -1 && errno == EPERM);
	}
	PASS();
}
