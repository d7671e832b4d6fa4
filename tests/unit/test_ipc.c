/*
 * test_ipc.c - lxsd's conversation (src/store/ipc.c: the RUN, PLAN and
 * STATE payloads both ways, and the payloads it refuses) and the session
 * plan (src/store/plan.c: whose session, where, what argv and environment).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ipc.h"
#include "unit.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
			     "alice:x:1000:1000::/home/alice:/bin/zsh\n"
			     "bob:x:1001:1001::/home/bob:\n";

static int plan(struct plan_request *rq, const char *reg_user, const char *wsl_user, long oobe,
		bool strict, struct session_plan *pl, char *err)
{
	struct reg_distro d = {.name = "deb", .version = 2};
	struct wsl_conf wsl;

	wsl_conf_defaults(&wsl);
	snprintf(d.default_user, sizeof(d.default_user), "%s", reg_user);
	snprintf(wsl.default_user, sizeof(wsl.default_user), "%s", wsl_user);
	wsl.oobe_default_uid = oobe;
	return plan_session(rq, &d, &wsl, passwd, strict, pl, err, 256);
}

static const char *env_of(const struct session_plan *pl, const char *key)
{
	size_t k = strlen(key);

	for (int i = 0; i < pl->envc; i++)
		if (!strncmp(pl->envp[i], key, k) && pl->envp[i][k] == '=')
			return pl->envp[i] + k + 1;
	return NULL;
}

/* WSL's order: -u, [user] default, the registry's, [oobe] defaultUid, root. */
static void t_user_precedence(struct unit *u)
{
	struct plan_request rq = {0};
	struct session_plan pl;
	char err[256];

	rq.user = "bob";
	CHECK(u, plan(&rq, "alice", "alice", 1000, false, &pl, err) == 0);
	CHECK(u, !strcmp(pl.user, "bob") && pl.known && pl.pw.uid == 1001);
	CHECK(u, !strcmp(pl.pw.shell, "/bin/sh")); /* an empty shell field */
	plan_free(&pl);
	rq.user = NULL;
	CHECK(u, plan(&rq, "bob", "alice", -1, false, &pl, err) == 0 && !strcmp(pl.user, "alice"));
	plan_free(&pl);
	CHECK(u, plan(&rq, "bob", "", -1, false, &pl, err) == 0 && !strcmp(pl.user, "bob"));
	plan_free(&pl);
	CHECK(u, plan(&rq, "", "", 1000, false, &pl, err) == 0 && !strcmp(pl.user, "#1000"));
	CHECK(u, !strcmp(env_of(&pl, "USER"), "alice") && !strcmp(env_of(&pl, "HOME"), "/home/alice"));
	plan_free(&pl);
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0 && !strcmp(pl.user, ""));
	CHECK(u, !strcmp(env_of(&pl, "USER"), "root") && !strcmp(pl.argv[0], "/bin/bash"));
	plan_free(&pl);
}

/* Version 1 (strict) refuses a user passwd lacks; version 2 leaves it to lxs-init. */
static void t_unknown_user(struct unit *u)
{
	struct plan_request rq = {.user = "carol"};
	struct session_plan pl;
	char err[256] = "";

	CHECK(u, plan(&rq, "", "", -1, true, &pl, err) == -ENOENT && strstr(err, "does not exist"));
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0 && !pl.known);
	CHECK(u, !strcmp(pl.user, "carol") && !env_of(&pl, "HOME") && !strcmp(pl.argv[0], "/bin/sh"));
	plan_free(&pl);
	rq.user = "a b";
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == -EINVAL && strstr(err, "valid user"));
}

static void t_cwd(struct unit *u)
{
	struct plan_request rq = {.user = "alice", .host_cwd = "/srv/x"};
	struct session_plan pl;
	char err[256];

	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0);
	CHECK(u, pl.host_cwd && !strcmp(pl.cwd, "/srv/x"));
	plan_free(&pl);
	rq.cd = "~/src";
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0);
	CHECK(u, !pl.host_cwd && !strcmp(pl.cwd, "/home/alice/src"));
	plan_free(&pl);
	rq.cd = "sub";
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0);
	CHECK(u, pl.host_cwd && !strcmp(pl.cwd, "/srv/x/sub"));
	plan_free(&pl);
	rq.cd = "/etc";
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0 && !pl.host_cwd && !strcmp(pl.cwd, "/etc"));
	plan_free(&pl);
	rq.cd = "~";
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0 && !strcmp(pl.cwd, "~"));
	plan_free(&pl);
}

