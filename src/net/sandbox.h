/*
 * sandbox.h - lxs-net's seccomp allowlist (sandbox.c holds it, with the
 * reason for each call).
 */
#ifndef LXS_NET_SANDBOX_H
#define LXS_NET_SANDBOX_H
/* Once at start: the report of a forbidden call. 0 or -errno. */
int nat_sandbox_prepare(void);
/* When set up: confine the process for good. 0, or -errno (do not go on). */
int nat_sandbox_enter(void);
#endif
