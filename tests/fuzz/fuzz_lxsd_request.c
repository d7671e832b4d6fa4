// fuzz-link: src/store/ipc.c src/store/plan.c src/store/passwd.c src/store/paths.c src/store/config.c src/common/*.c
// fuzz-libs: -linih
/*
 * fuzz_lxsd_request.c - libFuzzer target for the payloads of lxsd's socket
 * (src/store/ipc.c; the messages in src/common/proto.h) and the session
 * plan lxsd makes from a RUN (src/store/plan.c). The first input byte picks
 * the decoder: RUN (what any local program of the user may send lxsd),
 * PLAN and STATE (what lxs takes from whatever serves the socket); the
 * rest is the payload.
 *
 * Checked with abort(), besides crashes and sanitizer reports: a RUN that
 * decodes encodes again to the same bytes; its plan either fails with a
 * sentence or has an argv and a PATH; a PLAN's argv and env are
 * NULL-terminated and inside the payload; a STATE's names fit a registry
 * name and it encodes back to the input. With LXS_FUZZ_SEED_DIR set to an
 * empty directory, one seed per message is written there.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ipc.h"
#define FUZZ_NAME "fuzz_lxsd_request"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
			     "alice:x:1000:1000::/home/alice:/bin/sh\n"
			     "broken line\n";

static bool inside(const char *s, const uint8_t *p, size_t len)
{
	return (const uint8_t *)s >= p && (const uint8_t *)s + strlen(s) < p + len;
}

static void check_run(const uint8_t *p, size_t len)
{
	struct ipc_run r;
	uint8_t *again = NULL;

	if (ipc_decode_run(p, len, &r) < 0)
		return;
	CHECK(r.name && inside(r.name, p, len));
	long n = ipc_encode_run(r.name, &r.rq, &again);
	/* Flags of strings not given are dropped, and their strings read as "": same length. */
	CHECK(n > 0 && (size_t)n <= len);
	free(again);

	struct reg_distro d = {.version = 2};
	struct wsl_conf wsl;
	struct session_plan pl;
	char err[512] = "";
	snprintf(d.name, sizeof(d.name), "%.64s", r.name);
	wsl_conf_defaults(&wsl);
	if (plan_session(&r.rq, &d, &wsl, passwd, len & 1, &pl, err, sizeof(err)) == 0) {
		CHECK(pl.argc >= 1 && pl.argv[0] && !pl.argv[pl.argc] && !pl.envp[pl.envc]);
		CHECK(!strncmp(pl.envp[0], "PATH=", 5));
		CHECK(!pl.host_cwd || pl.cwd[0] == '/');
		plan_free(&pl);
	} else {
		CHECK(err[0]);
	}
	ipc_run_free(&r);
}

static void check_plan(const uint8_t *p, size_t len)
{
	struct ipc_plan pl;
	int n = 0;

	if (ipc_decode_plan(p, len, &pl) < 0)
		return;
	CHECK(inside(pl.vsock, p, len) && inside(pl.cwd, p, len) && pl.argv[0]);
	for (const char **a = pl.argv; *a; a++, n++)
		CHECK(inside(*a, p, len));
	for (const char **e = pl.envp; *e; e++, n++)
		CHECK(inside(*e, p, len));
	CHECK(n <= (int)len);
	ipc_plan_free(&pl);
}

static void check_state(const uint8_t *p, size_t len)
{
	static struct ipc_state st;
	static uint8_t buf[LXS_MSG_MAX];

	if (ipc_decode_state(p, len, &st) < 0)
		return;
	CHECK(st.n <= LXS_STATE_MAX);
	for (uint32_t i = 0; i < st.n; i++)
		CHECK(strlen(st.d[i].name) <= REG_NAME_MAX);
	long n = ipc_encode_state(&st, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n == len && !memcmp(buf, p, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > LXS_MSG_MAX)
		return 0;
	/* A copy of exactly the payload, so the sanitizers see every read past it. */
	uint8_t *p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		check_run(p, size - 1);
		break;
	case 1:
		check_plan(p, size - 1);
		break;
	default:
		check_state(p, size - 1);
		break;
	}
	free(p);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fz_seed_dir();
	const char *cmd[] = {"echo", "it's", "a b"};
	struct plan_request rq = {.user = "alice", .cd = "~/x", .host_cwd = "/tmp", .term = "xterm",
				  .quote = true, .ncmd = 3, .cmd = cmd};
	uint8_t *msg = NULL, seed[LXS_MSG_MAX + 1];
	long n;

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	if ((n = ipc_encode_run("debian", &rq, &msg)) > 0) {
		seed[0] = 0;
		memcpy(seed + 1, msg, (size_t)n);
		fz_write_seed(dir, "run", seed, (size_t)n + 1);
		free(msg);
	}
	struct reg_distro d = {.name = "debian", .version = 2};
	struct wsl_conf wsl;
	struct session_plan pl;
	char err[256];
	wsl_conf_defaults(&wsl);
	if (plan_session(&rq, &d, &wsl, passwd, false, &pl, err, sizeof(err)) == 0 &&
	    (n = ipc_encode_plan("/run/vm.sock", 50000, &pl, &msg)) > 0) {
		seed[0] = 1;
		memcpy(seed + 1, msg, (size_t)n);
		fz_write_seed(dir, "plan", seed, (size_t)n + 1);
		free(msg);
		plan_free(&pl);
	}
	static struct ipc_state st = {.vm = LXS_VM_RUNNING, .vm_pid = 42, .n = 2};
	st.d[0].state = LXS_DISTRO_RUNNING;
	st.d[0].sessions = 1;
	snprintf(st.d[0].name, sizeof(st.d[0].name), "debian");
	st.d[1].state = LXS_DISTRO_STARTING;
	snprintf(st.d[1].name, sizeof(st.d[1].name), "alpine");
	seed[0] = 2;
	if ((n = ipc_encode_state(&st, seed + 1, sizeof(seed) - 1)) > 0)
		fz_write_seed(dir, "state", seed, (size_t)n + 1);
	return 0;
}