static void t_argv(struct unit *u)
{
	const char *cmd[] = {"echo", "it's"};
	struct plan_request rq = {.user = "alice"};
	struct session_plan pl;
	char err[256];

	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0 && pl.argc == 2);
	CHECK(u, !strcmp(pl.argv[0], "/bin/zsh") && !strcmp(pl.argv[1], "-l") && !pl.argv[2]);
	plan_free(&pl);
	rq.ncmd = 2;
	rq.cmd = cmd;
	rq.quote = true;
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0 && pl.argc == 3);
	CHECK(u, !strcmp(pl.argv[1], "-c") && !strcmp(pl.argv[2], "'echo' 'it'\\''s'"));
	plan_free(&pl);
	rq.exec = true;
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0 && pl.argc == 2);
	CHECK(u, !strcmp(pl.argv[0], "echo") && !strcmp(env_of(&pl, "WSL_DISTRO_NAME"), "deb"));
	plan_free(&pl);
	rq.ncmd = 0;
	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == -EINVAL && strstr(err, "needs a command"));
}

static void t_run_round_trip(struct unit *u)
{
	const char *cmd[] = {"ls", "-l", ""};
	struct plan_request rq = {.cd = "~", .term = "xterm", .shell = PLAN_SHELL_LOGIN,
				  .ncmd = 3, .cmd = cmd};
	struct ipc_run r;
	uint8_t *p = NULL;
	long n = ipc_encode_run("deb", &rq, &p);

	CHECK(u, n > 0 && ipc_decode_run(p, (size_t)n, &r) == 0);
	CHECK(u, !strcmp(r.name, "deb") && !r.rq.user && !strcmp(r.rq.cd, "~") && !r.rq.lang);
	CHECK(u, !strcmp(r.rq.term, "xterm") && r.rq.shell == PLAN_SHELL_LOGIN && r.rq.ncmd == 3);
	CHECK(u, !strcmp(r.rq.cmd[2], "") && !strcmp(r.rq.cmd[1], "-l"));
	ipc_run_free(&r);
	/* One string short, an unknown flag, a relative host folder: refused. */
	CHECK(u, ipc_decode_run(p, (size_t)n - 1, &r) == -EPROTO);
	p[0] |= 0x80;
	CHECK(u, ipc_decode_run(p, (size_t)n, &r) == -EPROTO);
	free(p);
	rq.host_cwd = "relative";
	n = ipc_encode_run("deb", &rq, &p);
	CHECK(u, n > 0 && ipc_decode_run(p, (size_t)n, &r) == -EPROTO);
	free(p);
}

static void t_plan_round_trip(struct unit *u)
{
	struct plan_request rq = {.user = "alice", .host_cwd = "/a b"};
	struct session_plan pl;
	struct ipc_plan got;
	uint8_t *p = NULL;
	char err[256];

	CHECK(u, plan(&rq, "", "", -1, false, &pl, err) == 0);
	long n = ipc_encode_plan("/run/my vm.sock", 50000, &pl, &p);
	CHECK(u, n > 0 && ipc_decode_plan(p, (size_t)n, &got) == 0);
	CHECK(u, !strcmp(got.vsock, "/run/my vm.sock") && got.port == 50000 && got.host_cwd);
	CHECK(u, !strcmp(got.cwd, "/a b") && !strcmp(got.user, "alice") && !strcmp(got.distro, "deb"));
	CHECK(u, !strcmp(got.argv[0], "/bin/zsh") && !got.argv[2] && got.envp[0] &&
		     !strncmp(got.envp[0], "PATH=", 5));
	ipc_plan_free(&got);
	CHECK(u, ipc_decode_plan(p, (size_t)n - 2, &got) == -EPROTO);
	free(p);
	plan_free(&pl);
}

static void t_state_round_trip(struct unit *u)
{
	static struct ipc_state st = {.vm = LXS_VM_BOOTING, .vm_pid = 7, .n = 1}, got;
	uint8_t buf[512];

	st.d[0].state = LXS_DISTRO_STARTING;
	st.d[0].sessions = 3;
	snprintf(st.d[0].name, sizeof(st.d[0].name), "deb");
	long n = ipc_encode_state(&st, buf, sizeof(buf));
	CHECK(u, n > 0 && ipc_decode_state(buf, (size_t)n, &got) == 0);
	CHECK(u, got.vm == LXS_VM_BOOTING && got.vm_pid == 7 && got.n == 1 && got.d[0].sessions == 3);
	CHECK(u, !strcmp(got.d[0].name, "deb") && got.d[0].state == LXS_DISTRO_STARTING);
	buf[16] = 9; /* an unknown distro state */
	CHECK(u, ipc_decode_state(buf, (size_t)n, &got) == -EPROTO);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_user_precedence);
	RUN(&u, t_unknown_user);
	RUN(&u, t_cwd);
	RUN(&u, t_argv);
	RUN(&u, t_run_round_trip);
	RUN(&u, t_plan_round_trip);
	RUN(&u, t_state_round_trip);
	return unit_done(&u);
}
